"""``crunch.monkey_patches``: settings competition runners change in the processes they start.

``SHOULD_PRINT_PREFIX_WHEN_POSSIBLE``: a label (e.g. ``"worker:3"``) that a runner sets in a
worker process so that its lines can be told apart; :func:`prefixed` adds it to a line.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["SHOULD_PRINT_PREFIX_WHEN_POSSIBLE", "prefixed"]

SHOULD_PRINT_PREFIX_WHEN_POSSIBLE: Optional[str] = None


def prefixed(line: str) -> str:
    """``line``, preceded by ``[label] `` when a label is set."""

    label = SHOULD_PRINT_PREFIX_WHEN_POSSIBLE
    return f"[{label}] {line}" if label is not None else line
