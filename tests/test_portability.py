"""The code that uses calls only some systems have (crunch/core/portable.py), run with those
calls absent as on Windows: ``os.pwrite``/``os.pread``, ``fcntl``, process groups
(``os.setsid``, ``os.killpg``) and ``SIGKILL``. A ranged download, the lock of a run's
folder and a job past its time limit still do their work; what has no way at all says so.

On Windows the same tests run against the system's own calls (``msvcrt``, ``taskkill``).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator

import filelock  # noqa: F401 - imported with fcntl there: its choice of lock stays that of this system
import pytest

from crunch.core import portable

WINDOWS = sys.platform == "win32"
KILL = getattr(signal, "SIGKILL", None)  # taken before the tests hide it


def _stand_in_msvcrt() -> types.ModuleType:
    """``msvcrt.locking`` for a system that has none: a lock held by one descriptor, that
    another descriptor (of this process or another) cannot take, let go when the descriptor
    is closed, as on Windows (built on the system's ``flock``, taken before ``fcntl`` is hidden)."""
    import fcntl

    module = types.ModuleType("msvcrt")
    module.LK_NBLCK, module.LK_UNLCK = 2, 0  # type: ignore[attr-defined]

    def locking(fd: int, mode: int, size: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_UN if mode == module.LK_UNLCK else fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[attr-defined]
        except BlockingIOError:
            raise PermissionError(13, "Permission denied") from None

    module.locking = locking  # type: ignore[attr-defined]
    return module


@pytest.fixture
def without_posix(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as on Windows: no pwrite/pread, no fcntl, no process groups, no SIGKILL."""
    if not WINDOWS:
        monkeypatch.setitem(sys.modules, "msvcrt", _stand_in_msvcrt())
    monkeypatch.setitem(sys.modules, "fcntl", None)
    for name in ("pwrite", "pread", "setsid", "killpg", "getpgid"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.delattr(signal, "SIGKILL", raising=False)


# -- a ranged download ------------------------------------------------------------------------


class _Files(BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes), honouring ``Range``; counts the bytes sent."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.server.files.get(self.path)  # type: ignore[attr-defined]
        if body is None:
            self.send_error(404)
            return
        start, end = 0, len(body) - 1
        asked = self.headers.get("Range")
        if asked:
            first, _, last = asked.split("=", 1)[1].partition("-")
            start, end = int(first), min(int(last), len(body) - 1) if last else len(body) - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(body[start : end + 1])
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.served += end - start + 1  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def file_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    server.daemon_threads = True
    server.files: Dict[str, bytes] = {}  # type: ignore[misc]
    server.served = 0  # type: ignore[attr-defined]
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_ranged_download_writes_its_pieces_without_pwrite(without_posix, file_server, tmp_path, monkeypatch):
    from crunch.transfer import ranges
    from crunch.transfer.download import Downloader, Remote

    assert not hasattr(os, "pwrite") and not hasattr(os, "pread")
    body = os.urandom(3 << 20)
    sha = hashlib.sha256(body).hexdigest()
    file_server.files["/x.bin"] = body
    url = f"http://127.0.0.1:{file_server.server_port}/x.bin"
    monkeypatch.setenv(ranges.PIECE_VARIABLE, str(256 << 10))  # twelve pieces on four connections
    made = []
    real = ranges.PositionalFile
    monkeypatch.setattr(ranges, "PositionalFile", lambda fd: made.append(real(fd)) or made[-1])

    outcome = Downloader(connections=4, chunk_size=16 << 10).fetch(Remote("x.bin", url, len(body), sha), tmp_path)
    assert outcome.status == "downloaded"
    assert (tmp_path / "x.bin").read_bytes() == body
    assert [file.native for file in made] == [False]  # the seek-and-write way
    assert file_server.served == len(body)

    # a part whose first half is whole: only the other half is asked, the first is read back to be hashed
    (tmp_path / "x.bin").unlink()
    part = tmp_path / "x.bin.part"
    half = len(body) // 2
    part.write_bytes(body[:half])
    ranges.save_done(part, len(body), sha, [(0, half)])
    file_server.served = 0
    outcome = Downloader(connections=4, chunk_size=16 << 10).fetch(Remote("x.bin", url, len(body), sha), tmp_path)
    assert (tmp_path / "x.bin").read_bytes() == body
    assert file_server.served == len(body) - half
    assert not part.exists()


def test_positional_file_reads_and_writes_at_offsets_from_threads_without_pwrite(without_posix, tmp_path):
    path = tmp_path / "f.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0))
    try:
        file = portable.PositionalFile(fd)
        assert not file.native
        blocks = [bytes([n]) * 4096 for n in range(64)]

        def write(n: int) -> None:
            assert file.write(blocks[n], n * 4096) == 4096

        threads = [threading.Thread(target=write, args=(n,)) for n in reversed(range(64))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert file.read(4096, 7 * 4096) == blocks[7]
        assert file.read(10_000, 63 * 4096) == blocks[63]  # fewer at the end of the file
    finally:
        os.close(fd)
    assert path.read_bytes() == b"".join(blocks)


# -- the lock of a run's folder ---------------------------------------------------------------

HOLDER = """
import sys
from pathlib import Path
from crunch.project.leftovers import run_folder
with run_folder(Path(sys.argv[1])) as folder:
    print(folder, flush=True)
    sys.stdin.read()
"""


def test_a_run_folder_is_locked_without_fcntl(without_posix, tmp_path):
    from crunch.project.leftovers import LOCK_SUFFIX, run_folder, sweep_run_folders

    assert isinstance(portable.file_lock(str(tmp_path / "probe.lock")), portable._WindowsLock)
    parent = tmp_path / "converted"
    # another process's run (the system's own lock there): kept while it lasts, removed once it is killed
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(parent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        theirs = Path(holder.stdout.readline().strip())
        assert theirs.is_dir()
        assert sweep_run_folders(parent) == []
        with run_folder(parent) as mine:
            assert mine.is_dir() and mine != theirs
            assert sweep_run_folders(parent) == []  # this process holds it: a second descriptor cannot take it
            assert mine.is_dir() and theirs.is_dir()
        assert not mine.exists() and not mine.with_name(mine.name + LOCK_SUFFIX).exists()
        assert theirs.is_dir()
    finally:
        if KILL is None:
            holder.kill()  # TerminateProcess
        else:
            os.kill(holder.pid, KILL)  # nothing of it runs: the system lets its lock go
        holder.communicate()
    assert sweep_run_folders(parent) == [theirs.name]
    assert not theirs.exists() and not theirs.with_name(theirs.name + LOCK_SUFFIX).exists()


def test_a_system_without_file_locks_says_so_in_one_line(without_posix, monkeypatch, tmp_path):
    from crunch.exceptions import CrunchError
    from crunch.project.leftovers import run_folder

    monkeypatch.setitem(sys.modules, "msvcrt", None)
    with pytest.raises(CrunchError) as raised:
        with run_folder(tmp_path / "converted"):
            pass
    assert isinstance(raised.value, portable.NotOnThisSystemError)
    assert str(raised.value) == "file locks are not available on this system (it has neither fcntl nor msvcrt)"


# -- a job past its time limit ----------------------------------------------------------------


def _running(pid: int) -> bool:
    """Whether the process ``pid`` still runs (a zombie does not)."""
    if WINDOWS:
        listing = subprocess.run(["tasklist", "/FI", f"PID eq {pid}", "/NH"], capture_output=True, text=True).stdout
        return str(pid) in listing.split()
    status = Path(f"/proc/{pid}/status")
    if Path("/proc/self/status").exists():
        try:
            return "zombie" not in status.read_text().lower()
        except (FileNotFoundError, ProcessLookupError):
            return False
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()
    return bool(state) and not state.startswith("Z")


def test_a_job_past_its_time_limit_is_stopped_with_its_children_without_process_groups(without_posix, tmp_path):
    from crunch.jobs.process import run_process

    assert portable.new_group() == ({"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP} if WINDOWS else {})
    script = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('child', p.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    lines = []
    started = time.monotonic()
    outcome = run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env=dict(os.environ),
        on_line=lambda emitter, line, error, at: lines.append(line), timeout=3,
    )
    assert outcome.timed_out and time.monotonic() - started < 30
    assert outcome.exit_code not in (0, None)
    child = int(next(line for line in lines if line.startswith("child")).split()[1])
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)


def test_a_job_that_ends_on_its_own_keeps_its_exit_code_without_process_groups(without_posix, tmp_path):
    from crunch.jobs.process import run_process

    lines = []
    outcome = run_process(
        [sys.executable, "-c", "print('done'); raise SystemExit(3)"], cwd=tmp_path, env=dict(os.environ),
        on_line=lambda emitter, line, error, at: lines.append(line), timeout=60,
    )
    assert (outcome.exit_code, outcome.timed_out, lines) == (3, False, ["done"])


# -- signals ----------------------------------------------------------------------------------


def test_stopping_signals_are_handled_only_where_the_system_has_them(monkeypatch):
    from crunch.core import interrupts

    installed = {}
    monkeypatch.setattr(signal, "signal", lambda number, handler: installed.setdefault(number, handler))
    monkeypatch.delattr(signal, "SIGTERM")
    monkeypatch.delattr(signal, "SIGBREAK", raising=False)
    monkeypatch.setattr(interrupts, "_received", None)
    interrupts.install()
    assert installed == {}
    assert interrupts.exit_code() == interrupts.SIGINT_EXIT


def test_the_exit_code_names_the_signal_that_stopped_the_command(monkeypatch):
    from crunch.core import interrupts

    installed = {}
    monkeypatch.setattr(signal, "signal", lambda number, handler: installed.setdefault(number, handler))
    monkeypatch.setattr(interrupts, "_received", None)
    interrupts.install()
    assert set(installed) == {getattr(signal, name) for name in interrupts.STOPPING if hasattr(signal, name)}
    with pytest.raises(interrupts.Terminated):
        installed[signal.SIGTERM](signal.SIGTERM, None)
    assert interrupts.exit_code() == 143


IMPORTS = """
import os, signal, sys
for name in ("pwrite", "pread", "setsid", "killpg", "getpgid"):
    if hasattr(os, name):
        delattr(os, name)
for name in ("SIGKILL", "SIGTERM", "SIGBREAK"):
    if hasattr(signal, name):
        delattr(signal, name)
sys.modules["fcntl"] = None
import crunch.cli, crunch.commands.hub_serve, crunch.core.interrupts, crunch.jobs.process
import crunch.jobs.environment, crunch.project.leftovers, crunch.transfer.ranges
crunch.core.interrupts.install()
print("imported")
"""


def test_the_modules_import_on_a_system_without_the_posix_calls():
    result = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout.strip()) == (0, "imported"), result.stderr
