"""Stopping signals: SIGTERM takes the path of Ctrl-C, so every command cleans up the same way.

``timeout``, a CI runner or a notebook's "interrupt, then kill" send SIGTERM. Python's default
for it ends the process on the spot, skipping every ``finally`` (a temporary script, a half-made
workspace, an upload pending on the hub). :func:`install` turns it into :class:`Terminated`, a
``KeyboardInterrupt``, raised in the main thread wherever it is: each command's cleanup for
Ctrl-C runs unchanged. The exit code then says which signal it was, as a shell would (128 + the
signal's number): 130 for Ctrl-C, 143 for SIGTERM.

Only the signals the system has are handled: Windows has no SIGTERM sent from outside (its
``taskkill`` ends a process without a signal) but has SIGBREAK (Ctrl-Break, a closed console
window), which takes the same path there (exit code 149).
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Optional

SIGINT_EXIT = 130
SIGTERM_EXIT = 143

_received: Optional[int] = None


STOPPING = ("SIGTERM", "SIGBREAK")  # handled like Ctrl-C where the system has them


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by SIGTERM (or SIGBREAK on Windows)."""


def _on_sigterm(signum: int, frame: Any) -> None:
    global _received
    _received = signum
    raise Terminated()


def install() -> None:
    """Handle SIGTERM (and SIGBREAK) like Ctrl-C where the system has them (only the main
    thread can install a handler)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in STOPPING:
        number = getattr(signal, name, None)
        if number is None:
            continue
        try:
            signal.signal(number, _on_sigterm)
        except (ValueError, OSError, AttributeError):  # an embedding that forbids it
            pass


def exit_code() -> int:
    """The exit code of an interrupted command: 143 after SIGTERM (128 + the number of the
    signal that stopped it), else 130 (Ctrl-C)."""
    return SIGINT_EXIT if _received is None else 128 + int(_received)
