"""Shared measuring helpers for the benchmarks: wall time and peak memory of a whole process."""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

REPOSITORY = Path(__file__).resolve().parent.parent
#: The measuring tools kept beside the repository (``../shared/tools``), or ``CRUNCH_SHARED_TOOLS``.
TOOLS = Path(os.environ.get("CRUNCH_SHARED_TOOLS") or REPOSITORY.parent / "shared" / "tools")


def peer_executable(distribution: str, version: str, executable: str) -> str:
    """An executable of a public tool installed from the registry into the tests' cached
    environment of that version (installed on first use, see tests/peers.py)."""
    import sys

    sys.path.insert(0, str(REPOSITORY / "tests"))
    from peers import peer_environment

    return str(peer_environment(distribution, version) / "bin" / executable)


@dataclass
class Run:
    wall: float  # seconds
    peak_mib: float  # maximum resident set size of the process
    returncode: int
    stdout: str = ""
    stderr: str = ""
    cpu: float = 0.0  # seconds of user plus system time of the process (its own threads included)


def measure(cmd: Sequence[str], *, cwd: Optional[str] = None, env: Optional[dict] = None, stdin=subprocess.DEVNULL) -> Run:
    """Run ``cmd`` once; wall time from start to exit, peak RSS from the kernel (wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # read both pipes without blocking the child, then reap it with its resource usage
    chunks = {"out": [], "err": []}

    def pump(stream, key):
        for block in iter(lambda: stream.read(65536), b""):
            chunks[key].append(block)

    threads = [threading.Thread(target=pump, args=(process.stdout, "out")), threading.Thread(target=pump, args=(process.stderr, "err"))]
    for thread in threads:
        thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    for thread in threads:
        thread.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    out = b"".join(chunks["out"]).decode(errors="replace")
    err = b"".join(chunks["err"]).decode(errors="replace")
    return Run(wall, usage.ru_maxrss / 1024, process.returncode, out, err, usage.ru_utime + usage.ru_stime)


def median_runs(cmd: Sequence[str], repeat: int, **kwargs) -> List[Run]:
    return [measure(cmd, **kwargs) for _ in range(repeat)]


def summary(runs: List[Run]) -> tuple:
    return statistics.median(r.wall for r in runs), statistics.median(r.peak_mib for r in runs)


_HUBS: dict = {}  # the API URL of a local hub -> its root (where its admin secret is kept)


def remember_hub(url: str, root: Path) -> None:
    """Note the root of the hub answering at ``url``, for :func:`admin_headers`."""
    _HUBS[url.rstrip("/") + "/"] = Path(root)


def admin_headers(url: str) -> dict:
    """The headers of an admin call to the local hub at ``url``: JSON, and the hub's admin secret
    (kept in its root, see crunch.hub.guard)."""
    root = _HUBS[url.rstrip("/") + "/"]
    secret = (root / "admin-secret").read_text(encoding="utf-8").strip()
    return {"Content-Type": "application/json", "X-Crunch-Hub-Secret": secret}
