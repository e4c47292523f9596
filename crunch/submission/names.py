"""File names a submission may hold: checked before the first upload, so that the hub never
refuses a push halfway.

The hub takes a relative ``/``-separated path without ``..`` and without a backslash; the
platform runs on Linux and shows the names in a browser, so a name must also be valid UTF-8
(a file system can hold any bytes) and free of control characters (tabs, newlines, escapes).
"""

from __future__ import annotations

import unicodedata
from typing import Iterable, Optional

from ..core.display import shown  # noqa: F401 - also the name others import from here
from ..exceptions import SubmissionError


def problem(name: str) -> Optional[str]:
    """Why the hub or the platform would refuse the submission path ``name``, or ``None``."""
    if not name or name.startswith("/"):
        return "it is not a relative path"
    if "\\" in name:
        return "it holds a backslash, which the hub refuses"
    if any(0xD800 <= ord(char) <= 0xDFFF for char in name):
        return "it is not valid UTF-8 (the file system holds bytes no text can name)"
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "it holds a control character (a tab, a newline, an escape...)"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "it has an empty, '.' or '..' part"
    return None


def check_names(code: Iterable[str], model: Iterable[str]) -> None:
    """Raise :class:`SubmissionError` naming the first path of the submission that would be refused."""
    for names, advice in ((code, "rename it, or add it to .gitignore"), (model, "rename or remove it")):
        for name in names:
            reason = problem(name)
            if reason is not None:
                raise SubmissionError(f"cannot send the file '{shown(name)}': {reason}; {advice} (nothing was sent)")
