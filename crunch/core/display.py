"""Formatting for a terminal: aligned tables, times in the person's local zone, sizes and
durations a person reads at a glance, and JSON for scripts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, List, Optional, Sequence

_KEPT = frozenset("\n\t")


def _escaped(char: str) -> str:
    """A character that is not printable as Python writes it in a string: ``\\x1b``, ``\\r``,
    ``\\u202e``; a byte that was not UTF-8 (kept by ``surrogateescape``) as that byte, ``\\xff``."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return repr(char)[1:-1]


def visible(text: Any, lines: bool = True) -> str:
    """``text`` safe to print on a terminal: every control character (ESC and so every escape
    sequence, ``\\r``, ``\\b``, the other C0 and C1 controls, DEL), every bidirectional override
    or isolate (U+202A-U+202E, U+2066-U+2069) and every other character Python does not count as
    printable is shown escaped, as in a Python string (``\\x1b``, ``\\r``, ``\\u202e``), so that
    text from the hub can neither move the cursor, rewrite a line, recolour or retitle the
    terminal, nor reorder what is shown. Line breaks and tabs are kept when ``lines`` (a ``\\r\\n``
    is a line break); without ``lines`` they are escaped too, for text that must stay on one line
    (a table cell, a name). Printable text, non-ASCII letters included, is left as it is."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():
        return value
    if lines:
        value = value.replace("\r\n", "\n")
        return "".join(c if c.isprintable() or c in _KEPT else _escaped(c) for c in value)
    return "".join(c if c.isprintable() else _escaped(c) for c in value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> List[str]:
    """Lines of a table whose columns are aligned; columns whose index is in ``right`` (numbers,
    sizes) are aligned right. Two spaces between columns, a rule under the headers."""
    cells = [[visible(c, lines=False) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(widths[i]) if i in right else v.ljust(widths[i]) for i, v in enumerate(values)]
        return "  ".join(parts).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)]


def parse_time(value: Optional[str]) -> Optional[dt.datetime]:
    """An ISO time of the hub (``Z``, an offset, or no zone: UTC; any fraction), or ``None``."""
    from .jsonshape import parse_time as parse

    return parse(value) if value else None


def local_time(value: Optional[str], default: str = "-") -> str:
    """An ISO time of the hub shown in the local zone: ``2026-11-30 19:04``."""
    moment = parse_time(value)
    if moment is None:
        return value or default
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def human_size(size: Optional[int]) -> str:
    """``1536`` -> ``1.5 KiB``; bytes below 1 KiB as they are."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # not reached


def human_duration(seconds: float) -> str:
    """``5430`` -> ``1h 30m 30s``."""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def as_json(value: Any) -> str:
    """Indented JSON for ``--json`` (sorted as given, non-ASCII kept; a character a terminal
    would obey or hide, such as a C1 control or a bidirectional override, written as its
    ``\\uXXXX`` escape: the same JSON value, safe to show)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in _KEPT else _json_escaped(c) for c in text)


def _json_escaped(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def shown(name: str) -> str:
    """``name`` (a file or folder name) for a message, on one line: see :func:`visible`."""
    return visible(name, lines=False)
