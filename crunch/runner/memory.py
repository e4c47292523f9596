"""Peak memory of this process, as the operating system counts it."""

from __future__ import annotations

import sys
from typing import Optional


def peak_rss_bytes() -> Optional[int]:
    """The largest resident set size this process has had so far, or ``None`` if unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def current_rss_bytes() -> Optional[int]:
    """The resident set size now (Linux only), or ``None``."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")
