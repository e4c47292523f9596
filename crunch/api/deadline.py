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

The status line and headers come before any of that, and the read timeout does not bound
them either: the sessions of :func:`bounded_session` watch each wait for headers and cut the
connection when the deadline of the call (:func:`answer_deadline`; else twice the read
timeout) passes, which raises :class:`DeadlineExceeded`.

Sizes are bounded too: a body is decoded here (``gzip``, ``deflate``), never more than one
read's worth of output from one piece of input (:class:`Decoder`), so a small compressed
answer cannot expand into gigabytes at once; :func:`read_body` stops at :data:`MAX_ANSWER`
bytes (:class:`AnswerTooLarge`); the download stops at the size its release announced.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Optional

MIN_RATE = 1024  # bytes a second a data stream must keep up, over each window
READ_SIZE = 1 << 16
# the largest answer of an API call, decoded: the biggest real answers (a whitelist page, a
# listing of submissions or logs) are a few MiB; 64 MiB leaves room and bounds the memory
MAX_ANSWER = 64 << 20
# the encodings crunch asks for (and decodes itself, bounded); ``br`` and ``zstd`` are not asked for
ACCEPT_ENCODING = "gzip, deflate"


class DeadlineExceeded(Exception):
    """An answer (its headers, or its body) was not whole within its deadline."""


class BadBody(Exception):
    """A body crunch will not read: too large, or in an encoding it cannot decode safely."""


class AnswerTooLarge(BadBody):
    """A body larger than its bound (``limit`` bytes, decoded)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class UnreadableEncoding(BadBody):
    """A ``Content-Encoding`` that crunch did not ask for and does not decode."""

    def __init__(self, encoding: str) -> None:
        super().__init__(f"encoded as {encoding!r}")
        self.encoding = encoding


class TooSlow(Exception):
    """A stream delivered less than the floor over a whole window."""

    def __init__(self, received: int, window: float) -> None:
        super().__init__(f"only {received} bytes arrived in {window:g} s")
        self.received = received
        self.window = window


def answer_seconds(read_timeout: float) -> float:
    """Seconds a whole answer (headers and body) may take: twice the read timeout."""
    return 2 * read_timeout


class Decoder:
    """Decodes a body of ``Content-Encoding`` ``encoding`` piece by piece, each output at
    most ``size`` bytes: the memory a compressed body takes is bounded by what the caller
    keeps, whatever its ratio. ``identity`` (or none) passes the bytes through; ``gzip``
    (several members too) and ``deflate`` (zlib or raw) are decoded; anything else (``br``,
    ``zstd``, a chain of encodings: crunch asks for none of them) is :class:`UnreadableEncoding`."""

    def __init__(self, encoding: Optional[str], size: int = READ_SIZE) -> None:
        import zlib

        names = [name.strip().lower() for name in (encoding or "").split(",") if name.strip()]
        names = [name for name in names if name != "identity"]
        self.size = max(1, size)
        self.kind = names[0] if len(names) == 1 else None
        if len(names) > 1 or (names and self.kind not in ("gzip", "x-gzip", "deflate")):
            raise UnreadableEncoding(", ".join(names))
        self._zlib = zlib
        self._first = True
        self._object: Any = None
        if self.kind in ("gzip", "x-gzip"):
            self._object = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.kind == "deflate":
            self._object = zlib.decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of ``data`` (the next bytes of the body); a damaged stream
        raises ``zlib.error``."""
        if self._object is None:
            if data:
                yield data
            return
        if self.kind == "deflate" and self._first and data:
            self._first = False
            try:  # zlib-wrapped, as the standard says; many servers send raw deflate instead
                probe = self._zlib.decompressobj()
                probe.decompress(data[:64], 1)
            except self._zlib.error:
                self._object = self._zlib.decompressobj(-self._zlib.MAX_WBITS)
        pending = data
        while pending:
            out = self._object.decompress(pending, self.size)
            pending = self._object.unconsumed_tail
            if out:
                yield out
            if self._object.eof:
                rest = self._object.unused_data
                if not rest or self.kind == "deflate":
                    return  # what follows the end of the stream is not read
                self._object = self._zlib.decompressobj(16 + self._zlib.MAX_WBITS)  # another gzip member
                pending = rest

    def flush(self) -> Iterator[bytes]:
        if self._object is None:
            return
        while True:  # what the decoder still holds: at most a window, given in bounded pieces
            out = self._object.decompress(self._object.unconsumed_tail, self.size)
            if not out:
                break
            yield out
        tail = self._object.flush()
        if tail:
            yield tail


