"""Unit tests of crunch setup / download / update-token against a mocked hub (requests-mock)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
import requests_mock

from crunch.commands import download as download_command
from crunch.commands import setup as setup_command
from crunch.commands import update_token as update_token_command
from crunch.core.console import Console
from crunch.data import download as data_download
from crunch.exceptions import (
    ConfigurationError,
    InvalidProjectTokenError,
    NothingToDoError,
    TransferError,
    UnsafePathError,
    WorkspaceError,
)
from crunch.project.settings import Settings
from crunch.project.workspace import Workspace

API = "https://hub.test/"
FILES = "https://files.test/"
PUSH = "push-token-0123456789"
X_TRAIN = b"x-train-bytes" * 1000
Y_TRAIN = b"y-train" * 500


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("CRUNCH_RETRY_BACKOFF", "0")
    monkeypatch.setenv("CRUNCH_RETRIES", "1")


@pytest.fixture
def settings() -> Settings:
    return Settings.resolve(api_base_url=API, environ={})


@pytest.fixture
def console(capsys) -> Console:
    return Console(quiet=False)


def data_release(files=None):
    files = files or {
        "X_train": {"name": "X_train.parquet", "url": FILES + "X_train.parquet?sig=abc", "size": len(X_TRAIN), "signed": True, "compressed": False, "sha256": hashlib.sha256(X_TRAIN).hexdigest()},
        "y_train": {"name": "y_train.parquet", "url": FILES + "y_train.parquet?sig=abc", "size": len(Y_TRAIN), "signed": True, "compressed": False, "sha256": hashlib.sha256(Y_TRAIN).hexdigest()},
        "y_test": {"name": "y_test.parquet", "url": "", "size": -1},
    }
    return {
        "id": 3, "number": 1, "name": "r1", "embargo": 2, "numberOfFeatures": 2, "hash": "h",
        "columnNames": {"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}},
        "splits": [{"key": 0, "group": "TRAIN"}, {"key": 5, "group": "TEST", "reduced": "X"}],
        "dataFiles": files,
    }


@pytest.fixture
def hub():
    with requests_mock.Mocker() as mocker:
        mocker.get(API + "v1/competitions/demo", json={"id": 7, "name": "demo", "displayName": "Demo", "format": "TIMESERIES"})
        mocker.post(
            API + "v2/project-tokens/upgrade",
            json={"plain": PUSH, "type": "PUSH", "validUntil": None, "project": {"id": 1, "name": "p1", "userId": 42, "competitionId": 7}},
        )
        mocker.get(API + "v4/competitions/demo/projects/42/p1/clone", status_code=400, json={"code": "NEVER_SUBMITTED", "message": "never"})
        mocker.get(API + "v3/competitions/demo/projects/42/p1/submissions", json=[])
        mocker.get(
            API + "v2/competitions/demo/quickstarters",
            json=[{"name": "qs", "title": "Quick", "notebook": False, "files": [
                {"name": "main.py", "url": FILES + "qs/main.py"}, {"name": "requirements.txt", "url": FILES + "qs/requirements.txt"}]}],
        )
        mocker.get(FILES + "qs/main.py", content=b"def train():\n    pass\n\ndef infer():\n    pass\n")
        mocker.get(FILES + "qs/requirements.txt", content=b"pandas\n")
        mocker.get(API + "v1/competitions/demo/rounds/@current", json={"id": 1, "number": 1})
        mocker.get(API + "v2/competitions/demo/rounds/1/phases/submission/data-release", json=data_release())
        mocker.get(API + "v1/competitions/demo/checks", json=[{"function": "COLUMNS_NAME", "scope": "ROOT", "order": 1, "parameters": {}}])
        mocker.get(API + "v2/libraries", json={"content": [{"name": "pandas", "aliases": [], "standard": False, "language": "PYTHON"}]})
        mocker.get(FILES + "X_train.parquet", content=X_TRAIN)
        mocker.get(FILES + "y_train.parquet", content=Y_TRAIN)
        yield mocker


def do_setup(settings, console, **options):
    values = {"competition": "demo", "project": "p1", "token": "setup-token-abcdef", "directory": None}
    values.update(options)
    return setup_command.run(settings=settings, console=console, **values)


def test_new_project_gets_quickstarter_data_and_metadata(tmp_path, monkeypatch, settings, console, hub, capsys):
    monkeypatch.chdir(tmp_path)
    workspace = do_setup(settings, console)
    root = tmp_path / "demo-p1"
    assert workspace.root == root
    info = json.loads((root / ".crunchdao" / "project.json").read_text())
    assert info == {
        "competitionName": "demo", "projectName": "p1", "userId": 42, "sizeVariant": "DEFAULT",
        "apiBaseUrl": API, "webBaseUrl": settings.web_base_url, "modelDirectory": "resources",
    }
    token = root / ".crunchdao" / "token"
    assert token.read_text().strip() == PUSH
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert (root / "main.py").read_text().startswith("def train")
    assert (root / "requirements.txt").read_text() == "pandas\n"
    assert (root / "data" / "X_train.parquet").read_bytes() == X_TRAIN
    assert not (root / "data" / "y_test.parquet").exists()
    for folder in ("resources", "prediction"):
        assert (root / folder).is_dir()
    assert "data/" in (root / ".gitignore").read_text()
    cached = json.loads((root / ".crunchdao" / "data_release.json").read_text())
    assert cached["embargo"] == 2 and cached["dataFiles"]["X_train"]["name"] == "X_train.parquet"
    assert json.loads((root / ".crunchdao" / "checks.json").read_text())[0]["function"] == "COLUMNS_NAME"
    assert json.loads((root / ".crunchdao" / "competition.json").read_text())["id"] == 7
    assert json.loads((root / ".crunchdao" / "libraries.json").read_text())[0]["name"] == "pandas"
    assert not (root / ".crunchdao" / setup_command.STAGING_DIR).exists()
    out = capsys.readouterr()
    assert "cd demo-p1" in out.out and "crunch test" in out.out and "crunch push -m" in out.out
    assert PUSH not in out.out + out.err and "setup-token-abcdef" not in out.out + out.err
    # the push token goes to API calls only, never to the file host
    for request in hub.request_history:
        if request.url.startswith(FILES):
            assert "pushToken" not in request.url and "Authorization" not in request.headers
    clone = [r for r in hub.request_history if "/clone" in r.url][0]
    assert "pushToken=" in clone.url and "submissionNumber" not in clone.url


def test_latest_submission_is_cloned_with_its_model(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py", "resources/model.bin": FILES + "s/model.bin"})
    hub.get(FILES + "s/main.py", content=b"# mine\n")
    hub.get(FILES + "s/model.bin", content=b"\x00model")
    do_setup(settings, console, no_data=True)
    root = tmp_path / "demo-p1"
    assert (root / "main.py").read_text() == "# mine\n"
    assert (root / "resources" / "model.bin").read_bytes() == b"\x00model"
    assert not (root / "data" / "X_train.parquet").exists()
    clone = [r for r in hub.request_history if "/clone" in r.url][0]
    assert "includeModel=true" in clone.url


def test_numbered_submission_without_model(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py"})
    hub.get(FILES + "s/main.py", content=b"# three\n")
    do_setup(settings, console, no_data=True, submission="3", no_model=True)
    clone = [r for r in hub.request_history if "/clone" in r.url][0]
    assert "submissionNumber=3" in clone.url and "includeModel=false" in clone.url


def test_scratch_skips_the_clone(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    do_setup(settings, console, no_data=True, submission="scratch")
    assert not [r for r in hub.request_history if "/clone" in r.url]
    assert (tmp_path / "demo-p1" / "main.py").exists()


def test_no_quickstarter_gives_a_stub(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v2/competitions/demo/quickstarters", json=[])
    do_setup(settings, console, no_data=True)
    text = (tmp_path / "demo-p1" / "main.py").read_text()
    assert "def train(" in text and "def infer(" in text and "model_directory_path" in text
    compile(text, "main.py", "exec")


@pytest.mark.parametrize("value", ["latest-ish", "0", "-1", "x"])
def test_bad_submission_value(tmp_path, monkeypatch, settings, console, hub, value):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        do_setup(settings, console, submission=value)
    assert list(tmp_path.iterdir()) == [] and hub.request_history == []


def test_directory_placeholders(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    do_setup(settings, console, no_data=True, directory="work/{projectName}@{competitionName}")
    assert (tmp_path / "work" / "p1@demo" / ".crunchdao" / "project.json").is_file()


def test_token_for_another_competition_writes_nothing(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.post(API + "v2/project-tokens/upgrade", json={"plain": PUSH, "type": "PUSH", "project": {"id": 1, "name": "p1", "userId": 42, "competitionId": 99}})
    with pytest.raises(ConfigurationError) as error:
        do_setup(settings, console)
    assert "another competition" in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_invalid_token_says_how_to_get_a_fresh_one(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.post(API + "v2/project-tokens/upgrade", status_code=400, json={"code": "INVALID_PROJECT_TOKEN", "message": "nope"})
    with pytest.raises(InvalidProjectTokenError) as error:
        do_setup(settings, console)
    assert "expire" in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_non_empty_directory_is_refused_before_the_token_is_spent(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo-p1").mkdir()
    (tmp_path / "demo-p1" / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError) as error:
        do_setup(settings, console)
    assert "--force" in error.value.message
    assert hub.request_history == []


def test_force_replaces_crunchdao_and_keeps_the_rest(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    (root / ".crunchdao").mkdir(parents=True)
    (root / ".crunchdao" / "stale.json").write_text("{}")
    (root / "notes.txt").write_text("mine")
    (root / "main.py").write_text("# my own main\n")
    do_setup(settings, console, force=True)
    assert not (root / ".crunchdao" / "stale.json").exists()
    assert (root / "notes.txt").read_text() == "mine"
    assert (root / "main.py").read_text() == "# my own main\n"  # a quickstarter never overwrites
    assert (root / "requirements.txt").exists()
    assert (root / ".crunchdao" / "project.json").is_file()
    assert not [p for p in root.iterdir() if p.name.startswith(".crunchdao.previous")]


def test_failure_midway_leaves_no_half_made_workspace(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(FILES + "qs/requirements.txt", status_code=500)
    with pytest.raises(TransferError) as error:
        do_setup(settings, console)
    assert "Setup was undone" in error.value.message and "copy the `crunch setup` command again" in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_failure_midway_with_force_restores_the_previous_workspace(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    (root / ".crunchdao").mkdir(parents=True)
    (root / ".crunchdao" / "project.json").write_text('{"competitionName": "demo", "projectName": "old", "userId": 1}')
    (root / "notes.txt").write_text("mine")
    hub.get(FILES + "qs/requirements.txt", status_code=500)
    with pytest.raises(TransferError):
        do_setup(settings, console, force=True)
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["projectName"] == "old"
    assert sorted(p.name for p in root.iterdir()) == [".crunchdao", "notes.txt"]


def test_escaping_clone_path_is_refused_and_rolled_back(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"../evil.py": FILES + "s/main.py"})
    with pytest.raises(UnsafePathError):
        do_setup(settings, console)
    assert list(tmp_path.iterdir()) == []


def test_data_failure_keeps_the_workspace_and_says_to_resume(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(FILES + "X_train.parquet", status_code=503)
    with pytest.raises(TransferError) as error:
        do_setup(settings, console)
    assert "crunch download" in error.value.message
    root = tmp_path / "demo-p1"
    assert (root / ".crunchdao" / "project.json").is_file()
    assert (root / "data" / "y_train.parquet").read_bytes() == Y_TRAIN
    assert not (root / "data" / "X_train.parquet").exists()


def test_no_data_yet_is_calm(tmp_path, monkeypatch, settings, console, hub, capsys):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v2/competitions/demo/rounds/1/phases/submission/data-release", status_code=404, json={"code": "CRUNCH_NOT_FOUND", "message": "x"})
    do_setup(settings, console)
    assert "no data" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path / "demo-p1")
    with pytest.raises(NothingToDoError) as error:
        download_command.run(settings=settings, console=console)
    assert error.value.exit_code == 0


def test_notebook_setup_in_the_current_directory(tmp_path, monkeypatch, settings, console, hub, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").mkdir()
    setup_command.run(
        settings=settings, console=console, competition="demo", project=None, directory=".", token="setup-token-abcdef",
        force=True, model_directory="resources", notebook=True, submission="latest", no_model=False, no_data=False, size="small",
    )
    info = json.loads((tmp_path / ".crunchdao" / "project.json").read_text())
    assert info["projectName"] == "p1" and info["sizeVariant"] == "SMALL"
    assert (tmp_path / "sample_data").is_dir()
    release = [r for r in hub.request_history if "data-release" in r.url][0]
    assert "sizeVariant=SMALL" in release.url
    assert "crunch.load_notebook()" in capsys.readouterr().out


def test_api_key_mode(tmp_path, monkeypatch, console, hub):
    monkeypatch.chdir(tmp_path)
    settings = Settings.resolve(api_base_url=API, environ={"CRUNCH_API_KEY": "key-0123456789"})
    hub.get(API + "v3/competitions/demo/projects/@me/p1", json={"id": 1, "name": "p1", "userId": 42})
    do_setup(settings, console, token="@api-key")
    root = tmp_path / "demo-p1"
    assert not (root / ".crunchdao" / "token").exists()
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["userId"] == 42
    assert not [r for r in hub.request_history if "upgrade" in r.url]
    clone = [r for r in hub.request_history if "/clone" in r.url][0]
    assert clone.headers["Authorization"] == "API-Key key-0123456789" and "pushToken" not in clone.url
    # later commands in the workspace use the key too
    monkeypatch.chdir(root)
    download_command.run(settings=settings, console=console)
    assert [r for r in hub.request_history if "data-release" in r.url][-1].headers["Authorization"].startswith("API-Key")


def test_api_key_mode_needs_the_key_and_the_project(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="CRUNCH_API_KEY"):
        do_setup(settings, console, token="@api-key")
    keyed = Settings.resolve(api_base_url=API, environ={"CRUNCH_API_KEY": "key-0123456789"})
    with pytest.raises(ConfigurationError, match="project name"):
        do_setup(keyed, console, token="@api-key", project=None, directory=".", notebook=True)
    assert list(tmp_path.iterdir()) == []


# -- download -----------------------------------------------------------------------------------


def make_workspace(root, api=API):
    workspace = Workspace(root)
    workspace.create_layout()
    workspace.write_token(PUSH)
    from crunch.project.workspace import ProjectInfo

    workspace.write_project(ProjectInfo("demo", "p1", 42, api_base_url=api))
    return workspace


def test_download_uses_the_workspace_hub(tmp_path, monkeypatch, console, hub):
    monkeypatch.chdir(tmp_path)
    make_workspace(tmp_path)
    default = Settings.resolve(environ={})  # production, but the workspace says hub.test
    download_command.run(settings=default, console=console)
    assert (tmp_path / "data" / "X_train.parquet").read_bytes() == X_TRAIN


def test_download_refuses_unsafe_names_before_writing(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    make_workspace(tmp_path)
    bad = data_release()
    bad["dataFiles"]["X_test"] = {"name": "../X_test.parquet", "url": FILES + "X_train.parquet", "size": 3}
    hub.get(API + "v2/competitions/demo/rounds/1/phases/submission/data-release", json=bad)
    with pytest.raises(UnsafePathError):
        download_command.run(settings=settings, console=console)
    assert list((tmp_path / "data").iterdir()) == []
    assert not (tmp_path / ".crunchdao" / "data_release.json").exists()


def test_download_round_and_size_options(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    make_workspace(tmp_path)
    hub.get(API + "v1/competitions/demo/rounds/4", json={"id": 9, "number": 4})
    hub.get(API + "v2/competitions/demo/rounds/4/phases/submission/data-release", json=data_release())
    download_command.run(settings=settings, console=console, round_number="4", size_variant="large")
    release = [r for r in hub.request_history if "data-release" in r.url][-1]
    assert "/rounds/4/" in release.url and "sizeVariant=LARGE" in release.url
    assert json.loads((tmp_path / ".crunchdao" / "project.json").read_text())["sizeVariant"] == "LARGE"
    download_command.run(settings=settings, console=console)  # keeps the variant
    assert "sizeVariant=LARGE" in [r for r in hub.request_history if "data-release" in r.url][-1].url


def test_download_waits_for_the_lock(tmp_path, monkeypatch, settings, console, hub, capsys):
    import threading

    from filelock import FileLock

    monkeypatch.chdir(tmp_path)
    workspace = make_workspace(tmp_path)
    held, done = threading.Event(), threading.Event()

    def hold():
        lock = FileLock(str(workspace.cache_path(data_download.LOCK_FILE)))
        with lock:
            held.set()
            done.wait(1.0)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    download_command.run(settings=settings, console=console)
    holder.join()
    assert "waiting" in capsys.readouterr().out
    assert (tmp_path / "data" / "X_train.parquet").read_bytes() == X_TRAIN


# -- update-token -------------------------------------------------------------------------------


def test_update_token_rewrites_the_push_token(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    workspace = make_workspace(tmp_path)
    hub.post(API + "v2/project-tokens/upgrade", json={"plain": "push-new-987654321", "type": "PUSH", "project": {"id": 1, "name": "p1", "userId": 42, "competitionId": 7}})
    update_token_command.run(settings=settings, console=console, token="setup-new-123456")
    assert workspace.read_token() == "push-new-987654321"
    assert stat.S_IMODE(workspace.token_file.stat().st_mode) == 0o600


def test_update_token_for_another_competition_changes_nothing(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    workspace = make_workspace(tmp_path)
    hub.post(API + "v2/project-tokens/upgrade", json={"plain": "push-other-987654321", "type": "PUSH", "project": {"id": 5, "name": "p1", "userId": 42, "competitionId": 99}})
    with pytest.raises(ConfigurationError):
        update_token_command.run(settings=settings, console=console, token="setup-new-123456")
    assert workspace.read_token() == PUSH


def test_update_token_outside_a_workspace(tmp_path, monkeypatch, settings, console):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError):
        update_token_command.run(settings=settings, console=console, token="x" * 10)
    assert os.listdir(tmp_path) == []


def clone_of_models_submission(hub, model_directory="models"):
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={
        "main.py": FILES + "s/main.py", f"{model_directory}/model.bin": FILES + "s/model.bin", f"{model_directory}/sub/w.npy": FILES + "s/w.npy",
    })
    hub.get(API + "v3/competitions/demo/projects/42/p1/submissions", json=[
        {"id": 1, "number": 1, "message": "old", "modelDirectoryPath": "resources"},
        {"id": 2, "number": 2, "message": "new", "modelDirectoryPath": model_directory},
    ])
    hub.get(FILES + "s/main.py", content=b"# mine\n")
    hub.get(FILES + "s/model.bin", content=b"\x00model")
    hub.get(FILES + "s/w.npy", content=b"weights")


def test_cloned_model_files_keep_the_submission_model_directory(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub)
    do_setup(settings, console, no_data=True)
    root = tmp_path / "demo-p1"
    assert (root / "models" / "model.bin").read_bytes() == b"\x00model"
    assert (root / "models" / "sub" / "w.npy").read_bytes() == b"weights"
    assert not (root / "resources").exists()
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "models"


def test_cloned_model_files_move_to_the_chosen_model_directory(tmp_path, monkeypatch, settings, console, hub, capsys):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub)
    do_setup(settings, console, no_data=True, model_directory="weights")
    root = tmp_path / "demo-p1"
    assert (root / "weights" / "model.bin").read_bytes() == b"\x00model"
    assert (root / "weights" / "sub" / "w.npy").read_bytes() == b"weights"
    assert (root / "main.py").read_text() == "# mine\n"
    assert not (root / "models").exists()
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "weights"
    assert "2 file(s) of the submission's models/ go to weights/" in capsys.readouterr().out


def test_numbered_clone_uses_that_submission_model_directory(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub, model_directory="resources")  # submission 2 used resources/ too
    hub.get(API + "v3/competitions/demo/projects/42/p1/submissions", json=[
        {"id": 1, "number": 1, "message": "old", "modelDirectoryPath": "resources"},
        {"id": 2, "number": 2, "message": "new", "modelDirectoryPath": "other"},
    ])
    do_setup(settings, console, no_data=True, submission="1", model_directory="weights")
    root = tmp_path / "demo-p1"
    assert (root / "weights" / "model.bin").read_bytes() == b"\x00model"


def test_without_the_submission_list_the_clone_paths_are_kept(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub)
    hub.get(API + "v3/competitions/demo/projects/42/p1/submissions", status_code=500, json={"code": "X", "message": "down"})
    do_setup(settings, console, no_data=True)
    root = tmp_path / "demo-p1"
    assert (root / "models" / "model.bin").read_bytes() == b"\x00model"
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "resources"


def break_project_writes(monkeypatch) -> None:
    """Writing project.json fails: setup fails after the code is in place."""

    def broken(self, info):
        raise WorkspaceError("cannot write project.json")

    monkeypatch.setattr(Workspace, "write_project", broken)


def test_failed_force_setup_puts_back_the_files_a_clone_replaced(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    (root / "lib").mkdir(parents=True)
    (root / "main.py").write_text("# my own work\n")
    (root / "lib" / "keep.py").write_text("kept = 1\n")
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={
        "main.py": FILES + "s/main.py", "lib/new.py": FILES + "s/new.py", "resources/model.bin": FILES + "s/model.bin",
    })
    hub.get(FILES + "s/main.py", content=b"# cloned\n")
    hub.get(FILES + "s/new.py", content=b"new = 1\n")
    hub.get(FILES + "s/model.bin", content=b"\x00model")

    break_project_writes(monkeypatch)
    with pytest.raises(WorkspaceError, match="Setup was undone"):
        do_setup(settings, console, force=True, no_data=True)
    assert (root / "main.py").read_text() == "# my own work\n"
    assert (root / "lib" / "keep.py").read_text() == "kept = 1\n"
    assert not (root / "lib" / "new.py").exists()
    assert sorted(p.name for p in root.iterdir()) == ["lib", "main.py"]


def test_successful_force_setup_leaves_no_set_aside_files(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    root.mkdir()
    (root / "main.py").write_text("# my own work\n")
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py"})
    hub.get(FILES + "s/main.py", content=b"# cloned\n")
    do_setup(settings, console, force=True, no_data=True)
    assert (root / "main.py").read_text() == "# cloned\n"
    assert not [p for p in root.iterdir() if ".replaced-" in p.name or ".previous-" in p.name]


def test_a_listing_that_does_not_match_the_clone_is_not_trusted(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub, model_directory="resources")
    hub.get(API + "v3/competitions/demo/projects/42/p1/submissions", json=[
        {"id": 2, "number": 2, "message": "new", "modelDirectoryPath": "models"},
    ])
    do_setup(settings, console, no_data=True)
    root = tmp_path / "demo-p1"
    assert (root / "resources" / "model.bin").read_bytes() == b"\x00model"
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "resources"


def test_without_the_model_the_workspace_still_takes_its_directory(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    clone_of_models_submission(hub)
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py"})
    do_setup(settings, console, no_data=True, no_model=True)
    root = tmp_path / "demo-p1"
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "models"
    assert (root / "models").is_dir() and not list((root / "models").iterdir())


def test_failed_setup_puts_back_an_edited_gitignore_and_removes_new_folders(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    (root / "lib").mkdir(parents=True)
    (root / ".gitignore").write_text("*.log\n")
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py", "lib/deep/er/x.py": FILES + "s/x.py"})
    hub.get(FILES + "s/main.py", content=b"# cloned\n")
    hub.get(FILES + "s/x.py", content=b"x = 1\n")

    break_project_writes(monkeypatch)
    with pytest.raises(WorkspaceError):
        do_setup(settings, console, force=True, no_data=True)
    assert (root / ".gitignore").read_text() == "*.log\n"
    assert not (root / "lib" / "deep").exists() and (root / "lib").is_dir()
    assert sorted(p.name for p in root.iterdir()) == [".gitignore", "lib"]


def test_a_cloned_gitignore_keeps_the_workspace_lines(tmp_path, monkeypatch, settings, console, hub):
    monkeypatch.chdir(tmp_path)
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"main.py": FILES + "s/main.py", ".gitignore": FILES + "s/gi"})
    hub.get(FILES + "s/main.py", content=b"# cloned\n")
    hub.get(FILES + "s/gi", content=b"*.log\n")
    do_setup(settings, console, no_data=True)
    lines = (tmp_path / "demo-p1" / ".gitignore").read_text().splitlines()
    assert "*.log" in lines and ".crunchdao/" in lines and "data/" in lines


def test_url_refresher_shares_one_call_and_asks_again_for_a_link_it_gave(hub):
    from crunch.api import Client
    from crunch.data.download import _UrlRefresher

    refresher = _UrlRefresher(Client(API), "demo", 1, "DEFAULT")
    x_train, y_train = refresher.for_key("X_train"), refresher.for_key("y_train")
    assert x_train() == FILES + "X_train.parquet?sig=abc"
    assert y_train() == FILES + "y_train.parquet?sig=abc"
    assert len([r for r in hub.request_history if "data-release" in r.url]) == 1  # one call for both
    x_train()  # the link it was given was refused too: a newer call
    assert len([r for r in hub.request_history if "data-release" in r.url]) == 2


def test_a_notebook_the_clone_replaces_is_kept_aside_and_put_back_on_failure(tmp_path, monkeypatch, settings, console, hub, capsys):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "demo-p1"
    root.mkdir()
    (root / "work.ipynb").write_text('{"cells": ["edited after the submission"]}')
    (root / "same.ipynb").write_text('{"cells": []}')
    hub.get(API + "v4/competitions/demo/projects/42/p1/clone", json={"work.ipynb": FILES + "s/work.ipynb", "same.ipynb": FILES + "s/same.ipynb"})
    hub.get(FILES + "s/work.ipynb", content=b'{"cells": ["as submitted"]}')
    hub.get(FILES + "s/same.ipynb", content=b'{"cells": []}')

    with monkeypatch.context() as broken:
        break_project_writes(broken)
        with pytest.raises(WorkspaceError, match="Setup was undone"):
            do_setup(settings, console, force=True, no_data=True)
    assert sorted(p.name for p in root.iterdir()) == ["same.ipynb", "work.ipynb"]
    assert "edited after" in (root / "work.ipynb").read_text()

    capsys.readouterr()
    do_setup(settings, console, force=True, no_data=True, notebook=True, directory="demo-p1")
    kept = list(root.glob("work.local-*.ipynb"))
    assert len(kept) == 1 and "edited after" in kept[0].read_text()
    assert "as submitted" in (root / "work.ipynb").read_text()
    assert not list(root.glob("same.local-*"))  # the same bytes: nothing to keep
    assert f"it is kept as {kept[0].name}" in capsys.readouterr().out
    assert json.loads((root / ".crunchdao" / "project.json").read_text())["notebook"] is True
