"""Files from the hub cannot steer the workspace, and special files are skipped by a push.

The rules of :mod:`crunch.transfer.names` one by one, then the real ``crunch`` process against
a local hub behind a proxy that answers hostile listings (a clone, a quickstarter, a submission
checkout, a data release): each is refused with one ``error:`` line naming the file, exit 1,
and nothing written. Last, a FIFO and a socket in a workspace are left out of a push with a
warning, as git leaves them out.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
from conftest import Hub, Result
from http_proxy import Answer, CraftingProxy

from crunch.exceptions import UnsafePathError
from crunch.transfer import names

COMPETITION = "demo"

# -- the rules ---------------------------------------------------------------------------------

STEERING = [
    ".git/hooks/post-checkout",
    ".git",
    "lib/.git/config",
    ".GIT/config",
    ".Git./config",  # Windows drops the trailing dot
    ".g\u200cit/config",  # macOS ignores the zero-width joiner
    "git~1/config",  # the short name of .git on Windows
    ".crunchdao/project.json",
    "sub/.CrunchDAO/token",
    ".crunchdao.previous-20240101/token",
    ".crunch-hub/admin-secret",
    ".env",
    "notebooks/.env",
    ".envrc",
    ".gitattributes",
    "lib/.gitattributes",
    ".gitmodules",
    ".lfsconfig",
    "__pycache__/main.cpython-311.pyc",
    "lib/helper.pyc",
    "sitecustomize.py",
    "lib/usercustomize.py",
    ".venv/bin/activate",
    "env/lib/python3.11/site-packages/evil.pth",
    "vendor/dist-packages/x.py",
    "pyvenv.cfg",
    "pip.conf",
    "config/pip.ini",
    "jupyter_notebook_config.py",
    "jupyter_server_config.json",
    "ipython_config.py",
    "ipython_kernel_config.py",
    ".vscode/settings.json",
    ".idea/workspace.xml",
]

ORDINARY = [
    "main.py",
    "requirements.txt",
    ".gitignore",
    "lib/.gitignore",
    "resources/model.pth",  # PyTorch weights: only a site folder runs .pth files
    "resources/model.pt",
    "setup.py",
    "pyproject.toml",
    "config.py",
    "tests/conftest.py",
    "README.md",
    ".gitkeep",
    "git/notes.md",
    "my.git/x",
    "environment.yml",
    ".env.example",
    "notebook.ipynb",
    "aux.py",  # a device name on Windows only
]


@pytest.mark.parametrize("path", STEERING)
def test_a_name_that_steers_the_workspace_is_refused(path: str) -> None:
    found = names.steering_reason(path)
    assert found is not None, path
    part, reason = found
    assert part in path.split("/")
    assert reason
    with pytest.raises(UnsafePathError) as raised:
        names.check_distinct([(path, path)], "the hub's list of code files", "tell the hub's operators")
    assert repr(path) in str(raised.value)
    assert "nothing was written" in str(raised.value)


@pytest.mark.parametrize("path", ORDINARY)
def test_the_participants_own_kinds_of_files_are_allowed(path: str) -> None:
    assert names.steering_reason(path) is None
    assert names.name_problem(path, windows=False) is None
    names.check_distinct([(path, path)], "the hub's list of code files", "tell the hub's operators")


def test_every_documented_name_is_in_the_guarantees() -> None:
    text = (Path(__file__).parent.parent / "docs" / "guarantees.md").read_text()
    section = text.split("## Files from the hub", 1)[1].split("\n## ", 1)[0]
    for name in names.STEERING:
        assert f"`{name}" in section, name


@pytest.mark.parametrize(
    "path, fragment",
    [
        ("a" * 224, "224 bytes long"),
        ("lib/" + "\u00e9" * 112 + ".py", "bytes long"),  # 2 bytes a letter in UTF-8
        ("bad\nname.py", "control character"),
        ("colour\x1b[31m.py", "control character"),
        ("caf\udce9.py", "not UTF-8"),
    ],
)
def test_names_no_file_system_holds_are_refused_everywhere(path: str, fragment: str) -> None:
    for windows in (False, True):
        problem = names.name_problem(path, windows=windows)
        assert problem is not None and fragment in problem


def test_the_longest_name_allowed_is_written(tmp_path: Path) -> None:
    longest = "a" * (names.NAME_LIMIT - 3) + ".py"
    assert names.name_problem(longest, windows=False) is None
    names.check_targets([longest], [tmp_path], "code file")
    # with room for the temporary names written beside it
    (tmp_path / ("." + longest + ".part.ranges.abcdefgh.tmp")).write_text("x")


@pytest.mark.parametrize("path", ["aux.py", "CON", "lib/nul.txt", "COM1.csv", "lpt9", "a:b.py", "what?.py", "x.", "lib/trailing ", 'say"hi".md'])
def test_names_windows_refuses_are_refused_on_windows_only(path: str) -> None:
    assert names.name_problem(path, windows=True) is not None
    assert names.name_problem(path, windows=False) is None


def test_a_path_longer_than_the_system_allows_is_refused(tmp_path: Path) -> None:
    deep = "/".join(["d" * 200] * 25) + "/main.py"  # every part fine, the whole over 4096 bytes
    assert names.name_problem(deep, windows=False) is None
    with pytest.raises(UnsafePathError, match="over what the system allows"):
        names.check_targets([deep], [tmp_path], "code file")


def test_a_file_inside_a_virtual_environment_of_the_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with pytest.raises(UnsafePathError, match="env/ is a virtual environment"):
        names.check_targets(["env/lib/python3.11/numpy/__init__.py"], [tmp_path], "code file")
    names.check_targets(["lib/numpy_helpers.py"], [tmp_path], "code file")


def test_names_are_checked_before_the_twins() -> None:
    with pytest.raises(UnsafePathError, match="sitecustomize"):
        names.check_distinct([("main.py", "main.py"), ("sitecustomize.py", "sitecustomize.py")], "the clone", "x")
    with pytest.raises(UnsafePathError, match="one file twice"):
        names.check_distinct([("main.py", "main.py"), ("Main.py", "Main.py")], "the clone", "x")


# -- through the real crunch process -----------------------------------------------------------

CLONE = "/v4/competitions/demo/projects/"
QUICKSTARTER = r"/v2/competitions/demo/quickstarters/[^/]+"
RELEASE = "/v2/competitions/demo/rounds/"


def json_answer(value: Any) -> Callable[..., Answer]:
    return lambda method, path, forward: (200, {"Content-Type": "application/json"}, json.dumps(value).encode())


def edited(pattern: str, edit: Callable[[Any], None]) -> Callable[..., Any]:
    """The hub's own answer to the GETs matching ``pattern``, changed in place by ``edit``."""

    def rule(method: str, path: str, forward: Callable[[], Answer]) -> Any:
        if method != "GET" or not re.fullmatch(pattern, path.split("?")[0]):
            return None
        status, headers, body = forward()
        if status >= 300:
            return status, headers, body
        document = json.loads(body)
        edit(document)
        return status, {"Content-Type": "application/json"}, json.dumps(document).encode()

    return rule


