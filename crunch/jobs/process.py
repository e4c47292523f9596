"""The runner's process: its own session (process group), each output line passed on with the
time it was read, a time limit and a cancel request after which the whole group is killed,
so that no stray process outlives the run. On systems without process groups, the tree of
processes it started (see :mod:`crunch.core.portable`)."""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..core.portable import has_process_groups, kill_tree, new_group

OnLine = Callable[[str, str, bool, float], None]  # (emitter, line, is_error, unix time)
GRACE_SECONDS = 2.0


@dataclass
class ProcessOutcome:
    exit_code: Optional[int]
    timed_out: bool = False
    cancelled: bool = False


def kill_group(pid: int, force: bool = True) -> None:
    """Kill (``force``: SIGKILL) or ask to stop (SIGTERM) the group of the process ``pid``
    started by :func:`run_process`: its process group, or its tree where there are none."""
    kill_tree(pid, force=force)


def _kill_left(process: "subprocess.Popen[bytes]") -> None:
    """Kill what is left of the group of ``process``. Without process groups, its tree is
    found through its first process only while that one runs (its number is not asked
    about once it ended: another process may have it by then)."""
    if has_process_groups() or process.poll() is None:
        kill_group(process.pid)


def run_process(
    command: List[str],
    *,
    cwd: Path,
    env: Dict[str, str],
    on_line: OnLine,
    timeout: Optional[float] = None,
    cancelled: Callable[[], bool] = lambda: False,
    emitter: str = "user-code",
    on_start: Optional[Callable[[int], None]] = None,
) -> ProcessOutcome:
    """Run ``command``; ``on_start`` gets the id of its process group (to kill it from outside)."""
    process = subprocess.Popen(
        command, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, **new_group(),
    )
    if on_start is not None:
        on_start(process.pid)

    def pump(stream: object, error: bool) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            on_line(emitter, raw.decode("utf-8", errors="replace").rstrip("\r\n"), error, time.time())

    readers = [
        threading.Thread(target=pump, args=(process.stdout, False), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, True), daemon=True),
    ]
    for reader in readers:
        reader.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    outcome = ProcessOutcome(exit_code=None)
    try:
        _watch(process, outcome, deadline, cancelled)
    except BaseException:  # Ctrl-C or a stopping hub: the group (in its own session) goes too
        _kill_left(process)
        process.wait()
        raise
    _kill_left(process)  # whatever the runner left behind
    process.wait()
    for reader in readers:
        reader.join(timeout=5)
    outcome.exit_code = process.returncode
    return outcome


def _watch(process: "subprocess.Popen[bytes]", outcome: ProcessOutcome, deadline: Optional[float], cancelled: Callable[[], bool]) -> None:
    while process.poll() is None:
        if deadline is not None and time.monotonic() > deadline:
            outcome.timed_out = True
        elif cancelled():
            outcome.cancelled = True
        if outcome.timed_out or outcome.cancelled:
            kill_group(process.pid, force=False)
            try:
                process.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            return
        time.sleep(0.05)
