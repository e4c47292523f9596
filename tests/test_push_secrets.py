"""``.crunchdao/`` never reaches the hub, whatever the path by which its files are reached.

Each test pushes (the installed executable, a real local hub) and then reads what the hub
stored, in its own database and upload folders: no submission path names ``.crunchdao``, and
no byte the hub received holds the push token or ``project.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import List

import pytest
from conftest import TOKEN_MARKER
from test_push_e2e import make_workspace, push

pytestmark = pytest.mark.e2e


@pytest.fixture()
def workspace(hub, tmp_path):
    """A workspace of the hub; removed afterwards, since some tests copy its token elsewhere
    (the session's last test looks for token bytes in every file left)."""
    folder = make_workspace(hub, tmp_path / "ws")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def stored_paths(hub) -> List[str]:
    """Every path of every submission the hub stored (model files under their directory)."""
    db = sqlite3.connect(f"file:{hub.root / 'hub.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT f.kind, f.path, s.model_directory_path FROM submission_files f JOIN submissions s ON s.id = f.submission_id"
        ).fetchall()
    finally:
        db.close()
    return [f"{directory}/{path}" if kind == "MODEL" else path for kind, path, directory in rows] + [
        directory for _, _, directory in rows
    ]


def submission_count(hub) -> int:
    db = sqlite3.connect(f"file:{hub.root / 'hub.sqlite3'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]
    finally:
        db.close()


def received_bytes(hub) -> List[bytes]:
    """Everything the hub keeps of the uploads it received (blobs and chunks, any status)."""
    folder = hub.root / "files" / "uploads"
    return [path.read_bytes() for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []


def assert_nothing_secret_stored(hub, workspace: Path) -> None:
    token = (workspace / ".crunchdao" / "token").read_text().strip().encode()
    project = (workspace / ".crunchdao" / "project.json").read_bytes()
    assert token and TOKEN_MARKER.encode() in token  # the hub's tokens carry the marker: the search below means something
    for path in stored_paths(hub):
        assert ".crunchdao" not in path.lower(), path
    for data in received_bytes(hub):
        assert token not in data and TOKEN_MARKER.encode() not in data
        assert data != project


def links_everywhere(workspace: Path) -> None:
    """Every other path to .crunchdao/ a workspace can hold."""
    dot = workspace / ".crunchdao"
    (workspace / "resources" / "token-link").symlink_to(Path("..") / ".crunchdao" / "token")
    (workspace / "resources" / "dot-link").symlink_to(Path("..") / ".crunchdao")
    (workspace / "lib" / "token.txt").symlink_to(dot / "token")
    (workspace / "dot").symlink_to(".crunchdao")
    (workspace / "mirror").symlink_to(".")  # a link to the folder holding .crunchdao/
    os.link(dot / "token", workspace / "lib" / "hard-token")
    os.link(dot / "project.json", workspace / "resources" / "project-copy.json")
    nested = workspace / "resources" / "old-workspace" / ".crunchdao"
    nested.mkdir(parents=True)
    shutil.copy2(dot / "token", nested / "token")  # a nested workspace, with the same token
    (workspace / "holder").mkdir()
    (workspace / "holder" / ".CrunchDAO").mkdir()
    shutil.copy2(dot / "token", workspace / "holder" / ".CrunchDAO" / "token")
    (workspace / "lib" / "holder-link").symlink_to(Path("..") / "holder")


def test_links_and_nested_folders_to_crunchdao_are_not_sent(hub, workspace):
    links_everywhere(workspace)
    result = push(hub, workspace, "-m", "links")
    assert result.returncode == 0, result.output
    assert "resources/token-link is not sent" in result.stderr and "lib/hard-token is not sent" in result.stderr
    assert submission_count(hub) == 1
    paths = stored_paths(hub)
    assert "main.py" in paths and "resources/model.bin" in paths  # the rest was sent
    assert not [p for p in paths if "token" in p or "project-copy" in p or p.startswith(("dot/", "mirror/"))]
    assert_nothing_secret_stored(hub, workspace)


def test_a_model_directory_with_links_to_crunchdao_is_not_sent(hub, workspace):
    (workspace / "models").mkdir()
    (workspace / "models" / "m.bin").write_bytes(b"weights")
    (workspace / "models" / "all").symlink_to(Path("..") / ".crunchdao")
    (workspace / "models" / "t").symlink_to(Path("..") / ".crunchdao" / "token")
    result = push(hub, workspace, "-m", "model links", "--model-directory", "models")
    assert result.returncode == 0, result.output
    assert "models/m.bin" in stored_paths(hub)
    assert_nothing_secret_stored(hub, workspace)


@pytest.mark.parametrize(
    "model_directory", [".crunchdao", ".crunchdao/", "./.crunchdao", ".crunchdao/sub", ".CrunchDAO", "weights", "data", "../elsewhere"]
)
def test_model_directories_reaching_crunchdao_are_refused(hub, workspace, tmp_path, model_directory):
    (workspace / ".crunchdao" / "sub").mkdir()
    (workspace / ".crunchdao" / "sub" / "cache.json").write_text("{}")
    (workspace / "weights").symlink_to(".crunchdao")
    (tmp_path / "elsewhere").mkdir()
    result = push(hub, workspace, "-m", "refused", "--model-directory", model_directory)
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output
    assert submission_count(hub) == 0 and hub.stats()["pendingUploads"] == 0
    assert not received_bytes(hub)
    assert_nothing_secret_stored(hub, workspace)


def test_a_recorded_model_directory_in_crunchdao_is_refused_by_every_command(hub, workspace, tmp_path):
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    project["modelDirectory"] = ".crunchdao"
    (workspace / ".crunchdao" / "project.json").write_text(json.dumps(project))
    for args in (("push", "-m", "x"), ("push", "--dry"), ("push", "--export", str(tmp_path / "out.tar.gz")), ("test",)):
        result = hub.run(*args, cwd=workspace)
        assert result.returncode == 1, result.output
        assert "modelDirectory" in result.stderr and ".crunchdao" in result.stderr
    assert not (tmp_path / "out.tar.gz").exists()
    assert submission_count(hub) == 0 and not received_bytes(hub)


def test_setup_refuses_a_model_directory_in_crunchdao_before_spending_the_token(hub, tmp_path):
    token = hub.token("demo", "p1", "alice")
    for bad in (".crunchdao", "data/models", "../out"):
        result = hub.run("setup", "demo", "p1", "ws", "--token", token, "--no-data", "--model-directory", bad, cwd=tmp_path)
        assert result.returncode == 1, result.output
        assert "--model-directory" in result.stderr
        assert not (tmp_path / "ws").exists()
    done = hub.run("setup", "demo", "p1", "ws", "--token", token, "--no-data", "--model-directory", "weights", cwd=tmp_path)
    assert done.returncode == 0, done.output  # the token was not spent by the refusals
