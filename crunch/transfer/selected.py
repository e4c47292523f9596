"""A file chosen to be sent: its name in the submission, where its bytes are, its size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..core.fsutil import open_regular


@dataclass(frozen=True)
class SelectedFile:
    """A file to send: ``path`` is its name in the submission (POSIX, relative)."""

    path: str
    source: Optional[Path]
    size: int
    content: Optional[bytes] = None  # for files made in memory (the pinned requirements)

    def open(self):  # type: ignore[no-untyped-def]
        if self.content is not None:
            import io

            return io.BytesIO(self.content)
        assert self.source is not None
        return open_regular(self.source)
