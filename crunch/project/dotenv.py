"""The ``.env`` file of the current folder, read the way crunch-cli 13 reads it (python-dotenv):
``KEY=VALUE`` lines, an optional ``export``, quotes, ``#`` comments. Its values never replace
a variable already set in the environment."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Mapping, Optional

DOTENV_FILE = ".env"

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")


def _value(raw: str) -> str:
    text = raw.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = text.find(quote, 1)
        inner = text[1:end] if end > 0 else text[1:]
        if quote == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"')
        return inner
    return re.split(r"\s+#", text, maxsplit=1)[0].strip()


def parse_dotenv(text: str) -> Dict[str, str]:
    """The variables of a ``.env`` text; lines that are not ``KEY=VALUE`` are skipped."""
    values: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match:
            values[match.group(1)] = _value(match.group(2))
    return values


def read_dotenv(folder: Optional[Path] = None) -> Dict[str, str]:
    """The variables of ``folder``'s (default: the current folder's) ``.env``; none when absent or unreadable."""
    from ..core.fsutil import read_text

    path = Path(folder or os.getcwd()) / DOTENV_FILE
    try:
        return parse_dotenv(read_text(path, errors="replace"))  # a FIFO there is refused, naming it
    except OSError:
        return {}


PREFIX = "CRUNCH_"  # only crunch's own variables come from .env: the file may serve the person's code too


def environment_with_dotenv(environ: Optional[Mapping[str, str]] = None, folder: Optional[Path] = None) -> Dict[str, str]:
    """The environment, completed by the ``CRUNCH_*`` variables of ``.env`` it does not set."""
    merged = {k: v for k, v in read_dotenv(folder).items() if k.startswith(PREFIX)}
    merged.update(os.environ if environ is None else environ)
    return merged
