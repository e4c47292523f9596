"""The calls only some systems have, each with its way on the others.

- Writing and reading at an offset of a file shared by threads: ``os.pwrite``/``os.pread``
  (Linux, macOS); elsewhere (Windows) a seek and a read or write, one thread at a time
  (:class:`PositionalFile`).
- A file lock that the system lets go when its process ends, however it ends: ``fcntl.flock``
  (through ``filelock``) on Linux and macOS, ``msvcrt.locking`` on Windows
  (:func:`file_lock`); a system with neither says so (:class:`NotOnThisSystemError`).
- The process tree of a job: its own session, killed as one process group (``os.killpg``) on
  Linux and macOS; on Windows its own process group (``CREATE_NEW_PROCESS_GROUP``) and
  ``taskkill /T`` for the tree; elsewhere the tree as the process table shows it
  (:func:`new_group`, :func:`kill_tree`). Without process groups, what a job leaves running
  after its own process ended is no longer its child and is not found.
- Signals: only those the system has (``SIGKILL`` and ``SIGTERM`` are not everywhere):
  :func:`signal_number`.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Optional

from ..exceptions import CrunchError


class NotOnThisSystemError(CrunchError):
    """Something crunch needs from the operating system that this one does not have."""


def signal_number(name: str) -> Optional[int]:
    """The number of the signal ``name`` (``"SIGTERM"``) on this system, or ``None``."""
    import signal

    value = getattr(signal, name, None)
    return None if value is None else int(value)


# -- at an offset -----------------------------------------------------------------------------


class PositionalFile:
    """Reads and writes at an offset of the open descriptor ``fd``, from any thread.

    With ``os.pwrite`` and ``os.pread`` (Linux, macOS) the threads never wait for each other
    and the descriptor's own position is not used; without them (Windows) each read or write
    seeks then reads or writes, under one lock. Which one is decided when it is made.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.native = hasattr(os, "pwrite") and hasattr(os, "pread")
        self._lock = threading.Lock()

    def write(self, data: Any, offset: int) -> int:
        """Write ``data`` (bytes or a memoryview) at ``offset``; returns the bytes written."""
        if self.native:
            return os.pwrite(self.fd, data, offset)
        with self._lock:
            os.lseek(self.fd, offset, os.SEEK_SET)
            return os.write(self.fd, data)

    def read(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer at the end of the file)."""
        if self.native:
            return os.pread(self.fd, size, offset)
        with self._lock:
            os.lseek(self.fd, offset, os.SEEK_SET)
            return os.read(self.fd, size)


# -- file locks -------------------------------------------------------------------------------


def _module(name: str) -> Any:
    """The module ``name`` when this system has it, else ``None``."""
    if name in sys.modules:
        return sys.modules[name]  # None when it was marked absent
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


class _WindowsLock:
    """An exclusive lock on the first byte of a file (``msvcrt.locking``), held by this
    descriptor: another descriptor, even of this process, cannot take it, and the system lets
    it go when the process ends. The same calls as ``filelock.FileLock``."""

    def __init__(self, path: str, timeout: float = -1) -> None:
        self.lock_file = path
        self.timeout = timeout
        self.fd: Optional[int] = None

    @property
    def is_locked(self) -> bool:
        return self.fd is not None

    def acquire(self, timeout: Optional[float] = None) -> "_WindowsLock":
        from filelock import Timeout

        msvcrt = _module("msvcrt")
        wait = self.timeout if timeout is None else timeout
        deadline = None if wait < 0 else time.monotonic() + wait
        while self.fd is None:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
            fd = os.open(self.lock_file, flags, 0o644)
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                os.close(fd)
                if deadline is not None and time.monotonic() >= deadline:
                    raise Timeout(self.lock_file) from None
                time.sleep(0.05)
            else:
                self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        msvcrt = _module("msvcrt")
        fd, self.fd = self.fd, None
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass  # closing the descriptor lets it go as well
        finally:
            os.close(fd)

    def __enter__(self) -> "_WindowsLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def file_lock(path: str, timeout: float = -1) -> Any:
    """A lock on the file ``path`` that the system lets go when its process ends (even killed):
    ``acquire()`` (``filelock.Timeout`` when not taken within ``timeout`` seconds; ``-1``
    waits), ``release()``. ``fcntl.flock`` where the system has it, else ``msvcrt.locking``;
    :class:`NotOnThisSystemError` on a system with neither."""
    if _module("fcntl") is not None:
        from filelock import FileLock

        return FileLock(path, timeout=timeout)
    if _module("msvcrt") is not None:
        return _WindowsLock(path, timeout=timeout)
    raise NotOnThisSystemError("file locks are not available on this system (it has neither fcntl nor msvcrt)")


# -- process trees ----------------------------------------------------------------------------


def has_process_groups() -> bool:
    """Whether a child can get its own session and be killed as one process group."""
    return hasattr(os, "setsid") and hasattr(os, "killpg")


def new_group() -> Dict[str, Any]:
    """The ``subprocess.Popen`` arguments that give the child a group of its own, which
    :func:`kill_tree` then kills: a new session on Linux and macOS, a new process group on
    Windows, nothing elsewhere."""
    if has_process_groups():
        return {"start_new_session": True}
    if sys.platform == "win32":
        return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}
    return {}


def kill_tree(pid: int, force: bool = True) -> None:
    """Stop the process ``pid`` started with :func:`new_group`, and what it started: killed
    (``force``) or asked to stop (``SIGTERM`` where there is one). Nothing is said when it is
    already gone."""
    if has_process_groups():
        sig = signal_number("SIGKILL" if force else "SIGTERM") or signal_number("SIGTERM")
        try:
            os.killpg(pid, sig)  # type: ignore[arg-type]
        except (ProcessLookupError, PermissionError):
            pass
        return
    if sys.platform == "win32":
        _taskkill(pid, force)
        return
    sig = signal_number("SIGKILL" if force else "SIGTERM") or signal_number("SIGTERM") or 9
    tree = [pid, *_descendants(pid)]  # found before the first is killed: its children are then no longer its own
    for member in tree:
        try:
            os.kill(member, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _taskkill(pid: int, force: bool) -> None:
    command = ["taskkill", "/PID", str(pid), "/T", *(["/F"] if force else [])]
    try:
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):  # no taskkill: the process itself at least
        if force:
            try:
                os.kill(pid, signal_number("SIGTERM") or 15)  # TerminateProcess on Windows
            except OSError:
                pass


def _parents() -> Dict[int, int]:
    """Each process's parent, from ``/proc`` or else ``ps``; empty when neither can say."""
    parents: Dict[int, int] = {}
    if os.path.isdir("/proc"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    stat = handle.read()
                # the name in parentheses may hold spaces: the fields after its last ")"
                parents[int(name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        if parents:
            return parents
    try:
        listing = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "ppid="], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return parents
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0].isdigit() and fields[1].isdigit():
            parents[int(fields[0])] = int(fields[1])
    return parents


def _descendants(pid: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found: List[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found and child != pid:
                found.append(child)
                todo.append(child)
    return found
