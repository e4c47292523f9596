"""Names of the files a download writes: two entries must never land on one file.

Two names are the same file when they are equal once normalised: ``./X`` is ``X``, names that
differ only by case are one file on macOS and Windows, and the two unicode spellings of an
accented letter (NFC, NFD) are one file on macOS. A name that is also the folder of another
(``lib`` and ``lib/x.py``) cannot be written either. Such a list is refused before anything is
written: otherwise two transfers share one ``.part`` and one file's bytes can end up under the
other's name.
"""

from __future__ import annotations

import posixpath
import unicodedata
from typing import Dict, Iterable, Tuple

from ..exceptions import UnsafePathError


def same_file_key(name: str) -> str:
    """What ``name`` is on the most forgiving file system: normalised, unicode NFC, no case."""
    text = posixpath.normpath(str(name).replace("\\", "/"))
    return unicodedata.normalize("NFC", text).casefold()


def check_distinct(entries: Iterable[Tuple[str, str]], what: str, advice: str) -> None:
    """Refuse ``entries`` (label, name) when two of them name one file, or a file is also a
    folder of another; the error names both entries."""
    files: Dict[str, Tuple[str, str]] = {}
    folders: Dict[str, Tuple[str, str]] = {}
    for label, name in entries:
        key = same_file_key(name)
        other = files.get(key) or folders.get(key)
        if other is None:
            parts = key.split("/")
            for depth in range(1, len(parts)):
                other = files.get("/".join(parts[:depth]))
                if other is not None:
                    break
        if other is not None:
            raise UnsafePathError(
                f"{what} names one file twice: {_shown(*other)} and {_shown(label, name)} would be written to the "
                f"same place (names differing only by case or unicode form are one file on many systems); "
                f"nothing was written: {advice}"
            )
        files[key] = (label, name)
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]), (label, name))


def _shown(label: str, name: str) -> str:
    return f"{name!r}" if label == name else f"{label} ({name!r})"