def snapshot(root: Path) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = "dir" if path.is_dir() else path.read_bytes() if path.is_file() else "special"
    return out


def one_error(result: Result, *fragments: str) -> str:
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output
    assert "unexpected" not in result.output.lower()
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == errors[0]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def proxy(shared_hub: Hub) -> Any:
    instance = CraftingProxy(shared_hub.url)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def workspace(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one submission (the quickstarter's files), made once."""
    folder = tmp_path_factory.mktemp("hubfiles")
    token = shared_hub.token(COMPETITION, "hubfiles")
    done = shared_hub.run("setup", COMPETITION, "hubfiles", "ws", "--token", token, "--no-data", cwd=folder)
    assert done.returncode == 0, done.output
    ws = folder / "ws"
    pushed = shared_hub.run("push", "-m", "first", "--no-pip-freeze", cwd=ws)
    assert pushed.returncode == 0, pushed.output
    return ws


def plain(proxy: CraftingProxy, shared_hub: Hub, *args: str, cwd: Path) -> Result:
    from conftest import run_crunch

    return run_crunch("--api-base-url", proxy.url, *args, cwd=cwd, env=shared_hub.env(PYTHONDONTWRITEBYTECODE="1"))


HOSTILE_CLONES = [
    (".git/hooks/post-checkout", ".git"),
    ("lib/.CrunchDAO/project.json", ".CrunchDAO"),
    ("notebooks/.env", ".env"),
    ("sitecustomize.py", "sitecustomize.py"),
    ("__pycache__/main.cpython-311.pyc", "__pycache__"),
    (".gitattributes", ".gitattributes"),
    (".vscode/settings.json", ".vscode"),
    ("n" * 300 + ".py", "303 bytes long"),
    ("/".join(["d" * 200] * 25) + "/x.py", "over what the system allows"),
]


@pytest.mark.e2e
@pytest.mark.parametrize("name, fragment", HOSTILE_CLONES, ids=[f[1][:20] for f in HOSTILE_CLONES])
def test_setup_refuses_a_clone_that_steers_the_workspace(name: str, fragment: str, shared_hub: Hub, proxy: CraftingProxy, tmp_path: Path) -> None:
    proxy.rules = {CLONE: json_answer({"main.py": proxy.url + "never/main", name: proxy.url + "never/x"})}
    token = shared_hub.token(COMPETITION, "hostile")
    result = plain(proxy, shared_hub, "setup", COMPETITION, "hostile", "ws", "--token", token, "--no-data", cwd=tmp_path)
    line = one_error(result, fragment, "Setup was undone")
    assert "refusing" in line
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the folder
    assert not any("/never/" in path for _, path, _ in proxy.requests)  # no file was fetched


@pytest.mark.e2e
def test_quickstarter_apply_refuses_a_quickstarter_naming_a_git_hook(workspace: Path, shared_hub: Hub, proxy: CraftingProxy) -> None:
    def plant(document: Dict[str, Any]) -> None:
        first = document["files"][0]
        document["files"].append(dict(first, name=".git/hooks/pre-commit"))

    proxy.rules = {"/v2/competitions/demo/quickstarters": edited(QUICKSTARTER, plant)}
    before = snapshot(workspace)
    result = plain(proxy, shared_hub, "quickstarter", "apply", "default", "--overwrite", cwd=workspace)
    one_error(result, ".git/hooks/pre-commit", "git")
    assert snapshot(workspace) == before


@pytest.mark.e2e
def test_submission_checkout_refuses_a_listing_naming_a_dotenv(workspace: Path, shared_hub: Hub, proxy: CraftingProxy) -> None:
    def plant(document: Dict[str, Any]) -> None:
        document["lib/.env"] = next(iter(document.values()))

    proxy.rules = {CLONE: edited(r"/v4/competitions/demo/projects/.*", plant)}
    before = snapshot(workspace)
    result = plain(proxy, shared_hub, "submission", "checkout", "@last", "main.py", cwd=workspace)
    one_error(result, "lib/.env", "CRUNCH_")
    assert snapshot(workspace) == before


@pytest.mark.e2e
@pytest.mark.parametrize(
    "name, fragment",
    [(".env", ".env"), ("sitecustomize.py", "sitecustomize.py"), ("x" * 240 + ".parquet", "bytes long")],
    ids=["dotenv", "sitecustomize", "too-long"],
)
def test_download_refuses_a_data_release_naming_a_file_that_steers_or_cannot_be(
    name: str, fragment: str, workspace: Path, shared_hub: Hub, proxy: CraftingProxy
) -> None:
    def rename(document: Dict[str, Any]) -> None:
        document["dataFiles"]["X_test"]["name"] = name

    proxy.rules = {RELEASE: edited(r"/v2/competitions/demo/rounds/[^/]+/phases/submission/data-release", rename)}
    data_before = snapshot(workspace / "data") if (workspace / "data").exists() else {}
    result = plain(proxy, shared_hub, "download", cwd=workspace)
    one_error(result, fragment)
    data_after = snapshot(workspace / "data") if (workspace / "data").exists() else {}
    assert data_after == data_before


# -- FIFOs and sockets: skipped by a push, as git skips them -------------------------------------


def _special_files(ws: Path) -> List[str]:
    os.mkfifo(ws / "pipe")
    (ws / "resources").mkdir(exist_ok=True)
    os.mkfifo(ws / "resources" / "model.fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(ws / "agent.sock"))  # a socket file stays after the socket is closed
    server.close()
    return ["pipe", "agent.sock", "resources/model.fifo"]


def test_list_code_files_skips_fifos_and_sockets_with_a_note(tmp_path: Path) -> None:
    from crunch.code.files import list_code_files, list_model_files

    if len(str(tmp_path / "agent.sock")) > 100:
        pytest.skip("the folder's path is too long for a socket")
    (tmp_path / "main.py").write_text("x = 1\n")
    _special_files(tmp_path)
    skipped: List[str] = []
    code = list_code_files(tmp_path, "resources", colab=False, skipped=skipped)
    model = list_model_files(tmp_path, "resources", skipped=skipped)
    assert [f.path for f in code] == ["main.py"]
    assert model == []
    assert len(skipped) == 3
    assert any(note.startswith("pipe is a FIFO") for note in skipped), skipped
    assert any(note.startswith("agent.sock is a socket") for note in skipped), skipped
    assert any(note.startswith("resources/model.fifo is a FIFO") for note in skipped), skipped
    assert all("not sent" in note for note in skipped)


@pytest.mark.e2e
def test_push_leaves_a_fifo_and_a_socket_out_with_a_warning(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("hf")  # short: a socket's path is limited to about 100 bytes
    token = shared_hub.token(COMPETITION, "hubfiles-fifo")
    done = shared_hub.run("setup", COMPETITION, "hubfiles-fifo", "w", "--token", token, "--no-data", cwd=folder)
    assert done.returncode == 0, done.output
    ws = folder / "w"
    if len(str(ws / "agent.sock")) > 100:
        pytest.skip("the folder's path is too long for a socket")
    special = _special_files(ws)
    dry = shared_hub.run("push", "-m", "specials", "--dry", "--no-pip-freeze", cwd=ws)
    assert dry.returncode == 0, dry.output
    pushed = shared_hub.run("push", "-m", "specials", "--no-pip-freeze", cwd=ws, timeout=60)
    assert pushed.returncode == 0, pushed.output
    assert "unexpected" not in pushed.output.lower()
    for name in special:
        assert re.search(rf"{re.escape(name)} is an? (FIFO|socket).*not sent", pushed.stderr), pushed.stderr
    shown = shared_hub.run("submission", "show", "@last", cwd=ws)
    assert shown.returncode == 0, shown.output
    assert "main.py" in shown.output
    for name in special:
        assert name not in shown.output
