"""Faults, end to end: every command through the installed ``crunch`` against a local hub whose
fault injection breaks one exchange, one case at a time.

Commands: ``download`` (a data file's body), ``clone`` (``crunch setup`` of a project that has
pushed code and a model: the model file's body, or the clone answer), ``chunk upload`` (the
request body of a chunk ``PUT`` of ``crunch push``, or its confirm), ``submission`` (the answer
to ``crunch push``'s submission creation).

Each cell either recovers by itself (exit 0, the right result) or fails with one ``error:``
line (exit 1, no traceback); afterwards ``data/`` holds only whole, verified files (a
``.part`` is kept for the resume), the hub holds no submission of a failed push and no upload
left pending, and running the same command again completes.

``CRUNCH_FAULTS_TABLE=<file> pytest tests/test_faults.py`` writes the matrix that ran as the
Markdown table of README.md's "### Faults".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple
from urllib.parse import urlsplit

import pytest
from conftest import CRUNCH, Hub

pytestmark = pytest.mark.e2e

CHUNK = 256 * 1024  # every pushed file is a whole number of chunks: each PUT body is CHUNK bytes
MAIN = (b"def train(X_train, y_train, model_directory_path):\n    pass\n\n\ndef infer(X_test):\n    pass\n")
MAIN = MAIN + b"#" * (2 * CHUNK - len(MAIN) - 1) + b"\n"
MODEL = os.urandom(4 * CHUNK)
SLOW_TIMEOUT = 2.0  # CRUNCH_TIMEOUT of the "slow" case (a busy machine answers every other call well within it)
SLOW_DELAY = 4.0  # the hub's pause before answering, once

CASES = ["drop at 10%", "drop at 50%", "drop at 90%", "503 three times", "slow answer", "truncated body", "corrupted bytes", "hub restarted"]
COMMANDS = ["download", "clone", "chunk upload", "submission"]

# what each cell is expected to do (the test fails when a cell does something else)
FAILS_CLEANLY = {("slow answer", "submission")}

RESULTS: Dict[Tuple[str, str], str] = {}


def expected(case: str, command: str) -> str:
    return "failed cleanly" if (case, command) in FAILS_CLEANLY else "recovered"


# -- the hub and what lives on it ---------------------------------------------------------------


class World:
    """The module's hub, the data release's files and the pushed project that clones read."""

    def __init__(self, hub: Hub, tmp: Path) -> None:
        self.hub = hub
        self.tmp = tmp
        release = hub.client().get_data_release("demo")
        self.data = {f.name: (f.sha256, f.size, urlsplit(f.url).path) for f in release.data_files.values() if f.available}
        self.target = "X_train.parquet"  # the data file the download cells break
        # a project with code and a model pushed, for the clone cells
        workspace = make_workspace(hub, tmp / "pushed", "cloned")
        result = push(hub, workspace)
        assert result.returncode == 0, result.output
        info = json.loads((workspace / ".crunchdao" / "project.json").read_text())
        token = (workspace / ".crunchdao" / "token").read_text().strip()
        links = hub.client(push_token=token).clone("demo", info["userId"], "cloned")
        self.model_path = urlsplit(links["resources/model.bin"]).path
        # the length of a submission answer (the listing shows the same object)
        listed = hub.client(push_token=token).request("GET", f"/v3/competitions/demo/projects/{info['userId']}/cloned/submissions")
        self.submission_answer = len(json.dumps(listed[0]))


def make_workspace(hub: Hub, folder: Path, project: str, code: bool = True) -> Path:
    """A workspace built by hand: project.json and a push token from the hub's token upgrade."""
    token = hub.client().upgrade_token(hub.token("demo", project, "alice"))
    (folder / ".crunchdao").mkdir(parents=True)
    (folder / ".crunchdao" / "project.json").write_text(json.dumps({
        "competitionName": "demo", "projectName": token.project.name, "userId": token.project.user_id, "apiBaseUrl": hub.url,
    }))
    token_file = folder / ".crunchdao" / "token"
    token_file.write_text(token.plain + "\n")
    token_file.chmod(0o600)
    if code:
        (folder / "main.py").write_bytes(MAIN)
        (folder / "resources").mkdir()
        (folder / "resources" / "model.bin").write_bytes(MODEL)
    return folder


