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
        """A progress bar that reads well where it is shown (see :mod:`crunch.core.platforms`): a
        widget in a notebook kernel, plain lines (no cursor moves) in a cell's ``!crunch``
        output, a bar in a terminal, nothing when quiet or when nobody looks.

        A bar that would not be shown is a :class:`NullBar`, so quiet and piped runs do not
        import tqdm at all.
        """
        from . import platforms

        if self.quiet:
            return NullBar(total)
        mode = platforms.detect(stream=self.err).progress
        if mode == platforms.NONE:
            return NullBar(total)
        if mode == platforms.LINES or (mode == platforms.WIDGET and not _widgets()):
            return LineBar(total, desc=desc, unit=unit, stream=self.err)
        if mode == platforms.WIDGET:
            from tqdm.notebook import tqdm
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


def _widgets() -> bool:
    """Whether tqdm can draw a notebook widget (it needs ipywidgets)."""
    try:
        import ipywidgets  # noqa: F401
    except Exception:
        return False
    return True


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        from .fsutil import human_size

        return human_size(int(value))
    return f"{value:g} {unit}" if unit else f"{value:g}"


class LineBar(NullBar):
    """Progress as plain lines, for output areas that do not honour cursor moves (a notebook
    cell's ``!crunch ...``): a line when a tenth more is done or every few seconds, and a last
    line when it stops short. Never a carriage return or an escape sequence."""

    STEP = 10  # percent between lines
    EVERY = 5.0  # seconds between lines when the percentage moves slowly or is unknown

    def __init__(self, total: Optional[float] = None, desc: str = "", unit: str = "B", stream: Optional[TextIO] = None) -> None:
        import threading
        import time

        super().__init__(total)
        self.desc = desc or "progress"
        self.unit = unit
        self.stream = stream or sys.stderr
        self._lock = threading.Lock()
        self._clock = time.monotonic
        self._last_time = self._clock()
        self._last_step = 0
        self._closed = False

    def _line(self) -> str:
        done = _amount(self.n, self.unit)
        if self.total:
            percent = min(100, int(100 * self.n / self.total))
            if self.unit == "B":
                return f"{self.desc}: {percent}% ({done} of {_amount(self.total, self.unit)})"
            return f"{self.desc}: {percent}% ({self.n:g}/{self.total:g} {self.unit})".rstrip()
        return f"{self.desc}: {done}"

    def _emit(self) -> None:
        print(redact(self._line()), file=self.stream, flush=True)
        self._last_time = self._clock()

    def update(self, n: float = 1) -> None:
        with self._lock:
            self.n += n
            if self._closed:
                return
            step = int(100 * self.n / self.total) // self.STEP if self.total else 0
            if step > self._last_step or self._clock() - self._last_time >= self.EVERY:
                self._last_step = max(step, self._last_step)
                if not self.total or self.n < self.total:
                    self._emit()

    def reset(self, total: Optional[float] = None) -> None:
        with self._lock:
            super().reset(total)
            self._last_step = 0

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.n and (not self.total or self.n < self.total):  # a whole transfer has its own summary line
                self._emit()
