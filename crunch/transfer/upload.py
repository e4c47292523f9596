"""Chunked uploads (docs/protocol.md, calls 8-12): every file in chunks, each chunk streamed and retried.

For each file: ``POST /v1/uploads`` announces it and the hub answers with its chunks; each
chunk not yet confirmed is sent with the method, URL and headers of its chunk request, its
body exactly ``size`` bytes from ``offset`` read from the file block by block (memory stays
bounded whatever the size), and confirmed with the ``ETag`` of the answer; then the upload is
completed. A chunk that fails on a connection error or a 5xx is sent again from its offset,
with exponential backoff. Several files go at once. When anything fails, every upload made
so far is aborted and deleted, and the error says what failed.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import requests

from .. import exceptions as exc
from ..api.client import (
    Backoff,
    Client,
    RedirectRefused,
    default_timeout,
    describe_connection_error,
    new_session,
    send_following,
    transient_status,
)
from ..api.deadline import BadBody, DeadlineExceeded, answer_seconds, read_body
from ..api.errors import error_from_response
from ..api.models import Upload, UploadChunk
from ..core.console import Console
from ..core.fsutil import human_size
from .common import Cancelled
from .selected import SelectedFile

_STOPPED = "stopped: another file of the push failed"

PREFERRED_CHUNK_SIZE = 50_000_000
CHUNK_SIZE_VARIABLE = "CRUNCH_UPLOAD_CHUNK_SIZE"  # bytes; smaller chunks for tests
BLOCK_SIZE = 1 << 20
WORKERS = 4  # files at once
# chunks sent at once, of one file or of several: each chunk has its own signed link, so a big
# file goes on several connections (a link capped per connection then gives many times one
# stream); 8 got 7x one stream on a link capped at 40 MiB/s with 30 ms per answer (benchmarks/push.py)
CHUNK_WORKERS = 8
CONNECTIONS_VARIABLE = "CRUNCH_UPLOAD_CONNECTIONS"
MAX_CONNECTIONS = 32




class _ChunkBody:
    """``size`` bytes of the open file ``handle`` from ``offset``, yielded block by block (a
    sized iterable, so requests sends a ``Content-Length`` and streams it without reading it
    whole). Read errors are raised as :class:`TransferError`, never as the ``OSError`` that
    the HTTP stack would take for a broken connection."""

    def __init__(self, handle: Any, name: str, offset: int, size: int, on_bytes: Callable[[int], None], cancelled: threading.Event) -> None:
        self.handle = handle
        self.name = name
        self.offset = offset
        self.size = size
        self.on_bytes = on_bytes
        self.cancelled = cancelled
        self.sent = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        try:
            self.handle.seek(self.offset)
        except OSError as error:
            raise exc.TransferError(f"cannot read {self.name}: {error.strerror or error}") from None
        remaining = self.size
        while remaining > 0:
            if self.cancelled.is_set():
                raise Cancelled(_STOPPED)
            try:
                block = self.handle.read(min(BLOCK_SIZE, remaining))
            except OSError as error:
                raise exc.TransferError(f"cannot read {self.name}: {error.strerror or error}") from None
            if not block:
                raise exc.TransferError(
                    f"{self.name} became shorter while it was being sent: wait until nothing writes it, then push again"
                )
            remaining -= len(block)
            self.sent += len(block)
            self.on_bytes(len(block))
            yield block


class _FileFailure(Exception):
    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(name)
        self.name = name
        self.error = error


class Uploader:
    """Sends files through the hub's chunked uploads and remembers every upload it made."""

    def __init__(
        self,
        client: Client,
        console: Optional[Console] = None,
        *,
        workers: int = WORKERS,
        chunk_workers: Optional[int] = None,
        chunk_size: Optional[int] = None,
        backoff: Optional[Backoff] = None,
        session: Optional[requests.Session] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.console = console or Console(quiet=True)
        self.workers = max(1, workers)
        self.chunk_workers = max(1, chunk_workers) if chunk_workers is not None else _connections_from_env()
        # the chunks in flight, whatever their file: at most chunk_workers connections
        self._slots = threading.BoundedSemaphore(self.chunk_workers)
        self.chunk_size = chunk_size or _chunk_size_from_env()
        self.backoff = backoff or client.backoff
        # Chunk URLs carry their own signature: a plain session, never the push token; their
        # redirects are followed only to http(s), a few at most
        self.session = session or new_session()
        self.timeout = default_timeout()
        self._sleep = sleep
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self.created: List[Any] = []

    def _say(self, message: str) -> None:
        with self._lock:  # one whole line at a time from the worker threads
            self.console.print(message)

    # -- one chunk ---------------------------------------------------------------------------

    def _send_chunk(self, upload: Upload, chunk: UploadChunk, file: SelectedFile, name: str, progress: Callable[[int], None]) -> None:
        if chunk.offset < 0 or chunk.size < 0 or chunk.offset + chunk.size > file.size:
            raise exc.UploadError(
                f"the hub announced chunk {chunk.number} of {name} outside the file "
                f"(offset {chunk.offset}, size {chunk.size}, file {file.size} bytes)"
            )
        delays = iter(self.backoff.delays())
        where = f"chunk {chunk.number}/{len(upload.chunks)} of {name}"
        while True:
            if self._cancelled.is_set():
                raise Cancelled(_STOPPED)
            while not self._slots.acquire(timeout=0.2):  # a free connection, or the push stops
                if self._cancelled.is_set():
                    raise Cancelled(_STOPPED)
            try:
                problem = self._attempt(upload, chunk, file, name, progress, where)
            finally:
                self._slots.release()
            if problem is None:
                return
            delay = next(delays, None)
            if delay is None:
                raise exc.TransferError(f"{where} could not be sent: {problem}, {self.backoff.retries} retries exhausted")
            self._say(f"{where}: {problem}; sending it again in {delay:g}s")
            self._sleep(delay)

    def _attempt(self, upload: Upload, chunk: UploadChunk, file: SelectedFile, name: str, progress: Callable[[int], None], where: str) -> Optional[str]:
        """Send ``chunk`` once and confirm it: None when done, else why it must be sent again."""
        request = self.client.chunk_request(upload.id, chunk.number)
        try:
            handle = file.open()
        except OSError as error:
            raise exc.TransferError(f"cannot read {name}: {error.strerror or error}") from None
        body = _ChunkBody(handle, name, chunk.offset, chunk.size, progress, self._cancelled)
        problem: str
        limit = answer_seconds(self.timeout[1])

        def resend() -> None:  # a 307/308: the same bytes go again, to the new address
            progress(-body.sent)
            body.sent = 0

        try:
            with handle:
                # once the chunk is sent, its answer's headers must come within twice the read timeout
                response = send_following(
                    self.session,
                    request.method or "PUT",
                    request.url,
                    on_resend=resend,
                    data=body if chunk.size else b"",
                    headers=request.headers,
                    timeout=self.timeout,
                    stream=True,
                )
            # the chunk is sent (each block within the timeout); its answer must then be whole in time
            response._content = read_body(response, time.monotonic() + limit)
        except RedirectRefused as refused:
            raise exc.UploadError(f"{where} was not sent: {refused.message}") from None
        except BadBody as error:
            raise exc.UploadError(f"the answer to {where} is {error}: it was not read; try again later") from None
        except requests.RequestException as error:
            problem = describe_connection_error(error)
        except DeadlineExceeded:
            problem = f"the answer did not arrive whole within {limit:g} s (the server sends too slowly)"
        else:
            if response.ok:
                etag = (response.headers.get("ETag") or "").strip()
                response.close()
                if etag.startswith("W/"):
                    etag = etag[2:]
                etag = etag.strip('"')
                if not etag:
                    raise exc.UploadError(f"the hub's answer to {where} has no ETag header: is the hub up to date?")
                try:
                    self.client.confirm_chunk(upload.id, chunk.number, etag)
                    return None
                except exc.ValidationFailedError:
                    # the hub's hash of what it received is not the one its answer carried:
                    # the chunk (or its ETag) was damaged on the way, send it again
                    problem = "its checksum did not match at the confirm"
            elif not transient_status(response.status_code):
                error = error_from_response(response.status_code, response.content, response.headers.get("Content-Type", ""), f"{request.method} {where}")
                raise exc.UploadError(f"{where} was refused: {error.message}", code=error.code, status=response.status_code)
            else:
                problem = f"the hub answered HTTP {response.status_code}"
                response.close()
        progress(-body.sent)
        return problem

    def _send_chunks(self, upload: Upload, chunks: List[UploadChunk], file: SelectedFile, name: str, progress: Callable[[int], None]) -> None:
        """Send ``chunks``, up to ``chunk_workers`` at once: the round trips around one chunk
        (request, confirm) and the hub's work on it overlap the transfer of the next."""
        if self.chunk_workers <= 1 or len(chunks) <= 1:
            for chunk in chunks:
                self._send_chunk(upload, chunk, file, name, progress)
            return
        with ThreadPoolExecutor(max_workers=min(self.chunk_workers, len(chunks)), thread_name_prefix="crunch-chunk") as pool:
            futures = [pool.submit(self._send_chunk, upload, chunk, file, name, progress) for chunk in chunks]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            errors = [f.exception() for f in done if f.exception() is not None]
            if errors:
                self._cancelled.set()  # any failure ends the push: stop the sibling chunks too
                wait(futures)
                raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])

    # -- one file ----------------------------------------------------------------------------

    def upload_file(self, name: str, file: SelectedFile, on_bytes: Optional[Callable[[int], None]] = None) -> Any:
        """Upload ``file`` as ``name``; returns the upload id."""
        if self._cancelled.is_set():
            raise Cancelled(_STOPPED)
        upload = self.client.create_upload(name, file.size, self.chunk_size)
        with self._lock:
            self.created.append(upload.id)
        bar = self.console.progress(total=file.size, desc=_short(name))
        bar_lock = threading.Lock()
        try:

            def progress(count: int) -> None:
                with bar_lock:
                    bar.update(count)
                if on_bytes is not None:
                    on_bytes(count)

            covered = sum(c.size for c in upload.chunks)
            if covered != file.size:
                raise exc.UploadError(
                    f"the hub's chunks for {name} cover {covered} bytes, not the file's {file.size}: is the hub up to date?"
                )
            pending = []
            for chunk in upload.chunks:
                if chunk.completed:
                    progress(chunk.size)
                else:
                    pending.append(chunk)
            self._send_chunks(upload, pending, file, name, progress)
            status = (self.client.complete_upload(upload.id) or "").upper()
            if status in ("FAILED", "EXPIRED"):
                raise exc.UploadError(f"the hub marked the upload of {name} {status.lower()}")
        finally:
            bar.close()
        self._say(f"uploaded {name} ({human_size(file.size)})")
        return upload.id

    # -- many files --------------------------------------------------------------------------

    def upload_all(self, files: Sequence[Tuple[str, SelectedFile]]) -> Dict[str, Any]:
        """Upload every (name, file); returns name -> upload id.

        On any failure (or an interruption) the others stop, every upload made so far is
        aborted and deleted, and the error names the file that failed.
        """
        ids: Dict[str, Any] = {}
        total = sum(file.size for _, file in files)
        overall = self.console.progress(total=total, desc="push")
        overall_lock = threading.Lock()

        def on_bytes(count: int) -> None:
            with overall_lock:
                overall.update(count)

        def task(name: str, file: SelectedFile) -> Any:
            try:
                return self.upload_file(name, file, on_bytes)
            except BaseException as error:
                raise _FileFailure(name, error) from error

        executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="crunch-upload")
        try:
            futures = {executor.submit(task, name, file): name for name, file in files}
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                self._cancelled.set()
                wait(futures)
                failures = [f.exception() for f in futures if f.exception() is not None]
                # the first real failure, not a file that stopped because of it
                raise next((e for e in failures if not isinstance(getattr(e, "error", None), Cancelled)), failures[0])
            for future, name in futures.items():
                ids[name] = future.result()
        except _FileFailure as failure:
            executor.shutdown(wait=True)
            overall.close()
            self._fail(failure.name, failure.error)
        except BaseException:
            self._cancelled.set()
            executor.shutdown(wait=True)
            overall.close()
            self.cleanup()
            raise
        executor.shutdown(wait=True)
        overall.close()
        return ids

    def _fail(self, name: str, error: BaseException) -> None:
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            self.cleanup()
            raise error
        left = self.cleanup()
        tail = "nothing was submitted"
        if left:
            tail += f" ({left} upload(s) could not be cancelled; the hub expires them)"
        if isinstance(error, exc.ApiError):
            message = f"uploading {name} failed: {error.message}; {tail}"
            raise type(error)(message, code=error.code, status=error.status, extra=error.extra) from None
        if isinstance(error, exc.CrunchError):
            raise exc.TransferError(f"uploading {name} failed: {error.message}; {tail}") from None
        if isinstance(error, OSError):
            raise exc.TransferError(f"uploading {name} failed: cannot read it ({error.strerror or error}); {tail}") from None
        raise exc.TransferError(f"uploading {name} failed: unexpected {type(error).__name__}: {error}; {tail}") from error

    def cleanup(self) -> int:
        """Abort and delete every upload made so far; returns how many could not be."""
        with self._lock:
            created, self.created = list(self.created), []
        left = 0
        for upload_id in created:
            aborted = deleted = False
            try:
                self.client.abort_upload(upload_id)
                aborted = True
            except exc.CrunchError:
                pass
            try:
                self.client.delete_upload(upload_id)
                deleted = True
            except exc.CrunchError:
                pass
            if not (aborted or deleted):
                left += 1
        return left


def _chunk_size_from_env() -> int:
    value = os.environ.get(CHUNK_SIZE_VARIABLE, "").strip()
    try:
        return max(1, int(value)) if value else PREFERRED_CHUNK_SIZE
    except ValueError:
        raise exc.ConfigurationError(f"{CHUNK_SIZE_VARIABLE}={value!r} is not a number of bytes") from None


def _short(name: str, width: int = 30) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3) :]


def _connections_from_env() -> int:
    value = os.environ.get(CONNECTIONS_VARIABLE, "").strip()
    try:
        count = int(value) if value else CHUNK_WORKERS
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_CONNECTIONS:
        raise exc.ConfigurationError(f"{CONNECTIONS_VARIABLE}={value!r}: use a number of connections from 1 to {MAX_CONNECTIONS}")
    return count
