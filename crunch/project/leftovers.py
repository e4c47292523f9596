"""Files a command writes into the workspace for its own time only (the conversion of a
notebook for a push), recorded so that a run killed before removing them (``SIGKILL``, a power
cut) does not leave them to be taken for the person's own files.

While the files exist, ``.crunchdao/temporary-<pid>.json`` lists them with their sha256. The
next ``crunch test`` or ``crunch push`` (through :func:`crunch.code.mainfile.resolve`) removes the
files of a record whose process is gone, when they are still what was written: a file the
person has edited since is theirs and is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator, List

from ..core.fsutil import read_bytes, write_json_atomic

DOT_DIR = ".crunchdao"
PREFIX = "temporary-"


def _record_path(root: Path, pid: int) -> Path:
    return root / DOT_DIR / f"{PREFIX}{pid}.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_bytes(path)).hexdigest()


def record(root: Path, paths: Iterable[Path]) -> None:
    """Remember ``paths`` (files under ``root``) as this process's temporary files."""
    files = {}
    for path in paths:
        try:
            files[Path(os.path.relpath(path, root)).as_posix()] = _sha256(Path(path))
        except (OSError, ValueError):
            continue
    if files and (root / DOT_DIR).is_dir():
        write_json_atomic(_record_path(root, os.getpid()), {"pid": os.getpid(), "files": files})


def release(root: Path) -> None:
    """This process removed its temporary files itself: forget them."""
    try:
        _record_path(root, os.getpid()).unlink()
    except OSError:
        pass


def _alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # no cheap check there: never remove anything
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process
    return True


def sweep(root: Path) -> List[str]:
    """Remove the files left by runs that were killed; returns their paths (relative to ``root``)."""
    removed: List[str] = []
    folder = root / DOT_DIR
    try:
        records = sorted(folder.glob(f"{PREFIX}*.json"))
    except OSError:
        return removed
    for path in records:
        try:
            data = json.loads(read_bytes(path))
            pid, files = int(data["pid"]), dict(data["files"])
        except Exception:  # noqa: BLE001 - a damaged record is dropped, it names nothing to trust
            data, pid, files = None, -1, {}
        if data is not None and (pid == os.getpid() or _alive(pid)):
            continue
        for relative, sha in files.items():
            target = root / relative
            try:
                if target.is_file() and not target.is_symlink() and _sha256(target) == sha:
                    target.unlink()
                    removed.append(str(relative))
            except (OSError, ValueError):
                continue
        try:
            path.unlink()
        except OSError:
            pass
    return removed


# -- folders of one run -----------------------------------------------------------------------
#
# A run's folder (``.crunchdao/converted/run-XXXX/``: a notebook converted for one `crunch test`)
# is locked for the whole run through the file beside it (``run-XXXX.lock``), taken *before* the
# folder is made. A folder whose lock can be taken belongs to a run that is over (its process
# ended, even by SIGKILL, and the system let the lock go): the next run removes it. A running
# run's lock cannot be taken, so two runs at once in one workspace never remove each other's.
# The lock is one the system lets go when its process ends (``fcntl.flock`` on Linux and macOS,
# ``msvcrt.locking`` on Windows: :func:`crunch.core.portable.file_lock`); a system with neither
# says so. Windows does not remove a file that is open: there the lock file goes once let go.

LOCK_SUFFIX = ".lock"
ORPHAN_LOCK_AGE = 3600.0  # seconds: a lock file with no folder (a run killed between the two) this old is removed


def _try_lock(path: Path) -> Any:
    """The lock at ``path`` taken without waiting, or ``None`` when another process holds it."""
    from filelock import Timeout

    from ..core.portable import file_lock

    lock = file_lock(str(path), timeout=0)
    try:
        lock.acquire()
    except (Timeout, OSError):
        return None
    return lock


def sweep_run_folders(parent: Path) -> List[str]:
    """Remove the folders under ``parent`` of runs that are over; returns their names."""
    import shutil
    import time

    removed: List[str] = []
    try:
        entries = sorted(parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if entry.name.endswith(LOCK_SUFFIX):
            folder = entry.with_name(entry.name[: -len(LOCK_SUFFIX)])
            try:
                old = time.time() - entry.stat().st_mtime > ORPHAN_LOCK_AGE
            except OSError:
                continue
            if old and not folder.exists():
                lock = _try_lock(entry)
                if lock is not None:
                    _remove_lock(entry, lock)
            continue
        if not entry.is_dir() or entry.is_symlink():
            continue
        lock_path = entry.with_name(entry.name + LOCK_SUFFIX)
        lock = _try_lock(lock_path)
        if lock is None:
            continue  # a run still going
        try:
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry.name)
        finally:
            _remove_lock(lock_path, lock)
    return removed


def _remove_lock(path: Path, lock: Any) -> None:
    """Remove the lock file ``path`` and let ``lock`` go: removed while held where the system
    allows it (nobody takes it in between), else (Windows) once let go."""
    try:
        path.unlink()
        held = True
    except OSError:
        held = False
    lock.release()
    if not held:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def run_folder(parent: Path, prefix: str = "run-") -> Iterator[Path]:
    """A fresh folder under ``parent`` for this run, locked while the run lasts and removed
    after it; the folders of runs that are over (killed ones) are removed first."""
    import shutil
    import tempfile

    sweep_run_folders(parent)
    for _ in range(5):  # another run that ended may remove ``parent`` (when empty) meanwhile
        parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=LOCK_SUFFIX, dir=parent)
        except FileNotFoundError:
            continue
        os.close(fd)
        break
    else:
        raise FileNotFoundError(2, "the folder keeps disappearing", str(parent))
    lock_path = Path(name)
    from ..core.portable import file_lock

    lock = file_lock(str(lock_path))
    lock.acquire()
    folder = lock_path.with_name(lock_path.name[: -len(LOCK_SUFFIX)])
    try:
        folder.mkdir()
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        _remove_lock(lock_path, lock)
        with contextlib.suppress(OSError):
            parent.rmdir()  # only when no other run uses it
