"""``crunch push`` (the installed executable) against a real local hub."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

CHUNK = 64 * 1024  # small chunks, so that files take several


def make_workspace(hub, folder: Path, project: str = "p1", files: dict = None) -> Path:
    """A workspace built by hand, with a push token from the hub's token upgrade."""
    token = hub.client().upgrade_token(hub.token("demo", project, "alice"))
    (folder / ".crunchdao").mkdir(parents=True)
    (folder / ".crunchdao" / "project.json").write_text(
        json.dumps({"competitionName": "demo", "projectName": token.project.name, "userId": token.project.user_id, "apiBaseUrl": hub.url})
    )
    token_file = folder / ".crunchdao" / "token"
    token_file.write_text(token.plain + "\n")
    token_file.chmod(0o600)
    for name, content in (files or FILES).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return folder


MODEL = os.urandom(300 * 1024 + 17)
FILES = {
    "main.py": "def train(X_train, y_train, model_directory_path):\n    pass\n\n\ndef infer(X_test, model_directory_path):\n    pass\n",
    "requirements.txt": "# deps\npandas\nnumpy>=1\n",
    "lib/features.py": "def make(x):\n    return x\n",
    "lib/empty.py": "",
    ".gitignore": "data/\nprediction/\n.crunchdao/\n*.log\n",
    "debug.log": "not sent",
    "data/X_train.parquet": "not sent",
    "lib/__pycache__/features.cpython-311.pyc": "not sent",
    "resources/model.bin": MODEL,
    "resources/config/params.json": '{"depth": 3}',
}


def push(hub, workspace: Path, *args: str, **env: str):
    return hub.run("push", *args, cwd=workspace, env=hub.env(CRUNCH_UPLOAD_CHUNK_SIZE=str(CHUNK), **env))


def pulled_files(hub, workspace: Path) -> dict:
    """Every file of the latest submission, downloaded through the clone call (docs/protocol.md, call 7)."""
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    links = hub.client(push_token=token).clone("demo", project["userId"], project["projectName"])
    return {path: requests.get(url, timeout=30).content for path, url in links.items()}


