"""The runner's process: its own session (process group), each output line passed on with the
time it was read, a time limit and a cancel request after which the whole group is killed,
so that no stray process outlives the run."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional

OnLine = Callable[[str, str, bool, float], None]  # (emitter, line, is_error, unix time)
GRACE_SECONDS = 2.0


@dataclass
class ProcessOutcome:
    exit_code: Optional[int]
    timed_out: bool = False
    cancelled: bool = False


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


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
        stdin=subprocess.DEVNULL, start_new_session=True,
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
        kill_group(process.pid, signal.SIGKILL)
        process.wait()
        raise
    kill_group(process.pid, signal.SIGKILL)  # whatever the runner left behind
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
            kill_group(process.pid, signal.SIGTERM)
            try:
                process.wait(GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                pass
            return
        time.sleep(0.05)
