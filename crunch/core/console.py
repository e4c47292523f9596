"""What commands say to a person: one place for plain output, warnings and progress bars.

Commands write through a :class:`Console` instead of ``print`` so that ``--quiet`` and the
notebook helpers can decide what is shown. Errors are not printed here: they are raised.

Every line goes through :func:`crunch.core.display.visible`: a name, a message or a log line that
came from the hub is shown with its control characters and escape sequences escaped, so it
cannot rewrite a line or drive the terminal. crunch's own lines hold none; its progress bars
draw on stderr by themselves and keep their cursor moves.
"""

from __future__ import annotations

import errno
import sys
from typing import Any, Optional, TextIO

from .display import visible
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

    def print(self, message: Any = "", *, force: bool = False, raw: bool = False) -> None:
        """A normal line on stdout (hidden by ``--quiet`` unless ``force``); ``raw``: the
        person's own program's output, shown as it wrote it."""
        if self.quiet and not force:
            return
        text = redact(message)
        print(text if raw else visible(text), file=self.stream, flush=True)

    def result(self, message: Any, *, raw: bool = False) -> None:
        """A line that is the command's answer: shown even with ``--quiet``."""
        self.print(message, force=True, raw=raw)

    def warn(self, message: Any) -> None:
        print(f"warning: {visible(redact(message))}", file=self.err, flush=True)

    def progress(self, total: Optional[float] = None, desc: str = "", unit: str = "B", **kwargs: Any) -> Any:
        """A progress bar that reads well where it is shown (see :mod:`crunch.core.platforms`): a
        widget in a notebook kernel, plain lines (no cursor moves) in a cell's ``!crunch``
        output, a bar in a terminal, nothing when quiet or when nobody looks.

        A bar that would not be shown is a :class:`NullBar`, so quiet and piped runs do not
        import tqdm at all.
        """
        from . import platforms

        desc = visible(desc, lines=False)  # a file name from the hub, say
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


# -- the process's own streams -------------------------------------------------------------------


class GuardedStream:
    """stdout or stderr as the command writes to it: a write or flush that fails (the stream
    was closed, by the shell or by the person's code; a full disk behind it, as with
    ``/dev/full``; an I/O error) does not stop the command half way. The first failure is kept
    in :attr:`failure` for the CLI to report once the command is done, and the stream's file
    descriptor is pointed at ``/dev/null`` so that the interpreter's last flush at exit says
    nothing either. A broken pipe (``crunch list | head -1``: the reader left) is raised, as
    before, for the CLI to stop quietly.

    Anything else is the wrapped stream's (``encoding``, ``isatty()``, ``fileno()``...).
    """

    def __init__(self, stream: Optional[TextIO], fd: int, name: str, closed: bool = False) -> None:
        self._stream = stream
        self._fd = fd
        self.name = name
        self._closed_at_start = closed
        self._dead = stream is None or closed
        self.failure: Optional[str] = None
        self._saved: Optional[int] = None
        if not self._dead:
            import os

            try:
                self._saved = os.dup(fd)  # not inherited by the processes crunch starts
            except OSError:
                self._saved = None

    @property
    def wrapped(self) -> Optional[TextIO]:
        return self._stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        if self._dead:
            if self._closed_at_start and self.failure is None:
                self.failure = f"{self.name} is closed"
            return len(text)
        for attempt in (1, 2):
            try:
                assert self._stream is not None
                return self._stream.write(text)
            except BrokenPipeError:
                raise
            except (OSError, ValueError) as error:  # ValueError: the stream object was closed
                if attempt == 1 and self._reopened(error):
                    continue
                self._fail(error)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        for attempt in (1, 2):
            if self._dead or self._stream is None:
                return
            try:
                self._stream.flush()
                return
            except BrokenPipeError:
                raise
            except (OSError, ValueError) as error:
                if attempt == 1 and self._reopened(error):
                    continue
                self._fail(error)

    def _reopened(self, error: BaseException) -> bool:
        """After code the command ran closed the stream (``sys.__stdout__.close()``) or its file
        descriptor (``os.close(1)``), both are made again, the descriptor from the copy kept at
        the start: the output goes on where it went."""
        import os

        closed_fd = isinstance(error, OSError) and error.errno == errno.EBADF
        closed_stream = isinstance(error, ValueError) and bool(getattr(self._stream, "closed", False))
        if not (closed_fd or closed_stream) or self._saved is None:
            return False
        try:
            if closed_fd or not _fd_open(self._fd):
                os.dup2(self._saved, self._fd)
            if getattr(self._stream, "closed", False):
                old = self._stream
                self._stream = open(
                    self._fd, "w", encoding=getattr(old, "encoding", None) or "utf-8", errors="backslashreplace",
                    closefd=False, buffering=1 if getattr(old, "line_buffering", False) else -1,
                )
        except (OSError, ValueError, LookupError):
            return False
        return True

    def close(self) -> None:
        """The person's code closing ``sys.stdout``: what it writes next goes nowhere, and the
        command's own output still reaches the stream (it is not closed under crunch)."""
        self.flush()

    @property
    def closed(self) -> bool:
        return False

    def _fail(self, error: BaseException) -> None:
        if self.failure is None:
            if isinstance(error, ValueError):
                self.failure = f"{self.name} was closed"
            elif isinstance(error, OSError) and error.errno == errno.EBADF:
                self.failure = f"{self.name} was closed"
            else:
                reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
                self.failure = f"{self.name}: {reason}"
        self._dead = True
        _to_devnull(self._fd)

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


def _to_devnull(fd: int) -> None:
    """Point ``fd`` at ``/dev/null`` (what is still buffered for it is dropped there)."""
    import os

    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    try:
        if null != fd:
            os.dup2(null, fd)
    except OSError:
        pass
    finally:
        if null != fd:
            os.close(null)


def _fd_open(fd: int) -> bool:
    import os

    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def guard_streams() -> Optional[GuardedStream]:
    """Make the process's stdin, stdout and stderr safe to use, once, at the start of the CLI:

    - a standard descriptor the shell closed (``crunch ... >&-``) is opened on ``/dev/null``,
      so that no file crunch opens later takes its number (and with it the output of git,
      pip or the person's code);
    - stdout and stderr write what their encoding cannot (an ASCII-only console,
      ``PYTHONIOENCODING=ascii``) as escapes instead of failing;
    - stdout and stderr become :class:`GuardedStream` objects.

    Returns the guarded stdout, whose :attr:`~GuardedStream.failure` the CLI reports at exit.
    """
    import os

    closed = {}
    for fd in (0, 1, 2):
        closed[fd] = not _fd_open(fd)
        if closed[fd]:
            try:
                opened = os.open(os.devnull, os.O_RDWR)
            except OSError:
                continue
            if opened != fd:  # a lower one was free after all: leave things as they are
                os.close(opened)
    guarded = []
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        if isinstance(stream, GuardedStream):
            guarded.append(stream)
            continue
        was_closed = closed[fd] or stream is None
        if stream is None:  # Python found no stream: one on /dev/null, for what asks its encoding
            try:
                stream = open(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
            except OSError:
                stream = None
        elif hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (OSError, ValueError):
                pass
        wrapper = GuardedStream(stream, fd, name, closed=was_closed)
        setattr(sys, name, wrapper)
        guarded.append(wrapper)
    return guarded[0]
