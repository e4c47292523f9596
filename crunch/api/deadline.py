"""Overall deadlines of HTTP answers: a server that keeps a connection alive by sending a byte
now and then must not keep crunch waiting for ever.

The ``requests`` read timeout bounds each wait for the socket, not the whole answer: a body
trickled one byte a second never trips it. So bodies are read as they arrive (whatever each
receive gave), and after each piece:

- an answer of the API (or of a chunk upload) must be whole within :func:`answer_seconds`
  (twice ``CRUNCH_TIMEOUT``) of the request: :func:`read_body`;
- a data stream is judged by its progress, not its size (a big file that keeps moving is
  fine): in every window of ``CRUNCH_TIMEOUT`` seconds at least :data:`MIN_RATE` bytes a
  second must arrive, else :class:`TooSlow` (:class:`ProgressFloor`).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Optional

MIN_RATE = 1024  # bytes a second a data stream must keep up, over each window
READ_SIZE = 1 << 16


class DeadlineExceeded(Exception):
    """An answer was not whole within its deadline."""


class TooSlow(Exception):
    """A stream delivered less than the floor over a whole window."""

    def __init__(self, received: int, window: float) -> None:
        super().__init__(f"only {received} bytes arrived in {window:g} s")
        self.received = received
        self.window = window


def answer_seconds(read_timeout: float) -> float:
    """Seconds a whole answer (headers and body) may take: twice the read timeout."""
    return 2 * read_timeout


def body_chunks(response: Any, size: int = READ_SIZE) -> Iterable[bytes]:
    """The body of a streamed ``requests`` response as it arrives, at most ``size`` bytes at a time.

    ``read1`` hands over whatever the socket gave (a trickle comes a byte at a time, so the
    caller can look at the clock after each); ``iter_content`` is the fallback for old urllib3,
    which fills each piece before handing it over.
    """
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None or not _urllib3_2() or getattr(getattr(raw, "_fp", None), "read1", None) is None:
        yield from response.iter_content(size)
        return
    while True:
        chunk = read1(size, decode_content=True)
        if not chunk:
            return
        yield chunk


def read_body(response: Any, deadline: float, clock: Callable[[], float] = time.monotonic) -> bytes:
    """The whole body of a streamed response, or :class:`DeadlineExceeded` once ``clock()``
    passes ``deadline`` (a monotonic time). The response is closed either way; a broken or
    silent connection raises the ``requests`` exception ``iter_content`` would have raised."""
    import requests
    import urllib3.exceptions

    parts = bytearray()
    try:
        for chunk in body_chunks(response):
            parts += chunk
            if clock() > deadline:
                raise DeadlineExceeded()
    except urllib3.exceptions.ReadTimeoutError as error:
        raise requests.exceptions.ReadTimeout(error) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        if isinstance(error, requests.RequestException):
            raise
        raise requests.exceptions.ChunkedEncodingError(error) from None
    finally:
        response.close()
    return bytes(parts)


class ProgressFloor:
    """Raises :class:`TooSlow` when a window of ``window`` seconds saw fewer than
    ``rate * window`` bytes. Fed by :meth:`update` after each piece that arrives; a stream
    that stops altogether is the read timeout's business."""

    def __init__(self, window: float, rate: float = MIN_RATE, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = max(0.5, window)
        self.rate = rate
        self._clock = clock
        self._start = clock()
        self._count = 0

    def update(self, count: int) -> None:
        self._count += count
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self.window:
            return
        if self._count < self.rate * elapsed:
            raise TooSlow(self._count, elapsed)
        self._start, self._count = now, 0


_URLLIB3_2: Optional[bool] = None


def _urllib3_2() -> bool:
    global _URLLIB3_2
    if _URLLIB3_2 is None:
        import urllib3

        try:
            _URLLIB3_2 = int(urllib3.__version__.split(".")[0]) >= 2
        except (AttributeError, ValueError):
            _URLLIB3_2 = False
    return _URLLIB3_2
