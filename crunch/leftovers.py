"""Files a command writes into the workspace for its own time only (the conversion of a
notebook for a push), recorded so that a run killed before removing them (``SIGKILL``, a power
cut) does not leave them to be taken for the person's own files.

While the files exist, ``.crunchdao/temporary-<pid>.json`` lists them with their sha256. The
next ``crunch test`` or ``crunch push`` (through :func:`crunch.mainfile.resolve`) removes the
files of a record whose process is gone, when they are still what was written: a file the
person has edited since is theirs and is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Iterable, List

from .fsutil import read_bytes, write_json_atomic

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
