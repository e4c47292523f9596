"""Stopping signals: SIGTERM takes the path of Ctrl-C, so every command cleans up the same way.

``timeout``, a CI runner or a notebook's "interrupt, then kill" send SIGTERM. Python's default
for it ends the process on the spot, skipping every ``finally`` (a temporary script, a half-made
workspace, an upload pending on the hub). :func:`install` turns it into :class:`Terminated`, a
``KeyboardInterrupt``, raised in the main thread wherever it is: each command's cleanup for
Ctrl-C runs unchanged. The exit code then says which signal it was, as a shell would (128 + the
signal's number): 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Optional

SIGINT_EXIT = 130
SIGTERM_EXIT = 143

_received: Optional[int] = None


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM."""


def _on_sigterm(signum: int, frame: Any) -> None:
    global _received
    _received = signum
    raise Terminated()


def install() -> None:
    """Handle SIGTERM like Ctrl-C (only the main thread can install a handler)."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # an embedding that forbids it
        pass


def exit_code() -> int:
    """The exit code of an interrupted command: 143 after SIGTERM, else 130 (Ctrl-C)."""
    return SIGTERM_EXIT if _received == signal.SIGTERM else SIGINT_EXIT