def test_push_round_trips_every_file(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    result = push(hub, workspace, "-m", "first")
    assert result.returncode == 0, result.output
    assert "submission #1 successfully uploaded" in result.stdout
    assert "/competitions/demo/projects/" in result.stdout and result.stdout.rstrip().endswith("/submissions/1")
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    assert token not in result.output
    files = pulled_files(hub, workspace)
    expected = {name: (v if isinstance(v, bytes) else v.encode()) for name, v in FILES.items()}
    for left_out in ("debug.log", "data/X_train.parquet", "lib/__pycache__/features.cpython-311.pyc", "requirements.txt"):
        expected.pop(left_out)
    from crunch.core.packages import installed_version

    expected["requirements.txt"] = f"# deps\npandas=={installed_version('pandas')}\nnumpy>=1\n".encode()
    expected["requirements.original.txt"] = FILES["requirements.txt"].encode()
    assert files == expected
    assert hub.stats()["pendingUploads"] == 0


def test_push_then_setup_round_trips(hub, tmp_path):
    """`crunch setup` of the pushed submission gives back every file byte for byte."""
    workspace = make_workspace(hub, tmp_path / "ws")
    assert push(hub, workspace, "-m", "first").returncode == 0
    result = hub.run("setup", "demo", "p1", str(tmp_path / "again"), "--token", hub.token("demo", "p1", "alice"), "--no-data", cwd=tmp_path)
    assert result.returncode == 0, result.output
    again = tmp_path / "again"
    from crunch.code.files import list_code_files, list_model_files
    from crunch.core.packages import installed_version

    code = list_code_files(workspace, "resources")
    model = list_model_files(workspace, "resources")
    assert len(code) == 5 and len(model) == 2
    for file in code:
        if file.path == ".gitignore":  # the person's, with the lines that keep the token out of git
            from crunch.project.workspace import GITIGNORE

            text = (again / file.path).read_text()
            assert text.startswith(file.source.read_text())
            assert all(line in text.splitlines() for line in GITIGNORE.splitlines()[1:])
        elif file.path != "requirements.txt":
            assert (again / file.path).read_bytes() == file.source.read_bytes(), file.path
    for file in model:
        assert (again / "resources" / file.path).read_bytes() == file.source.read_bytes(), file.path
    assert (again / "requirements.original.txt").read_bytes() == (workspace / "requirements.txt").read_bytes()
    assert (again / "requirements.txt").read_text() == f"# deps\npandas=={installed_version('pandas')}\nnumpy>=1\n"


def test_setup_puts_the_model_files_in_the_model_directory(hub, tmp_path):
    """A submission pushed from `models/` comes back in `models/`, or in --model-directory."""
    files = {name.replace("resources/", "models/"): content for name, content in FILES.items()}
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    assert push(hub, workspace, "-m", "first", "--model-directory", "models").returncode == 0

    def setup(name: str, *args: str) -> Path:
        result = hub.run("setup", "demo", "p1", str(tmp_path / name), "--token", hub.token("demo", "p1", "alice"), "--no-data", *args, cwd=tmp_path)
        assert result.returncode == 0, result.output
        return tmp_path / name

    same = setup("same")
    assert (same / "models" / "model.bin").read_bytes() == MODEL
    assert (same / "models" / "config" / "params.json").read_text() == '{"depth": 3}'
    assert not (same / "resources").exists()
    assert json.loads((same / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "models"

    other = setup("other", "--model-directory", "weights")
    assert (other / "weights" / "model.bin").read_bytes() == MODEL
    assert (other / "weights" / "config" / "params.json").read_text() == '{"depth": 3}'
    assert not (other / "models").exists()
    assert (other / "lib" / "features.py").read_text() == FILES["lib/features.py"]
    assert json.loads((other / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "weights"
    # and a push from there sends them as the model files of weights/ again
    dry = push(hub, other, "-m", "second", "--dry")
    assert dry.returncode == 0, dry.output
    assert "model files in weights/ (2," in dry.stdout and "  weights/model.bin" in dry.stdout


def test_push_survives_two_dropped_chunk_connections(hub, tmp_path):
    # no empty file here: the hub spends a drop on a body shorter than dropAfter without cutting it
    files = {name: content for name, content in FILES.items() if name != "lib/empty.py"}
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    hub.faults(drop_after=10, drop_times=2, path_prefix="/_upload/")
    result = push(hub, workspace, "-m", "flaky")
    assert result.returncode == 0, result.output
    assert hub.stats()["droppedConnections"] == 2
    submissions = hub.client(push_token=(workspace / ".crunchdao" / "token").read_text().strip()).list_submissions(
        "demo", json.loads((workspace / ".crunchdao" / "project.json").read_text())["userId"], "p1"
    )
    assert [s.number for s in submissions] == [1]
    assert pulled_files(hub, workspace)["resources/model.bin"] == MODEL
    assert hub.stats()["pendingUploads"] == 0


def test_push_failing_for_good_leaves_nothing(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.faults(fail_next=1000, path_prefix="/_upload/")
    result = push(hub, workspace, "-m", "doomed", CRUNCH_RETRIES="2")
    assert result.returncode == 1, result.output
    assert "error: uploading " in result.stderr and "nothing was submitted" in result.stderr
    assert "Traceback" not in result.output
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    assert hub.client(push_token=token).list_submissions("demo", project["userId"], "p1") == []
    stats = hub.stats()
    assert stats["pendingUploads"] == 0
    assert set(stats["uploads"]) <= {"ABORTED", "DELETED", "FAILED"}


def test_daily_limit_is_actionable_and_cancels_uploads(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.settings(dailyLimit=0)
    result = push(hub, workspace, "-m", "one too many")
    assert result.returncode == 1
    assert "daily submission limit" in result.stderr
    assert hub.stats()["pendingUploads"] == 0


def test_forbidden_library_is_named_and_uploads_cancelled(hub, tmp_path):
    files = dict(FILES, **{"requirements.txt": "pandas\nclick\n"})
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    hub.settings(checkLibraries=True)
    result = push(hub, workspace, "-m", "with click")
    assert result.returncode == 1
    assert "does not allow these libraries: click" in result.stderr
    assert hub.stats()["pendingUploads"] == 0


def test_long_message_is_refused_before_anything_is_sent(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.reset_stats()
    result = push(hub, workspace, "-m", "x" * 1001)
    assert result.returncode == 1 and "1001 characters" in result.stderr
    assert not any("/v1/uploads" in path for path in hub.stats()["requestsByPath"])


def test_dry_and_export_send_nothing(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.reset_stats()
    dry = push(hub, workspace, "--dry")
    assert dry.returncode == 0, dry.output
    assert "  resources/model.bin  300.0 KiB" in dry.stdout and "debug.log" not in dry.stdout
    assert "total: 8 files" in dry.stdout
    export = push(hub, workspace, "--export", str(tmp_path / "out.tar.gz"))
    assert export.returncode == 0, export.output
    with tarfile.open(tmp_path / "out.tar.gz") as tar:
        assert tar.extractfile("resources/model.bin").read() == MODEL
        assert "requirements.original.txt" in tar.getnames()
    assert not any("/v1/uploads" in path for path in hub.stats()["requestsByPath"])


def test_symlink_outside_is_refused(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", workspace / "lib" / "secret.txt")
    result = push(hub, workspace, "-m", "leak")
    assert result.returncode == 1
    assert "lib/secret.txt" in result.stderr and "outside the workspace" in result.stderr


def notebook(cells) -> str:
    def cell(kind, source):
        base = {"cell_type": kind, "metadata": {}, "source": source, "id": f"c{abs(hash(source)) % 10**8}"}
        if kind == "code":
            base.update({"outputs": [], "execution_count": None})
        return base

    return json.dumps({"cells": [cell(k, s) for k, s in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_notebook_workspace_is_converted_for_the_push(hub, tmp_path):
    files = {name: content for name, content in FILES.items() if name not in ("main.py", "requirements.txt")}
    files["main.ipynb"] = notebook(
        [
            ("code", "import pandas as pd  # == 2.2.0\nimport numpy as np"),
            ("code", "def train(X_train, y_train, model_directory_path):\n    pass"),
            ("code", "def infer(X_test, model_directory_path):\n    return X_test"),
            ("code", "train(None, None, 'resources')"),
        ]
    )
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    result = push(hub, workspace, "-m", "from a notebook")
    assert result.returncode == 0, result.output
    assert not (workspace / "main.py").exists() and not (workspace / "requirements.txt").exists()
    sent = pulled_files(hub, workspace)
    script = sent["main.py"].decode()
    assert "def train(" in script and "def infer(" in script
    assert "#train(None" in script.replace("# ", "#")
    requirements = sent["requirements.txt"].decode()
    assert "pandas==2.2.0" in requirements
    assert "main.ipynb" in sent


def test_notebook_conversion_files_removed_when_the_push_fails(hub, tmp_path):
    files = {name: content for name, content in FILES.items() if name not in ("main.py", "requirements.txt")}
    files["main.ipynb"] = notebook([("code", "def train():\n    pass")])
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    hub.faults(fail_next=1000, path_prefix="/_upload/")
    result = push(hub, workspace, "-m", "doomed", CRUNCH_RETRIES="1")
    assert result.returncode == 1
    assert not (workspace / "main.py").exists() and not (workspace / "requirements.txt").exists()


def test_closed_phase_is_actionable_and_cancels_uploads(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.call("POST", "/_admin/competitions/demo", {"phaseClosed": True})
    result = push(hub, workspace, "-m", "too late")
    assert result.returncode == 1
    assert "not allowed in the current phase" in result.stderr
    assert hub.stats()["pendingUploads"] == 0


def test_too_big_for_the_hub_is_actionable(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.settings(modelLimit=1000)
    result = push(hub, workspace, "-m", "big")
    assert result.returncode == 1
    assert "model directory is too big" in result.stderr
    assert hub.stats()["pendingUploads"] == 0


def test_too_big_is_caught_before_sending(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    hub.reset_stats()
    result = push(hub, workspace, "-m", "big", CRUNCH_MAX_MODEL_SIZE="1000")
    assert result.returncode == 1
    assert "resources/model.bin (300.0 KiB)" in result.stderr
    assert not any("/v1/uploads" in path for path in hub.stats()["requestsByPath"])


def test_gitignore_and_hidden_rules_hold_end_to_end(hub, tmp_path):
    from test_files import TREE

    tree = {name: content for name, content in TREE.items() if not name.startswith(".crunchdao/")}
    workspace = make_workspace(hub, tmp_path / "ws", files=tree)
    result = push(hub, workspace, "-m", "tree")
    assert result.returncode == 0, result.output
    sent = set(pulled_files(hub, workspace))
    assert sent == {
        ".envrc", ".gitignore", ".config/colab.json", "deep/.gitignore", "deep/important.log",
        "deep/inner/local.txt", "helpers/util.py", "keep.log", "main.py", "other/a.tmp",
        "requirements.txt", "requirements.original.txt", "sample_data/mnist.csv", "sub/build/kept.bin",
        "sub/data/kept.csv", "sub/resources/kept.txt",
        "resources/.gitignore", "resources/model.bin", "resources/nested/weights.pt",
    }