def body_chunks(response: Any, size: int = READ_SIZE) -> Iterable[bytes]:
    """The body of a streamed ``requests`` response as it arrives, decoded, at most ``size``
    bytes at a time (:class:`Decoder`).

    ``read1`` hands over whatever the socket gave (a trickle comes a byte at a time, so the
    caller can look at the clock after each); ``raw.stream`` is the fallback for old urllib3,
    which fills each piece before handing it over. A body of an encoding crunch does not
    decode raises :class:`UnreadableEncoding`; a damaged compressed body, the ``requests``
    ``ContentDecodingError``.
    """
    import zlib

    import requests

    decoder = Decoder(response.headers.get("Content-Encoding"), size)
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None or not _urllib3_2() or getattr(getattr(raw, "_fp", None), "read1", None) is None:
        pieces: Iterable[bytes] = raw.stream(size, decode_content=False)
    else:
        pieces = iter(lambda: read1(size, decode_content=False), b"")
    try:
        for piece in pieces:
            yield from decoder.feed(piece)
        yield from decoder.flush()
    except zlib.error as error:
        raise requests.exceptions.ContentDecodingError(f"the body does not decode as {decoder.kind}: {error}") from None


def read_body(
    response: Any, deadline: float, clock: Callable[[], float] = time.monotonic, limit: int = MAX_ANSWER
) -> bytes:
    """The whole body of a streamed response, or :class:`DeadlineExceeded` once ``clock()``
    passes ``deadline`` (a monotonic time), or :class:`AnswerTooLarge` once it is longer
    than ``limit`` bytes decoded (or announces so). The response is closed either way; a
    broken or silent connection raises the ``requests`` exception ``iter_content`` would
    have raised."""
    import requests
    import urllib3.exceptions

    parts = bytearray()
    try:
        announced = response.headers.get("Content-Length")
        if announced is not None and announced.strip().isdigit() and int(announced) > limit:
            raise AnswerTooLarge(limit)
        for chunk in body_chunks(response):
            parts += chunk
            if len(parts) > limit:
                raise AnswerTooLarge(limit)
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


# -- headers ------------------------------------------------------------------------------------

_current = threading.local()


@contextlib.contextmanager
def answer_deadline(deadline: float) -> Iterator[None]:
    """The headers of every answer this thread waits for meanwhile must be whole by
    ``deadline`` (a monotonic time): the connection is cut when it passes."""
    before = getattr(_current, "deadline", None)
    _current.deadline = deadline
    try:
        yield
    finally:
        _current.deadline = before


def _watched(base: Any) -> Any:
    """``base`` (a urllib3 connection class) whose wait for an answer's status line and headers
    ends at the thread's :func:`answer_deadline`, else twice the read timeout: a timer shuts the
    socket down, and the wait raises :class:`DeadlineExceeded`."""

    class Watched(base):  # type: ignore[misc, valid-type]
        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            import socket

            deadline = getattr(_current, "deadline", None)
            if deadline is None:
                sock = getattr(self, "sock", None)
                seconds = sock.gettimeout() if sock is not None else None
                if seconds is None:
                    return super().getresponse(*args, **kwargs)
                deadline = time.monotonic() + answer_seconds(seconds)
            cut = threading.Event()
            sock = getattr(self, "sock", None)

            def cut_off() -> None:
                cut.set()
                try:
                    if sock is not None:
                        sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            timer = threading.Timer(max(0.0, deadline - time.monotonic()), cut_off)
            timer.daemon = True
            timer.start()
            try:
                return super().getresponse(*args, **kwargs)
            except Exception:
                if cut.is_set():
                    raise DeadlineExceeded() from None
                raise
            finally:
                timer.cancel()

    Watched.__name__ = f"Watched{base.__name__}"
    return Watched


_ADAPTER: Any = None


def _adapter_class() -> Any:
    """A ``requests`` adapter whose connections watch the wait for headers (:func:`_watched`)."""
    global _ADAPTER
    if _ADAPTER is None:
        from requests.adapters import HTTPAdapter
        from urllib3.connection import HTTPConnection, HTTPSConnection
        from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

        class Pool(HTTPConnectionPool):
            ConnectionCls = _watched(HTTPConnection)

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = _watched(HTTPSConnection)

        pools = {"http": Pool, "https": SecurePool}

        class BoundedAdapter(HTTPAdapter):
            def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
                super().init_poolmanager(*args, **kwargs)
                self.poolmanager.pool_classes_by_scheme = pools

            def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
                manager = super().proxy_manager_for(proxy, **kwargs)
                if not proxy.lower().startswith("socks"):
                    manager.pool_classes_by_scheme = pools
                return manager

        _ADAPTER = BoundedAdapter
    return _ADAPTER


def bounded_session() -> Any:
    """A ``requests.Session`` whose waits for headers are bounded (:func:`answer_deadline`) and
    which asks only for the encodings :class:`Decoder` reads."""
    import requests

    session = requests.Session()
    adapter = _adapter_class()
    session.mount("http://", adapter())
    session.mount("https://", adapter())
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return session


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
