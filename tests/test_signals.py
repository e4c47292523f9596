"""Signals sent to the real ``crunch`` process in the middle of its work: SIGTERM (``timeout``, a
CI runner, a notebook's interrupt-then-kill) cleans up exactly as Ctrl-C does, in ``test`` (on
a notebook), ``setup``, ``push`` and ``download``; SIGKILL, which nothing can handle, leaves
nothing a later run would take for the person's code.

Each test starts the installed ``crunch`` executable, waits until it is busy (the person's
``train()`` running, the hub holding an answer back with a fault ``delay``), sends the signal,
and checks the exit code (130 for SIGINT, 143 for SIGTERM), the one ``interrupted`` line, and
what is left on disk and on the hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional
from urllib.parse import urlsplit

import pytest
from conftest import CRUNCH, TOKEN_MARKER, Hub, Recorded, Result

pytestmark = pytest.mark.e2e

COMPETITION = "demo"
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def start(hub: Hub, *args: str, cwd: Path, env: Optional[Dict[str, str]] = None) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [CRUNCH, "--api-base-url", hub.url, *args],
        cwd=str(cwd),
        env=env or hub.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition: Callable[[], bool], process: "subprocess.Popen[str]", what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"crunch ended (exit {process.returncode}) before {what}:\n{out}{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def interrupt(process: "subprocess.Popen[str]", signum: int, args: List[str]) -> Result:
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"crunch did not stop within 60 s of signal {signum}:\n{out}{err}")
    result = Result(process.returncode, out, err)
    Recorded.results.append((args, result))
    return result


def assert_interrupted(result: Result, signum: int) -> None:
    assert result.returncode == EXIT[signum], result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["interrupted"], result.stderr
    assert "Traceback" not in result.output and TOKEN_MARKER not in result.output


@pytest.fixture(scope="module")
def template(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace made by `crunch setup` (small data, the quickstarter)."""
    folder = tmp_path_factory.mktemp("signals-template")
    token = shared_hub.token(COMPETITION, "signals")
    done = shared_hub.run("setup", COMPETITION, "signals", "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


SLOW_NOTEBOOK_TRAIN = (
    "import os\nimport time\n\n\n"
    "def train(X_train, y_train, model_directory_path):\n"
    "    open(os.path.join(model_directory_path, 'started'), 'w').close()\n"
    "    time.sleep(120)\n\n\n"
    "def infer(X_test, model_directory_path):\n"
    "    return X_test[['id', 'moon']].assign(prediction=X_test['feature_0'].clip(-1.0, 1.0))\n"
)


def notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_test_on_a_notebook_leaves_no_script(signum: int, template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = copy(template, tmp_path / "ws")
    (ws / "main.py").unlink()
    (ws / "main.ipynb").write_text(notebook(SLOW_NOTEBOOK_TRAIN))
    before = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*"))
    args = ["test", "--no-determinism-check"]
    process = start(shared_hub, *args, cwd=ws)
    wait_until(lambda: (ws / "resources" / "started").exists(), process, "train() started")
    assert not (ws / "main.py").exists()  # the conversion is never the workspace's main.py
    result = interrupt(process, signum, args)
    assert_interrupted(result, signum)
    (ws / "resources" / "started").unlink()
    after = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*"))
    assert after == before  # no main.py, no requirements.txt, no .crunchdao/converted/


def as_notebook_workspace(ws: Path) -> None:
    """What `crunch setup --notebook` marks: the notebook is the code."""
    path = ws / ".crunchdao" / "project.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "notebook": True}))


def run_folders(ws: Path) -> List[Path]:
    converted = ws / ".crunchdao" / "converted"
    return sorted(p for p in converted.iterdir() if p.is_dir()) if converted.is_dir() else []


@pytest.mark.parametrize("notebook_workspace", [False, True], ids=["main-ipynb", "notebook-workspace"])
def test_a_killed_test_leaves_nothing_a_later_run_would_use(notebook_workspace: bool, template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """Even SIGKILL (no cleanup at all) leaves no main.py: the next run converts the notebook as
    it is now, and removes the folder the killed run had converted it into."""
    ws = copy(template, tmp_path / "ws")
    (ws / "main.py").unlink()
    (ws / "main.ipynb").write_text(notebook(SLOW_NOTEBOOK_TRAIN))
    if notebook_workspace:
        as_notebook_workspace(ws)
    outside = sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*") if ".crunchdao" not in p.parts)
    process = start(shared_hub, "test", cwd=ws)
    wait_until(lambda: (ws / "resources" / "started").exists(), process, "train() started")
    process.kill()
    process.communicate()
    (ws / "resources" / "started").unlink()
    # what a kill leaves is under .crunchdao/ (git-ignored, never sent, never imported again)
    assert sorted(p.relative_to(ws).as_posix() for p in ws.rglob("*") if ".crunchdao" not in p.parts) == outside
    killed = run_folders(ws)
    assert len(killed) == 1 and (killed[0] / "main.py").is_file(), killed  # the killed run's conversion
    fixed = SLOW_NOTEBOOK_TRAIN.replace("    time.sleep(120)\n", "    pass\n")
    (ws / "main.ipynb").write_text(notebook(fixed))
    done = shared_hub.run("test", "--no-determinism-check", cwd=ws)
    assert done.returncode == 0, done.output
    assert "prediction is valid" in done.stdout
    assert not (ws / "main.py").exists()
    assert not killed[0].exists()
    assert not (ws / ".crunchdao" / "converted").exists()  # no folder, no lock file left


WAITING_NOTEBOOK_TRAIN = SLOW_NOTEBOOK_TRAIN.replace(
    "    time.sleep(120)\n",
    "    for _ in range(1200):\n"
    "        if os.path.exists(os.path.join(model_directory_path, 'go')):\n"
    "            break\n"
    "        time.sleep(0.1)\n",
)


def test_a_test_keeps_the_folder_of_a_test_still_running(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """Two `crunch test` at once in one workspace: the second one leaves the first one's
    conversion folder alone (its lock is held), and the first one ends well."""
    ws = copy(template, tmp_path / "ws")
    (ws / "main.py").unlink()
    (ws / "main.ipynb").write_text(notebook(WAITING_NOTEBOOK_TRAIN))
    (ws / "quick.ipynb").write_text(notebook(SLOW_NOTEBOOK_TRAIN.replace("    time.sleep(120)\n", "    pass\n")))
    first = start(shared_hub, "test", "--no-determinism-check", cwd=ws)
    try:
        wait_until(lambda: (ws / "resources" / "started").exists(), first, "train() started")
        running = run_folders(ws)
        assert len(running) == 1 and (running[0] / "main.py").is_file(), running
        second = shared_hub.run("test", "--no-determinism-check", "--main-file", "quick.ipynb", cwd=ws)
        assert second.returncode == 0, second.output
        assert (running[0] / "main.py").is_file()  # the first run's folder is kept
        assert run_folders(ws) == running  # and the second one's is gone
        (ws / "resources" / "go").touch()
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 0, out + err
    assert "prediction is valid" in out
    assert not (ws / ".crunchdao" / "converted").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_setup_is_undone_and_a_rerun_works(signum: int, hub: Hub, tmp_path: Path) -> None:
    """Interrupted while the hub holds the clone back (the token is spent, the workspace half made)."""
    hub.faults(delay=30, delay_times=1, path_prefix="/v4/competitions/demo/projects/", method="GET")
    target = tmp_path / "fresh"
    args = ["setup", COMPETITION, "p1", "fresh", "--token", hub.token(COMPETITION, "p1"), "--no-data"]
    process = start(hub, *args, cwd=tmp_path)
    wait_until(lambda: (target / ".crunchdao" / "token").exists(), process, "the push token was written")
    time.sleep(0.3)  # into the clone call
    result = interrupt(process, signum, args)
    assert result.returncode == EXIT[signum], result.output
    assert [line for line in result.stderr.splitlines() if line.strip()] == ["interrupted"], result.stderr
    assert "setup was undone" in result.stdout and TOKEN_MARKER not in result.output
    assert not target.exists()
    hub.reset_faults()
    again = hub.run("setup", COMPETITION, "p1", "fresh", "--token", hub.token(COMPETITION, "p1"), "--no-data", cwd=tmp_path)
    assert again.returncode == 0, again.output
    assert (target / ".crunchdao" / "project.json").is_file()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_push_aborts_its_pending_uploads(signum: int, hub: Hub, tmp_path: Path) -> None:
    """Interrupted while a chunk is on its way (the hub delays its answer): the uploads are aborted."""
    token = hub.token(COMPETITION, "p1")
    done = hub.run("setup", COMPETITION, "p1", "ws", "--token", token, "--submission", "scratch", "--no-data", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "ws"
    (ws / "resources" / "model.bin").write_bytes(os.urandom(1 << 20))
    hub.faults(delay=30, path_prefix="/_upload/", method="PUT")
    args = ["push", "-m", "interrupted"]
    env = hub.env(CRUNCH_UPLOAD_CHUNK_SIZE=str(256 * 1024), CRUNCH_TIMEOUT="5")
    process = start(hub, *args, cwd=ws, env=env)
    wait_until(lambda: hub.stats()["pendingUploads"] > 0, process, "an upload is pending")
    time.sleep(0.5)  # its first chunk is on its way, held by the hub
    result = interrupt(process, signum, args)
    hub.reset_faults()
    assert_interrupted(result, signum)
    assert hub.stats()["pendingUploads"] == 0
    info = json.loads((ws / ".crunchdao" / "project.json").read_text())
    push_token = (ws / ".crunchdao" / "token").read_text().strip()
    assert hub.client(push_token=push_token).list_submissions(COMPETITION, info["userId"], "p1") == []


def test_a_killed_push_of_a_notebook_leaves_nothing_a_later_run_would_use(hub: Hub, tmp_path: Path) -> None:
    """SIGKILL skips every cleanup: the push's converted main.py stays, recorded in .crunchdao/;
    the next `crunch test` removes it and converts the notebook as it is now."""
    token = hub.token(COMPETITION, "p1")
    done = hub.run("setup", COMPETITION, "p1", "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "ws"
    (ws / "main.py").unlink()
    quick = SLOW_NOTEBOOK_TRAIN.replace("    time.sleep(120)\n", "    pass\n")
    (ws / "main.ipynb").write_text(notebook(quick))
    hub.faults(delay=30, path_prefix="/_upload/", method="PUT")
    process = start(hub, "push", "-m", "killed", cwd=ws, env=hub.env(CRUNCH_TIMEOUT="5"))
    wait_until(lambda: hub.stats()["pendingUploads"] > 0, process, "an upload is pending")
    process.kill()
    process.communicate()
    hub.reset_faults()
    leftover = (ws / "main.py").read_text()
    assert "def train(" in leftover  # what the kill left: the push's conversion

    edited = quick.replace("    pass\n", "    open(os.path.join(model_directory_path, 'edited'), 'w').close()\n")
    (ws / "main.ipynb").write_text(notebook(edited))
    tested = hub.run("test", "--no-determinism-check", cwd=ws)
    assert tested.returncode == 0, tested.output
    assert "removed main.py" in tested.stdout and "converting main.ipynb" in tested.stdout
    assert (ws / "resources" / "edited").exists()  # the notebook as it is now ran, not the leftover
    assert not (ws / "main.py").exists() and not list((ws / ".crunchdao").glob("temporary-*.json"))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_download_keeps_its_part_and_the_next_run_resumes(signum: int, hub: Hub, tmp_path: Path) -> None:
    """Interrupted while the hub holds a data file's body back: no file in data/ that is not
    whole (the transfer's .part stays, for the resume), and the next run completes."""
    token = hub.token(COMPETITION, "p1")
    done = hub.run("setup", COMPETITION, "p1", "ws", "--token", token, "--submission", "scratch", "--no-data", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "ws"
    release = hub.client().get_data_release(COMPETITION)
    target = max((f for f in release.data_files.values() if f.available), key=lambda f: f.size or 0)
    hub.faults(stall_after=1000, stall=30, path_prefix=urlsplit(target.url).path, method="GET")
    args = ["download"]
    process = start(hub, *args, cwd=ws, env=hub.env(CRUNCH_TIMEOUT="60"))  # no read timeout while it waits
    part = ws / "data" / (target.name + ".part")
    wait_until(lambda: hub.stats().get("stalls", 0) > 0 and part.exists(), process, "the transfer stalled")
    time.sleep(0.3)
    result = interrupt(process, signum, args)
    hub.reset_faults()
    assert_interrupted(result, signum)
    assert not (ws / "data" / target.name).exists() and part.exists()
    again = hub.run("download", cwd=ws)
    assert again.returncode == 0, again.output
    assert not part.exists()
    assert hashlib.sha256((ws / "data" / target.name).read_bytes()).hexdigest() == target.sha256
