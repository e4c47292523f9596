"""The push command on a workspace built by hand, against the fake hub of test_push_upload."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tarfile
import types
from pathlib import Path

import pytest
import requests_mock as requests_mock_module
from test_push_upload import API, FakeHub

from crunch import exceptions as exc
from crunch.commands import push
from crunch.core.console import Console
from crunch.core.packages import installed_version
from crunch.project.settings import Settings

TOKEN = "push-token-abcdef"


def make_workspace(root: Path, files: dict) -> Path:
    (root / ".crunchdao").mkdir(parents=True)
    (root / ".crunchdao" / "project.json").write_text(
        json.dumps({"competitionName": "demo", "projectName": "proj", "userId": 42, "apiBaseUrl": API, "webBaseUrl": "http://web.test/"})
    )
    token = root / ".crunchdao" / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


FILES = {
    "main.py": "def train(): pass\ndef infer(): pass\n",
    "requirements.txt": "click\nnot-installed-anywhere\npandas>=1\n",
    "utils/helper.py": "X = 1\n",
    ".gitignore": "data/\nprediction/\n.crunchdao/\n*.log\n",
    "run.log": "ignored",
    "data/X_train.parquet": "data",
    "resources/model.bin": bytes(range(256)) * 40,
    "resources/sub/config.json": "{}",
}


@pytest.fixture()
def workspace(tmp_path):
    return make_workspace(tmp_path / "ws", FILES)


@pytest.fixture()
def hub():
    fake = FakeHub(chunk_size=1000)
    with requests_mock_module.Mocker() as mocker:
        mocker.add_matcher(fake)
        yield fake


def console():
    return Console(stream=io.StringIO(), err=io.StringIO())


def settings():
    return Settings.resolve(environ={})


def call(workspace, out=None, **options):
    out = out or console()
    options.setdefault("message", "hello")
    result = push.run(settings=settings(), console=out, start=workspace, uploader_options={"sleep": lambda s: None}, **options)
    return result, out.stream.getvalue(), out.err.getvalue()


def test_push_sends_code_model_and_pinned_requirements(workspace, hub):
    submission, out, _ = call(workspace)
    assert submission.number == 1
    assert "submission #1 successfully uploaded" in out
    assert "http://web.test/competitions/demo/projects/42/proj/submissions/1" in out
    assert TOKEN not in out
    body = hub.submissions[0]
    assert body["message"] == "hello" and body["mainFilePath"] == "main.py" and body["modelDirectoryPath"] == "resources"
    assert body["type"] == "CODE" and body["pushToken"] == TOKEN
    assert sorted(body["codeFiles"]) == [".gitignore", "main.py", "requirements.original.txt", "requirements.txt", "utils/helper.py"]
    assert sorted(body["modelFiles"]) == ["model.bin", "sub/config.json"]
    sent = {name: hub.data(upload_id) for name, upload_id in body["codeFiles"].items()}
    assert sent["requirements.txt"] == f"click=={installed_version('click')}\nnot-installed-anywhere\npandas>=1\n".encode()
    assert sent["requirements.original.txt"] == FILES["requirements.txt"].encode()
    assert sent["main.py"] == FILES["main.py"].encode()
    assert hub.data(body["modelFiles"]["model.bin"]) == FILES["resources/model.bin"]
    assert "not installed here, left unpinned: not-installed-anywhere" in out
    assert hub.pending() == []


def test_no_pip_freeze_sends_the_file_as_is(workspace, hub):
    call(workspace, no_pip_freeze=True)
    body = hub.submissions[0]
    assert "requirements.original.txt" not in body["codeFiles"]
    assert hub.data(body["codeFiles"]["requirements.txt"]) == FILES["requirements.txt"].encode()


def test_message_too_long_is_refused_before_anything_is_sent(workspace, hub):
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace, message="x" * 1001)
    assert "1001 characters" in str(info.value)
    assert hub.calls == []
    call(workspace, message="x" * 1000)
    assert len(hub.submissions) == 1


def test_dry_run_lists_everything_and_sends_nothing(workspace, hub):
    result, out, _ = call(workspace, dry=True)
    assert result is None and hub.calls == []
    assert "  main.py  " in out and "  resources/model.bin  10.0 KiB" in out and "  utils/helper.py" in out
    assert "run.log" not in out and "X_train" not in out
    assert f"  click=={installed_version('click')}" in out
    assert "total: 7 files" in out
    assert "dry run: nothing was sent" in out


def test_export_writes_exactly_what_would_be_sent(workspace, hub):
    (workspace / ".gitignore").write_text(FILES[".gitignore"] + "out/\n")
    target = workspace / "out" / "submission.tar.gz"
    call(workspace, export=str(target))
    with pytest.raises(exc.SubmissionError) as info:  # an existing file is kept...
        call(workspace, export=str(target))
    assert "--overwrite" in str(info.value)
    call(workspace, export=str(target), overwrite=True)  # ...unless --overwrite
    assert hub.calls == []
    with tarfile.open(target) as tar:
        names = sorted(tar.getnames())
        assert names == [  # the ignored first export is not in the second
            ".gitignore", "main.py", "requirements.original.txt", "requirements.txt",
            "resources/model.bin", "resources/sub/config.json", "utils/helper.py",
        ]
        assert tar.extractfile("resources/model.bin").read() == FILES["resources/model.bin"]
        assert tar.extractfile("requirements.txt").read().startswith(b"click==")
    assert [p.name for p in target.parent.iterdir()] == ["submission.tar.gz"]


@pytest.mark.parametrize("target", ["requirements.txt", "main.py", "resources/model.bin", "utils/helper.py"])
def test_export_never_replaces_a_file_it_holds(workspace, hub, target):
    before = (workspace / target).read_bytes()
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace, export=str(workspace / target), overwrite=True)
    assert target in str(info.value) and "one of the files the submission holds" in str(info.value)
    assert (workspace / target).read_bytes() == before
    assert sorted(p.name for p in workspace.iterdir()) == sorted({".crunchdao", *(name.split("/")[0] for name in FILES)})


@pytest.mark.parametrize("target", [".crunchdao/token", ".crunchdao/new.tar.gz", ".CrunchDAO/x.tar.gz", "tokenlink", "dotlink/out.tar.gz"])
def test_export_never_writes_into_crunchdao(workspace, hub, target):
    (workspace / "tokenlink").symlink_to(workspace / ".crunchdao" / "token")
    (workspace / "dotlink").symlink_to(workspace / ".crunchdao")
    before = sorted(p.name for p in (workspace / ".crunchdao").iterdir())
    token = (workspace / ".crunchdao" / "token").read_bytes()
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace, export=str(workspace / target), overwrite=True)
    assert ".crunchdao/" in str(info.value)
    assert sorted(p.name for p in (workspace / ".crunchdao").iterdir()) == before
    assert (workspace / ".crunchdao" / "token").read_bytes() == token


def test_limits_are_checked_before_upload(workspace, hub, monkeypatch):
    monkeypatch.setenv("CRUNCH_MAX_MODEL_SIZE", "100")
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace)
    assert "resources/model.bin" in str(info.value)
    assert hub.calls == []


def test_refused_submission_cancels_the_uploads(workspace, hub):
    hub.submission_error = {"code": "DAILY_SUBMISSION_LIMIT_EXCEEDED", "message": "limit"}
    with pytest.raises(exc.DailySubmissionLimitError) as info:
        call(workspace)
    assert "tomorrow" in str(info.value)
    assert hub.uploads == {} and hub.submissions == []


def test_forbidden_library_names_the_packages(workspace, hub):
    hub.submission_error = {"code": "FORBIDDEN_LIBRARY", "message": "no", "packages": ["evil-lib"]}
    with pytest.raises(exc.ForbiddenLibraryError) as info:
        call(workspace)
    assert "evil-lib" in str(info.value)
    assert hub.uploads == {}


def test_upload_failing_for_good_leaves_nothing(workspace, hub, monkeypatch):
    monkeypatch.setenv("CRUNCH_RETRIES", "2")
    hub.faults = [502] * 100
    with pytest.raises(exc.TransferError) as info:
        call(workspace)
    assert "nothing was submitted" in str(info.value)
    assert hub.uploads == {} and hub.submissions == []


def test_main_file_must_exist_and_be_sent(workspace, hub):
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace, main_file="other.py", dry=True)
    assert "other.py not found" in str(info.value)
    (workspace / ".gitignore").write_text("main.py\n")
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace, dry=True)
    assert "excluded by a .gitignore" in str(info.value)


def test_bad_requirements_name_the_line(workspace, hub):
    (workspace / "requirements.txt").write_text("pandas\nnot valid!!\n")
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace)
    assert "requirements.txt line 2" in str(info.value)
    assert hub.calls == []


def test_other_model_directory(workspace, hub):
    (workspace / "models").mkdir()
    (workspace / "models" / "m.pkl").write_bytes(b"pickle")
    call(workspace, model_directory="models")
    body = hub.submissions[0]
    assert body["modelDirectoryPath"] == "models"
    assert list(body["modelFiles"]) == ["m.pkl"]
    assert "resources/model.bin" in body["codeFiles"]


# -- notebooks ---------------------------------------------------------------------------


@pytest.fixture()
def notebook_workspace(tmp_path):
    files = {k: v for k, v in FILES.items() if k not in ("main.py", "requirements.txt")}
    files["main.ipynb"] = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    return make_workspace(tmp_path / "nb", files)


def fake_convert(monkeypatch, calls):
    module = types.ModuleType("crunch.convert")

    @contextlib.contextmanager
    def temporary_script(root, notebook_path, *, main_file, whitelist, freeze):
        calls.append({"root": root, "notebook": notebook_path, "main_file": main_file, "freeze": freeze})
        created = [root / main_file, root / "requirements.txt", root / "embedded.txt"]
        created[0].write_text("def train(): pass\n")
        created[1].write_text("click\n")
        created[2].write_text("from a markdown cell\n")
        try:
            yield types.SimpleNamespace(warnings=["cell 3 commented out"]), created
        finally:
            for path in created:
                path.unlink()
            calls.append("cleaned")

    module.temporary_script = temporary_script
    monkeypatch.setitem(sys.modules, "crunch.convert", module)
    import crunch

    monkeypatch.setattr(crunch, "convert", module, raising=False)


def test_notebook_is_converted_for_the_push_and_cleaned_up(notebook_workspace, hub, monkeypatch):
    calls = []
    fake_convert(monkeypatch, calls)
    _, out, err = call(notebook_workspace)
    assert calls[0]["notebook"] == notebook_workspace / "main.ipynb" and calls[0]["freeze"] is True
    assert calls[-1] == "cleaned"
    body = hub.submissions[0]
    assert {"main.py", "requirements.txt", "requirements.original.txt", "embedded.txt", "main.ipynb"} <= set(body["codeFiles"])
    assert hub.data(body["codeFiles"]["main.py"]) == b"def train(): pass\n"
    assert not (notebook_workspace / "main.py").exists()
    assert "cell 3 commented out" in err


def test_notebook_temporary_files_removed_on_failure(notebook_workspace, hub, monkeypatch):
    calls = []
    fake_convert(monkeypatch, calls)
    hub.submission_error = {"code": "RESTRICTED_PHASE_ACTION", "message": "closed"}
    with pytest.raises(exc.RestrictedPhaseActionError):
        call(notebook_workspace)
    assert calls[-1] == "cleaned"
    assert not (notebook_workspace / "main.py").exists()
    assert not (notebook_workspace / "requirements.txt").exists()


def test_a_named_notebook_is_pushed_as_the_script_of_its_name(notebook_workspace, hub, monkeypatch):
    calls = []
    fake_convert(monkeypatch, calls)
    (notebook_workspace / "main.ipynb").rename(notebook_workspace / "analysis.ipynb")
    call(notebook_workspace, main_file="analysis.ipynb")
    assert calls[0]["notebook"] == notebook_workspace / "analysis.ipynb" and calls[0]["main_file"] == "analysis.py"
    body = hub.submissions[0]
    assert body["mainFilePath"] == "analysis.py" and "analysis.py" in body["codeFiles"]
    assert not (notebook_workspace / "analysis.py").exists()


def test_notebook_without_converter_is_a_clear_error(notebook_workspace, hub, monkeypatch):
    monkeypatch.setitem(sys.modules, "crunch.convert", None)
    with pytest.raises(exc.SubmissionError) as info:
        call(notebook_workspace, dry=True)
    assert "crunch convert main.ipynb main.py" in str(info.value)


# -- submission creation whose outcome is unknown --------------------------------------------------


def test_a_lost_answer_is_found_in_the_listing_not_sent_again(workspace, hub, monkeypatch):
    monkeypatch.setenv("CRUNCH_RETRY_BACKOFF", "0")
    hub.submission_faults = ["lose"]
    submission, out, _ = call(workspace)
    assert submission.number == 1 and len(hub.submissions) == 1
    assert "the answer to the submission's creation was lost, but the hub lists it as #1" in out
    assert sum(c.startswith("POST") and c.endswith("/submissions") for c in hub.calls) == 1
    assert hub.pending() == []


def test_gateway_errors_are_retried_after_a_look_at_the_listing(workspace, hub, monkeypatch):
    monkeypatch.setenv("CRUNCH_RETRY_BACKOFF", "0")
    hub.submission_faults = [503, 502]
    submission, out, _ = call(workspace)
    assert submission.number == 1 and len(hub.submissions) == 1
    assert out.count("trying again") == 2


def test_a_timed_out_creation_is_not_sent_again_and_its_uploads_are_cancelled(workspace, hub, monkeypatch):
    monkeypatch.setenv("CRUNCH_RETRY_BACKOFF", "0")
    hub.submission_faults = ["timeout"]
    with pytest.raises(exc.SubmissionError) as info:
        call(workspace)
    assert "did not answer the submission's creation" in str(info.value)
    assert hub.submissions == [] and hub.uploads == {}
    assert sum(c.startswith("POST") and c.endswith("/submissions") for c in hub.calls) == 1


# -- notebook workspaces ------------------------------------------------------------------------


def notebook_ws(tmp_path, monkeypatch, with_notebook=True):
    import nbformat

    for name in ("JPY_SESSION_NAME", "COLAB_GPU", "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)
    root = make_workspace(tmp_path / "nb", {"main.py": "# the quickstarter setup wrote\n", "requirements.txt": "scikit-learn\n"})
    info = json.loads((root / ".crunchdao" / "project.json").read_text())
    (root / ".crunchdao" / "project.json").write_text(json.dumps({**info, "notebook": True}))
    if with_notebook:
        cells = [
            nbformat.v4.new_code_cell("import crunch\nimport pandas\ncrunch_tools = crunch.load_notebook()"),
            nbformat.v4.new_code_cell("def train():\n    return 'NOTEBOOK-MARKER'\n\n\ndef infer():\n    pass"),
        ]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), root / "work.ipynb")
    return root


def test_a_notebook_workspace_sends_the_notebooks_script(tmp_path, monkeypatch):
    root = notebook_ws(tmp_path, monkeypatch)
    before = (root / "main.py").read_text()
    export = tmp_path / "sub.tar.gz"
    _, out, _ = call(root, export=str(export))
    with tarfile.open(export) as tar:
        files = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert "NOTEBOOK-MARKER" in files["main.py"] and "quickstarter" not in files["main.py"]
    assert "scikit-learn" not in files["requirements.txt"]  # the notebook's imports, not the stale file
    assert "crunch-cli\n" in files["requirements.txt"] and "crunch-cli==" not in files["requirements.txt"]
    assert f"pandas=={installed_version('pandas')}" in files["requirements.txt"]
    assert "your code is work.ipynb: converted into main.py" in out
    assert (root / "main.py").read_text() == before  # nothing written on disk


def test_a_notebook_workspace_without_its_notebook_is_refused_before_anything(tmp_path, monkeypatch):
    root = notebook_ws(tmp_path, monkeypatch, with_notebook=False)
    listing = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    with pytest.raises(exc.ConfigurationError, match=r"--main-file NAME\.ipynb, or download the notebook"):
        call(root, export=str(tmp_path / "x.tar.gz"))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == listing
    assert not (tmp_path / "x.tar.gz").exists()
