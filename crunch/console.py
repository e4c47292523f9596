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
        """A progress bar: a widget in Jupyter, a bar in a terminal, nothing when quiet or piped.

        A bar that would not be shown is a :class:`NullBar`, so quiet and piped runs do not
        import tqdm at all.
        """
        notebook = _in_notebook()
        if self.quiet or (not notebook and not _isatty(self.err)):
            return NullBar(total)
        if notebook:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            unit_divisor=1024,
            file=self.err,
            leave=False,
            dynamic_ncols=True,
            **kwargs,
        )


class NullBar:
    """A progress bar that shows nothing: counts, like tqdm's, for whoever reads them."""

    def __init__(self, total: Optional[float] = None) -> None:
        self.total = total
        self.n: float = 0

    def update(self, n: float = 1) -> None:
        self.n += n

    def reset(self, total: Optional[float] = None) -> None:
        self.n = 0
        if total is not None:
            self.total = total

    def close(self) -> None:
        pass

    def __enter__(self) -> "NullBar":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


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
