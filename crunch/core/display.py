"""Formatting for a terminal: aligned tables, times in the person's local zone, sizes and
durations a person reads at a glance, and JSON for scripts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterable, List, Optional, Sequence


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], right: Sequence[int] = ()) -> List[str]:
    """Lines of a table whose columns are aligned; columns whose index is in ``right`` (numbers,
    sizes) are aligned right. Two spaces between columns, a rule under the headers."""
    cells = [[str(c) for c in row] for row in rows]
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
    """Indented JSON for ``--json`` (sorted as given, non-ASCII kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def shown(name: str) -> str:
    """``name`` for a message: control characters and undecodable bytes as escapes."""
    import unicodedata

    out = []
    for char in name:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF or unicodedata.category(char) == "Cc":
            out.append(char.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)
