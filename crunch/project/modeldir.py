"""Where model files may live, and which folders of a workspace are never sent.

The model directory is a folder inside the workspace, outside the folders crunch keeps for
itself: ``.crunchdao/`` (the push token and the caches), ``data/`` (the competition's data)
and ``.crunch-hub/`` (a local hub's store). The same rule holds wherever the folder is given
(``crunch setup``, ``crunch push``, ``crunch test``, ``modelDirectory`` in ``project.json``)
and whatever path leads to it: symbolic links are followed, names are compared without case.

:class:`Protected` tells whether a file or folder reached by any path (a link, a hard link, a
nested folder) is one of ``.crunchdao/``'s, so that a push never sends it.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from typing import Optional, Set, Tuple, Type

from ..core.fsutil import PathLike
from ..exceptions import ConfigurationError, CrunchError

SECRET_PREFIX = ".crunchdao"  # .crunchdao/, and the .crunchdao.previous-*/ a --force setup sets aside
RESERVED = {
    ".crunchdao": "it holds your push token",
    "data": "it holds the competition's data, which is never sent",
    ".crunch-hub": "it holds the local hub's store",
}


def _reserved_reason(first: str) -> Optional[Tuple[str, str]]:
    folded = first.casefold()
    if folded.startswith(SECRET_PREFIX):
        return first, RESERVED[SECRET_PREFIX]
    for name, reason in RESERVED.items():
        if folded == name:
            return first, reason
    return None


def check_name(
    value: object,
    *,
    given_as: str = "the model directory",
    error: Type[CrunchError] = ConfigurationError,
) -> str:
    """``value`` as a clean relative POSIX path, or ``error``, judged by its text alone.

    Refused: anything that is not a non-empty relative path without ``..``, and a folder
    inside ``.crunchdao/``, ``data/`` or ``.crunch-hub/`` (names compared without case).
    """
    if not isinstance(value, str):
        raise error(f"{given_as} must be a folder name such as resources, not {value!r}")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        from ..core.display import shown

        raise error(f"{given_as} '{shown(value)}' holds a control character or bytes that are not UTF-8: give a plain folder name, such as resources")
    text = value.replace("\\", "/").strip()
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if not parts or text.startswith("/") or os.path.isabs(value) or ".." in parts or (len(text) > 1 and text[1] == ":"):
        raise error(f"{given_as} {value!r} must be a folder inside the workspace, such as resources")
    clean = "/".join(parts)
    reserved = _reserved_reason(parts[0])
    if reserved is not None:
        name, reason = reserved
        raise error(f"{given_as} {value!r} is inside {name}/ ({reason}): give a folder of your own, such as resources")
    return clean


def check(
    root: PathLike,
    value: object,
    *,
    given_as: str = "the model directory",
    error: Type[CrunchError] = ConfigurationError,
) -> str:
    """``value`` as a clean POSIX path relative to the workspace at ``root``, or ``error``:
    :func:`check_name`, then where the folder's links lead (outside the workspace, or into
    one of the folders it cannot be in)."""
    clean = check_name(value, given_as=given_as, error=error)
    base = Path(root)
    real_root = os.path.realpath(base)
    real = os.path.realpath(base / clean)  # links followed as far as the path exists
    if not _within(real, real_root):
        raise error(f"{given_as} {value!r} leads outside the workspace (to {real}): give a folder inside it, such as resources")
    relative = Path(os.path.relpath(real, real_root)).parts
    if relative and relative != (".",):
        reserved = _reserved_reason(relative[0])
        if reserved is not None:
            name, reason = reserved
            raise error(f"{given_as} {value!r} leads into {name}/ ({reason}): give a folder of your own, such as resources")
    if real == real_root:
        raise error(f"{given_as} {value!r} leads to the workspace itself: give a folder inside it, such as resources")
    protected = Protected(base)
    if protected.holds(real):
        raise error(f"{given_as} {value!r} leads into .crunchdao/ (it holds your push token): give a folder of your own, such as resources")
    return clean


def _within(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive (Windows)
        return False


def _identity(path: PathLike) -> Optional[Tuple[int, int]]:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    if not info.st_ino:  # a file system without inode numbers: identity tells nothing there
        return None
    return info.st_dev, info.st_ino


class Protected:
    """The folders and files of a workspace's ``.crunchdao*/`` folders, known by identity
    (device and inode): a path reaching one of them, through links, hard links or a name in
    another case, is recognised."""

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root)
        self.folders: Set[Tuple[int, int]] = set()
        self.files: Set[Tuple[int, int]] = set()
        self.real_folders: Set[str] = set()
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            entries = []
        for entry in entries:
            if not entry.name.casefold().startswith(SECRET_PREFIX):
                continue
            identity = _identity(entry.path)
            if identity is None:
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                self.files.add(identity)
                continue
            self.folders.add(identity)
            self.real_folders.add(os.path.realpath(entry.path))
            for folder, dirs, files in os.walk(entry.path):
                for name in dirs:
                    found = _identity(os.path.join(folder, name))
                    if found is not None:
                        self.folders.add(found)
                for name in files:
                    found = _identity(os.path.join(folder, name))
                    if found is not None:
                        self.files.add(found)

    def holds(self, path: PathLike) -> bool:
        """Whether ``path`` (links followed) is, or lies inside, a ``.crunchdao*/`` folder."""
        real = os.path.realpath(path)
        if any(_within(real, folder) for folder in self.real_folders):
            return True
        identity = _identity(real)
        if identity is not None and (identity in self.files or identity in self.folders):
            return True
        # a name in another case on a case-insensitive file system: compare the folders above
        parent = Path(real).parent
        real_root = os.path.realpath(self.root)
        while _within(str(parent), real_root) and str(parent) != real_root:
            if _identity(parent) in self.folders:
                return True
            parent = parent.parent
        return False


def lands_in_secret_folder(root: PathLike, relative: str, protected: Optional[Protected] = None) -> bool:
    """Whether writing ``relative`` under ``root`` would land in a ``.crunchdao*/`` folder: by
    its first part (in any case), or through a link of the workspace leading there."""
    first = str(relative).replace("\\", "/").lstrip("/").split("/", 1)[0]
    if first.casefold().startswith(SECRET_PREFIX):
        return True
    return (protected or Protected(root)).holds(Path(root, relative))