def push(hub: Hub, workspace: Path, **env: str) -> Any:
    return hub.run("push", "-m", "faults", cwd=workspace, env=hub.env(CRUNCH_UPLOAD_CHUNK_SIZE=str(CHUNK), **env))


@pytest.fixture(scope="module")
def world(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Any:
    instance = World(shared_hub, tmp_path_factory.mktemp("faults"))
    yield instance
    table = os.environ.get("CRUNCH_FAULTS_TABLE")
    if table and all((case, command) in RESULTS for case in CASES for command in COMMANDS):
        Path(table).write_text(markdown_table())


def markdown_table() -> str:
    lines = ["| case | " + " | ".join(COMMANDS) + " |", "|---" * (len(COMMANDS) + 1) + "|"]
    for case in CASES:
        lines.append(f"| {case} | " + " | ".join(RESULTS.get((case, command), "not run") for command in COMMANDS) + " |")
    return "\n".join(lines) + "\n"


# -- the faults of each cell ----------------------------------------------------------------------


def target(world: World, command: str) -> Tuple[Dict[str, Any], int]:
    """(where the fault applies, the length of the body it breaks)."""
    if command == "download":
        sha, size, path = world.data[world.target]
        return {"path_prefix": path, "method": "GET"}, size
    if command == "clone":
        return {"path_prefix": world.model_path, "method": "GET"}, len(MODEL)
    if command == "chunk upload":
        return {"path_prefix": "/_upload/", "method": "PUT"}, CHUNK
    return {"path_prefix": "/v4/competitions/demo/projects/", "method": "POST"}, world.submission_answer


def fault_of(world: World, case: str, command: str) -> Dict[str, Any]:
    where, length = target(world, command)
    if case.startswith("drop at "):
        return {**where, "drop_after": int(length * int(case[8:-1]) / 100)}
    if case == "503 three times":
        return {**where, "fail_next": 3}
    if case == "slow answer":
        return {**where, "delay": SLOW_DELAY, "delay_times": 1}
    if case in ("truncated body", "corrupted bytes"):
        if command == "clone":  # the clone answer (the file bodies have no announced size or hash)
            where = {"path_prefix": "/v4/competitions/demo/projects/", "method": "GET"}
            length = 100
        elif command == "chunk upload" and case == "truncated body":  # the chunk's confirm answer
            where = {"path_prefix": "/v1/uploads/", "method": "POST"}
            length = 100
        if case == "truncated body":
            return {**where, "truncate_at": length // 2}
        return {**where, "corrupt": 1}
    if case == "hub restarted":
        return {**where, "stall_after": length // 2, "stall": 60}
    raise AssertionError(case)


def consumed(hub: Hub, fault: Dict[str, Any]) -> bool:
    """Whether the fault set for the cell happened (not only matched a request)."""
    state, stats = hub.call("GET", "/_admin/faults"), hub.stats()
    if "drop_after" in fault:
        return stats["droppedConnections"] >= 1
    if "fail_next" in fault:
        return stats["failedRequests"] >= fault["fail_next"]
    if "truncate_at" in fault:
        return stats["truncatedBodies"] >= 1
    if "corrupt" in fault:
        return stats["corruptedBodies"] >= 1
    return state["delayTimes"] == 0


# -- running a cell -------------------------------------------------------------------------------


def run_with_fault(hub: Hub, args: List[Any], cwd: Path, fault: Dict[str, Any], env: Dict[str, str]) -> Any:
    """Run ``crunch ARGS`` with ``fault`` set; a restart case kills the hub in the middle of the body."""
    from conftest import Result

    hub.reset_faults()
    hub.reset_stats()
    hub.faults(**fault)
    if "stall_after" not in fault:
        result = hub.run(*args, cwd=cwd, env=env)
        assert consumed(hub, fault), f"the fault {fault} did not happen: {hub.call('GET', '/_admin/faults')} {hub.stats()}"
        return result
    process = subprocess.Popen(
        [CRUNCH, "--api-base-url", hub.url, *[str(a) for a in args]],
        cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while hub.stats()["stalls"] < 1:
            assert process.poll() is None and time.monotonic() < deadline, "the body never reached the stall"
            time.sleep(0.05)
        hub.restart(same_port=True, kill=True)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Result(process.returncode, stdout, stderr)


def outcome(result: Any) -> str:
    assert "Traceback" not in result.output, result.output
    if result.returncode == 0:
        return "recovered"
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return "failed cleanly"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_data_whole(world: World, data: Path, complete: bool) -> None:
    """Every file of ``data/`` is whole and verified; ``complete``: all of them, no ``.part``."""
    names = {p.name for p in data.iterdir()} if data.is_dir() else set()
    for name in names:
        if name.endswith(".part"):
            assert not complete, f"{name} left after a complete download"
            continue
        assert name in world.data, f"unexpected {name} in data/"
        assert sha256(data / name) == world.data[name][0], f"{name} in data/ is not the data release's"
    if complete:
        assert names == set(world.data)


def submissions(hub: Hub, workspace: Path) -> int:
    info = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    return len(hub.client(push_token=token).list_submissions("demo", info["userId"], info["projectName"]))


def env_of(hub: Hub, case: str) -> Dict[str, str]:
    extra = {"CRUNCH_UPLOAD_CHUNK_SIZE": str(CHUNK)}
    if case == "slow answer":
        extra["CRUNCH_TIMEOUT"] = str(SLOW_TIMEOUT)
    if case == "hub restarted":
        extra["CRUNCH_RETRY_BACKOFF"] = "0.5"  # the default: about 7 s of retries, the hub is back in 1-2 s
    return hub.env(**extra)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES)
def test_fault(world: World, case: str, command: str, tmp_path: Path) -> None:
    hub = world.hub
    fault = fault_of(world, case, command)
    env = env_of(hub, case)
    project = f"faults-{CASES.index(case)}-{COMMANDS.index(command)}"

    if command == "download":
        workspace = make_workspace(hub, tmp_path / "ws", project, code=False)
        result = run_with_fault(hub, ["download"], workspace, fault, env)
        got = outcome(result)
        assert_data_whole(world, workspace / "data", complete=got == "recovered")
        again = hub.run("download", cwd=workspace, env=hub.env())
        assert again.returncode == 0, again.output
        assert_data_whole(world, workspace / "data", complete=True)

    elif command == "clone":
        folder = tmp_path / "clone"

        def setup() -> Any:
            return ["setup", "demo", "cloned", folder, "--token", hub.token("demo", "cloned", "alice"), "--no-data"]

        result = run_with_fault(hub, setup(), tmp_path, fault, env)
        got = outcome(result)
        if got == "failed cleanly":
            assert not folder.exists(), "a failed setup left a workspace behind"
            again = hub.run(*setup(), cwd=tmp_path, env=hub.env())
            assert again.returncode == 0, again.output
        assert (folder / "main.py").read_bytes() == MAIN
        assert (folder / "resources" / "model.bin").read_bytes() == MODEL
        assert not (folder / ".crunchdao" / "setup-staging").exists()
        shutil.rmtree(folder)
        again = hub.run(*setup(), cwd=tmp_path, env=hub.env())  # the same command again
        assert again.returncode == 0, again.output
        assert (folder / "resources" / "model.bin").read_bytes() == MODEL

    else:  # chunk upload, submission: crunch push
        workspace = make_workspace(hub, tmp_path / "ws", project)
        result = run_with_fault(hub, ["push", "-m", "faults"], workspace, fault, env)
        got = outcome(result)
        if case == "slow answer":
            time.sleep(SLOW_DELAY)  # the request the client gave up on reaches the hub's code now
        assert submissions(hub, workspace) == (1 if got == "recovered" else 0), result.output
        assert hub.stats()["pendingUploads"] == 0, "an upload was left pending"
        if got == "recovered":
            assert "submission #1 successfully uploaded" in result.stdout, result.output
        again = push(hub, workspace)
        assert again.returncode == 0, again.output
        assert submissions(hub, workspace) == (2 if got == "recovered" else 1)
        assert hub.stats()["pendingUploads"] == 0

    RESULTS[(case, command)] = got
    assert got == expected(case, command), result.output
