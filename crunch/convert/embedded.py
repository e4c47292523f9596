"""Files embedded in markdown cells: a ``---`` YAML front matter with ``file:``, then the content.

```
---
file: docs/notes.md
---
Anything here becomes docs/notes.md
```
"""

from __future__ import annotations

import os
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, List, Optional

from ..exceptions import ConversionError

DIVIDER = "---"
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class EmbeddedFile:
    path: str  # as written in the cell
    normalized_path: str  # relative, "/"-separated
    content: str


def read_markdown(lines: List[str], describe: Callable[[], str]) -> Optional[EmbeddedFile]:
    """The file a markdown cell embeds, or ``None`` when it does not start with front matter."""
    if not lines or lines[0] != DIVIDER:
        return None
    header: List[str] = []
    closed_at = None
    for number, line in enumerate(lines[1:], start=1):
        if not line.strip():
            return None  # a blank line: not front matter
        if line == DIVIDER:
            closed_at = number
            break
        header.append(line)
    if closed_at is None:
        return None

    import yaml

    try:
        configuration = yaml.safe_load("\n".join(header))
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ConversionError(f"{describe()}: the front matter is not valid YAML: {reason}") from None
    if not isinstance(configuration, dict):
        raise ConversionError(f"{describe()}: the front matter must be a mapping with a `file:` key")
    path = configuration.get("file")
    if not isinstance(path, str) or not path.strip():
        raise ConversionError(f"{describe()}: the front matter has no `file:` naming the file to embed")
    normalized = normalize(path, describe)
    content = "\n".join(lines[closed_at + 1 :]).strip()
    return EmbeddedFile(path, normalized, content)


def normalize(path: str, describe: Callable[[], str]) -> str:
    """``path`` relative and ``/``-separated; an error when it would leave the folder."""
    text = path.strip().replace("\\", "/")
    if text.startswith("/") or _DRIVE.match(text) or text.startswith("~"):
        raise ConversionError(f"{describe()}: embedded file `{path}` must be a relative path inside the workspace")
    normalized = posixpath.normpath(text)
    if normalized in (".", "") or normalized == ".." or normalized.startswith("../"):
        raise ConversionError(f"{describe()}: embedded file `{path}` is outside the workspace")
    if "\0" in normalized or any(part in ("", ".") for part in normalized.split("/")):
        raise ConversionError(f"{describe()}: embedded file `{path}` is not a valid path")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in normalized):
        shown = normalized.encode("unicode_escape", "backslashreplace").decode("ascii")
        raise ConversionError(f"{describe()}: embedded file `{shown}` has a control character in its name: rename it")
    if os.sep != "/" and os.sep in normalized:  # pragma: no cover - Windows
        normalized = normalized.replace(os.sep, "/")
    return normalized
