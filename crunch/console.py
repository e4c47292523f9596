"""What commands say to a person: one place for plain output, warnings and progress bars.

Commands write through a :class:`Console` instead of ``print`` so that ``--quiet`` and the
notebook helpers can decide what is shown. Errors are not printed here: they are raised.
"""

from __future__ import annotations

import sys
from typing import Any, Optional, TextIO

from .secrets import redact


class Console:
    def __init__(self, quiet: bool = False, stream: Optional[TextIO] = None, err: Optional[TextIO] = None) -> None:
        self.quiet = quiet
        self._stream = stream
        self._err = err

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stdout

    @property
    def err(self) -> TextIO:
        return self._err or sys.stderr

    def print(self, message: Any = "", *, force: bool = False) -> None:
        """A normal line on stdout (hidden by ``--quiet`` unless ``force``)."""
        if self.quiet and not force:
            return
        print(redact(message), file=self.stream, flush=True)

    def result(self, message: Any) -> None:
        """A line that is the command's answer: shown even with ``--quiet``."""
        self.print(message, force=True)

    def warn(self, message: Any) -> None:
        print(f"warning: {redact(message)}", file=self.err, flush=True)

    def progress(self, total: Optional[float] = None, desc: str = "", unit: str = "B", **kwargs: Any) -> Any:
        """A tqdm.auto bar: a widget in Jupyter, a bar in a terminal, nothing when quiet or piped."""
        from tqdm.auto import tqdm

        disable = self.quiet or (not _in_notebook() and not _isatty(self.err))
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024,
            disable=disable,
            file=self.err,
            leave=False,
            dynamic_ncols=True,
            **kwargs,
        )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"
