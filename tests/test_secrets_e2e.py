"""Secrets: no token leaks, anywhere, in the whole session.

Every setup token, push token and API key a local hub mints in the test session carries the
marker ``conftest.TOKEN_MARKER`` (``CRUNCH_HUB_TOKEN_MARKER``). conftest records the output of
every ``crunch`` run, every CrunchError message and every test capture. Here:

- a few failing commands run with ``--debug`` (tracebacks shown) against a hub logging every
  request: a used setup token, an unknown push token, an unreachable hub, a refused push, a
  download cut by the hub;
- setup, download and push run with the hub's file and chunk links on another host (a
  recording proxy on 127.0.0.2): that host never sees a push token nor an Authorization header;
- at the end of the session (conftest's ``_no_token_leaked``, which sees every test of the
  process) the marker is in no recorded output (but the answer of ``crunch hub token``, which
  is a token), error or capture, and in no file under the session's temporary folder (hub logs
  and databases, workspaces, pushed files) except ``.crunchdao/token`` files, which are mode 0600.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Iterator, List

import pytest
from conftest import TOKEN_MARKER, Hub, Recorded, Result, run_crunch
from http_proxy import CraftingProxy

pytestmark = pytest.mark.e2e

COMPETITION, PROJECT = "demo", "secrets"


def _second_host() -> str:
    """127.0.0.2 when this system routes it (Linux does), else ``localhost``."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.2", 0))
        return "127.0.0.2"
    except OSError:
        return "localhost"


@pytest.fixture(scope="module")
def debug_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub that logs every request (``--debug``): its log is scanned like every file."""
    instance = Hub(tmp_path_factory.mktemp("secrets-hub") / "root", env={"CRUNCH_DEBUG": "1"})
    Recorded.logs.append(instance.log_path)  # scanned with every file at the end of the session
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def files_host(debug_hub: Hub) -> Iterator[CraftingProxy]:
    proxy = CraftingProxy(debug_hub.url, host=_second_host())
    debug_hub.settings(filesBaseUrl=proxy.url)
    try:
        yield proxy
    finally:
        debug_hub.settings(filesBaseUrl=None)
        proxy.close()


@pytest.fixture(scope="module")
def workspace(debug_hub: Hub, files_host: CraftingProxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("secrets-ws")
    token = debug_hub.token(COMPETITION, PROJECT)
    done = debug_hub.run("--debug", "setup", COMPETITION, PROJECT, "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def no_marker(result: Result) -> None:
    assert TOKEN_MARKER not in result.output, result.output


def test_the_hub_mints_marked_secrets(debug_hub: Hub) -> None:
    assert TOKEN_MARKER in debug_hub.token(COMPETITION, "marked")
    assert TOKEN_MARKER in debug_hub.push_token(COMPETITION, "marked")
    assert TOKEN_MARKER in debug_hub.api_key("marked-user")


def test_files_and_chunks_go_to_another_host_without_the_token(debug_hub: Hub, files_host: CraftingProxy, workspace: Path, tmp_path: Path) -> None:
    env = debug_hub.env(PYTHONDONTWRITEBYTECODE="1")
    (workspace / "notes.txt").write_text("pushed through the files host\n")
    pushed = debug_hub.run("--debug", "push", "-m", "through another host", cwd=workspace, env=env)
    assert pushed.returncode == 0, pushed.output
    again = debug_hub.run("--debug", "download", "--force", cwd=workspace, env=env)
    assert again.returncode == 0, again.output
    clone = debug_hub.run("--debug", "setup", COMPETITION, PROJECT, "clone", "--token", debug_hub.token(COMPETITION, PROJECT), "--size", "small", cwd=tmp_path, env=env)
    assert clone.returncode == 0, clone.output
    assert (tmp_path / "clone" / "notes.txt").read_text() == "pushed through the files host\n"
    for result in (pushed, again, clone):
        no_marker(result)

    kinds = {(method, path.split("/")[1]) for method, path, _ in files_host.requests}
    assert {("GET", "data"), ("GET", "files"), ("PUT", "_upload")} <= kinds, kinds
    for _method, path, headers in files_host.requests:
        assert "pushToken" not in path and "token=" not in path.lower(), path
        assert TOKEN_MARKER not in path, path
        assert not any(name.lower() in ("authorization", "x-api-key") for name in headers), (path, headers)
        assert not any(TOKEN_MARKER in str(value) for value in headers.values()), (path, headers)


def test_failing_commands_with_debug_show_no_token(debug_hub: Hub, files_host: CraftingProxy, workspace: Path, tmp_path: Path) -> None:
    env = debug_hub.env(PYTHONDONTWRITEBYTECODE="1")
    results: List[Result] = []

    # a setup token used twice
    token = debug_hub.token(COMPETITION, "twice")
    first = debug_hub.run("--debug", "setup", COMPETITION, "twice", "a", "--token", token, "--no-data", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.output
    second = debug_hub.run("--debug", "setup", COMPETITION, "twice", "b", "--token", token, "--no-data", cwd=tmp_path, env=env)
    assert second.returncode == 1 and "error:" in second.stderr, second.output
    results += [first, second]

    # a push token the hub does not know (marked too)
    unknown = tmp_path / "unknown"
    shutil.copytree(workspace, unknown, symlinks=True)
    (unknown / ".crunchdao" / "token").write_text(f"push-{TOKEN_MARKER}not-a-real-one{TOKEN_MARKER}\n")
    os.chmod(unknown / ".crunchdao" / "token", 0o600)
    refused = debug_hub.run("--debug", "push", "-m", "unknown token", cwd=unknown, env=env)
    assert refused.returncode == 1 and "error:" in refused.stderr, refused.output
    listed = debug_hub.run("--debug", "download", "--force", cwd=unknown, env=env)  # public data: may pass
    results += [refused, listed]

    # an unreachable hub: the traceback holds the request, never the token
    unreachable = run_crunch("--debug", "--api-base-url", "http://127.0.0.1:9/", "push", "-m", "nowhere", cwd=workspace, env=dict(env, CRUNCH_TIMEOUT="2"))
    assert unreachable.returncode == 1 and "Traceback" in unreachable.stderr, unreachable.output
    results.append(unreachable)

    # a push the hub refuses (the phase is closed)
    debug_hub.competition_state(COMPETITION, phaseClosed=True)
    try:
        closed = debug_hub.run("--debug", "push", "-m", "closed", cwd=workspace, env=env)
    finally:
        debug_hub.competition_state(COMPETITION, phaseClosed=False)
    assert closed.returncode == 1 and "error:" in closed.stderr, closed.output
    results.append(closed)

    # a download the hub cuts every time (its own links, no proxy in between)
    debug_hub.settings(filesBaseUrl=None)
    debug_hub.faults(drop_after=0, drop_times=1000, path_prefix="/data/")
    try:
        cut = debug_hub.run("--debug", "download", "--force", cwd=workspace, env=env)
    finally:
        debug_hub.reset_faults()
        debug_hub.settings(filesBaseUrl=files_host.url)
    assert cut.returncode == 1 and "error:" in cut.stderr, cut.output
    results.append(cut)

    for result in results:
        no_marker(result)
    assert any("Traceback" in result.stderr for result in results if result.returncode)
