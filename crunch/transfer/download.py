"""Resumable, verified downloads: a file in its destination folder is always whole.

Each file is streamed to ``<name>.part`` through a bounded buffer, resumed with
``Range: bytes=N-`` after a cut or a retry, checked against its announced size and sha256
(hashed as it arrives; the bytes already on disk are hashed first when resuming), and only
then renamed into place. A file whose size and sha256 already match is skipped. A file that
does not verify is deleted and fetched once more from scratch, then reported; it is never
left in place. Zips (``compressed``) are checked entry by entry before anything is extracted.

Data URLs carry their own signatures: they are fetched with a plain session, never with the
push token, and shown without their query string. Their redirects are followed at most
:data:`~crunch.api.client.MAX_REDIRECTS` times, and only to http(s) addresses. A file is
never written past the size its release announced: a server that sends more (or says it
holds more) stops the transfer, the part is removed and the error says so.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import stat
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import requests

from ..api.client import (
    Backoff,
    default_timeout,
    describe_connection_error,
    new_session,
    transient_status,
)
from ..api.deadline import (
    MIN_RATE,
    BadBody,
    ProgressFloor,
    TooSlow,
    body_chunks,
)
from ..core.console import Console
from ..core.fsutil import (
    PathLike,
    ensure_folder,
    free_space,
    human_size,
    is_within,
    reserve_space,
    special_kind,
    write_text_atomic,
)
from ..exceptions import CrunchError, IntegrityError, TransferError, UnsafePathError
from .common import (
    MAX_REFRESHES,
    Cancelled,
    Expired,
    Restart,
    Retry,
    check_announced,
    content_range_start,
    describe_url,
    forget,
    get_data,
    int_or_none,
    oversize,
    ranges_path,
    unlink_quietly,
    urllib3_errors,
)
from .ranges import (
    ConnectionsValue,
    NoRanges,
    connections_setting,
    load_done,
    prefix_end,
    worth_ranges,
)

CHUNK_SIZE = 1 << 20  # at most this many bytes are read and hashed at a time
# Writes of at most this size: as fast as bigger ones, and on virtual machines whose free memory
# goes back to the host (free page reporting), bigger writes get large page-cache folios from
# memory the host must fault in again: 1 MiB writes took 0.18 to 1.8 s per GiB there, 256 KiB
# ones 0.18 s every time (benchmarks/write_sizes.py)
WRITE_BLOCK = 256 << 10
PIPELINE_DEPTH = 4  # chunks waiting to be hashed: the buffer of a transfer is bounded
HASH_BLOCK = 1 << 20
DEFAULT_WORKERS = 3
PART_SUFFIX = ".part"
RESERVE_MIN = 8 << 20  # the disk space of a transfer at least this big is reserved before it starts
_DRIVE = re.compile(r"^[A-Za-z]:")
_IGNORED_ZIP_ENTRIES = ("__MACOSX/",)


@dataclass
class Remote:
    """A file to fetch: ``name`` is its path relative to the destination folder."""

    name: str
    url: str
    size: Optional[int] = None
    sha256: Optional[str] = None
    compressed: bool = False
    # gives a fresh URL when a signed one expired (401/403), e.g. from a new data release
    refresh: Optional[Callable[[], Optional[str]]] = field(default=None, repr=False, compare=False)

    @property
    def known_size(self) -> Optional[int]:
        return self.size if self.size is not None and self.size >= 0 else None


@dataclass
class Outcome:
    """What happened to one file: ``status`` is ``skipped``, ``downloaded`` or ``resumed``."""

    name: str
    path: Path
    status: str
    transferred: int = 0
    resumed_from: int = 0
    elapsed: float = 0.0
    extracted: List[str] = field(default_factory=list)


@dataclass
class _State:
    hasher: Any


# -- names ------------------------------------------------------------------------------------


def check_file_name(name: str) -> str:
    """A data file name must be one plain path component: no separator, no ``..``."""
    if not isinstance(name, str) or not name.strip() or "\x00" in name or _DRIVE.match(name):
        raise UnsafePathError(f"the hub gave an empty or malformed data file name {name!r}: nothing was downloaded")
    if "/" in name or "\\" in name or ".." in name or name == ".":
        raise UnsafePathError(
            f"the hub gave a data file name with a path separator or '..': {name!r}; refusing it, "
            "nothing was downloaded (tell the competition's organizers)"
        )
    return name


def safe_relative_path(path: str, what: str = "file") -> PurePosixPath:
    """``path`` as a relative POSIX path that cannot leave its folder, or UnsafePathError."""
    text = str(path)
    if not text or "\x00" in text or "\\" in text or text.startswith("/") or _DRIVE.match(text):
        raise UnsafePathError(f"refusing the {what} path {path!r}: it is absolute or malformed")
    parts = PurePosixPath(text).parts
    if not parts or any(part in ("..", "") for part in parts):
        raise UnsafePathError(f"refusing the {what} path {path!r}: it would escape its folder")
    clean = [part for part in parts if part != "."]
    if not clean:
        raise UnsafePathError(f"refusing the {what} path {path!r}: it names no file")
    return PurePosixPath(*clean)


def sha256_of(path: PathLike, hasher: Optional[Any] = None, cancel: Optional[threading.Event] = None) -> Any:
    """Hash the file at ``path`` into ``hasher`` (a new sha256 by default), block by block."""
    digest = hasher if hasher is not None else hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled("interrupted")
            count = handle.readinto(buffer)
            if not count:
                break
            digest.update(view[:count])
    return digest


# -- one file ---------------------------------------------------------------------------------


class Downloader:
    """Fetches :class:`Remote` files into a folder, several at once, verified and resumable."""

    def __init__(
        self,
        *,
        console: Optional[Console] = None,
        backoff: Optional[Backoff] = None,
        timeout: Optional[Tuple[float, float]] = None,
        sleep: Callable[[float], None] = time.sleep,
        chunk_size: int = CHUNK_SIZE,
        pipeline_depth: int = PIPELINE_DEPTH,
        session_factory: Optional[Callable[[], requests.Session]] = None,
        verified: Optional[Dict[str, Dict[str, Any]]] = None,
        connections: ConnectionsValue = None,
        follow_hash: bool = True,
    ) -> None:
        self.console = console or Console(quiet=True)
        self.backoff = backoff or Backoff()
        self.timeout = timeout or default_timeout()
        self.chunk_size = chunk_size
        self.pipeline_depth = pipeline_depth
        self._sleep = sleep
        self._session_factory = session_factory or _new_session
        self._local = threading.local()
        self.cancel = threading.Event()
        # connections for one big file (byte ranges at once; adaptive by default); 1: one stream
        self.connections = connections_setting(connections)
        # the connections beyond the first of each big file, shared by the files fetched at once
        self.extra_connections = threading.Semaphore(self.connections.most - 1)
        self.follow_hash = follow_hash  # hash a ranged file as it becomes whole (else after its ranges)
        self._active: List[Any] = []  # ranged transfers under way
        self._active_lock = threading.Lock()
        # path -> stat stamp of a file whose sha256 was verified: skips hashing it again
        self.verified: Dict[str, Dict[str, Any]] = verified if verified is not None else {}

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._session_factory()
        return session

    # -- public -------------------------------------------------------------------------------

    def fetch(self, remote: Remote, folder: PathLike, *, force: bool = False, position: Optional[int] = None, label: Optional[str] = None) -> Outcome:
        """Make ``folder/remote.name`` a whole, verified copy of ``remote``."""
        relative = safe_relative_path(remote.name)
        root = Path(folder)
        target = root.joinpath(*relative.parts)
        ensure_folder(target.parent)
        _check_destination(target)
        if not is_within(target.parent, root):
            raise UnsafePathError(f"refusing to write {remote.name!r}: it would land outside {root}")
        part = target.with_name(target.name + PART_SUFFIX)
        label = label or str(relative)
        size = remote.known_size
        expected_sha = remote.sha256.lower() if remote.sha256 else None

        if force:
            unlink_quietly(part)
            forget(part)
        elif target.is_file() and self._is_whole(target, size, expected_sha):
            return Outcome(remote.name, target, "skipped")

        started = time.monotonic()
        pending: Optional[requests.Response] = None  # a first answer to read as one stream
        if size is not None and worth_ranges(size, self.connections):
            try:
                return self._fetch_ranged(remote, target, part, label, size, expected_sha, position, started)
            except NoRanges as fallback:  # the server sends whole files only: one stream
                unlink_quietly(part)
                forget(part)
                pending = fallback.response
        elif ranges_path(part).exists():  # a part written in ranges: keep what is whole from the start
            keep = prefix_end(load_done(part, size or 0, expected_sha)) if size is not None else 0
            try:
                os.truncate(part, keep)
            except OSError:
                unlink_quietly(part)
            forget(part)
        first_offset = part.stat().st_size if part.is_file() else 0
        if size is not None and first_offset > size:
            unlink_quietly(part)
            first_offset = 0
        transferred = 0
        best = first_offset
        restarted = False
        url, refreshes, restarts = remote.url, 0, 0
        bar = self.console.progress(total=size, desc=label, position=position)
        try:
            delays = iter(self.backoff.delays())
            while True:
                if self.cancel.is_set():
                    raise Cancelled("interrupted")
                offset = part.stat().st_size if part.is_file() else 0
                if size is not None and offset > size:
                    unlink_quietly(part)
                    offset = 0
                state = _State(hashlib.sha256() if expected_sha else None)
                if offset and state.hasher is not None:
                    sha256_of(part, state.hasher, self.cancel)
                bar.reset(total=size)
                bar.update(offset)
                try:
                    if size is None or offset < size:
                        response, pending = pending, None
                        transferred += self._stream(url, part, offset, state, bar, size, response)
                    elif not part.exists():
                        part.touch()
                except Retry as retry:
                    transferred += retry.received
                    have = part.stat().st_size if part.is_file() else 0
                    if have > best:  # the file grew past its best: a fresh budget (not for a restart from 0)
                        best = have
                        delays = iter(self.backoff.delays())
                    delay = next(delays, None)
                    if delay is None:
                        have = part.stat().st_size if part.is_file() else 0
                        raise TransferError(
                            f"downloading {label} failed: {retry.reason}. "
                            f"{human_size(have)} are kept in {part.name}: run the command again to resume"
                        ) from None
                    self._sleep(delay)
                    continue
                except Restart:
                    unlink_quietly(part)
                    restarts += 1
                    if restarts > 2:
                        raise TransferError(
                            f"the server at {describe_url(url)} does not answer range requests consistently: "
                            f"{label} could not be downloaded; try again later"
                        ) from None
                    continue
                except Expired as expired:
                    # a signed link may expire more than once in a long or often cut transfer
                    fresh = remote.refresh() if remote.refresh is not None and refreshes < MAX_REFRESHES else None
                    refreshes += 1
                    if not fresh or fresh == url:
                        raise TransferError(
                            f"the server answered HTTP {expired.status} for {describe_url(url)}: the link may have "
                            "expired; run the command again (what was downloaded is kept)"
                        ) from None
                    url = fresh
                    continue
                except OSError as error:
                    if isinstance(error, requests.RequestException):
                        raise
                    raise _write_failed(part, error) from None
                if self._keep_or_discard(part, target, size, expected_sha, state.hasher, label, restarted):
                    break
                restarted = True
        finally:
            bar.close()
        status = "resumed" if first_offset and not restarted else "downloaded"
        return Outcome(remote.name, target, status, transferred, first_offset if status == "resumed" else 0, time.monotonic() - started)

    def fetch_all(
        self,
        remotes: Sequence[Remote],
        folder: PathLike,
        *,
        force: bool = False,
        workers: int = DEFAULT_WORKERS,
        label_prefix: str = "",
        on_done: Optional[Callable[[Outcome], None]] = None,
    ) -> List[Outcome]:
        """Fetch every remote (a few at once); extract the zips; raise the first failure after all ran."""
        for remote in remotes:  # every name and destination checked before any transfer
            relative = safe_relative_path(remote.name)
            _check_destination(Path(folder).joinpath(*relative.parts))
        from .names import check_distinct

        check_distinct([(remote.name, remote.name) for remote in remotes], "the list of files to download", "nothing was fetched")
        results: List[Optional[Outcome]] = [None] * len(remotes)
        errors: List[BaseException] = []
        lock = threading.Lock()

        def one(index: int) -> None:
            remote = remotes[index]
            label = f"{label_prefix}{remote.name}"
            try:
                outcome = self.fetch(remote, folder, force=force, position=index, label=label)
                if remote.compressed:
                    outcome.extracted = extract_zip_once(outcome.path, Path(folder), remote, refresh=outcome.status != "skipped")
            except BaseException as error:  # reported after the others finished
                with lock:
                    errors.append(error)
                return
            results[index] = outcome
            if on_done is not None:
                with lock:
                    on_done(outcome)

        if len(remotes) <= 1 or workers <= 1:
            for index in range(len(remotes)):
                one(index)
        else:
            # daemon threads: Ctrl-C stops the command at once; a .part is always a prefix of
            # the file (the next run hashes it before resuming), so nothing is lost
            todo: "queue.Queue[int]" = queue.Queue()
            for index in range(len(remotes)):
                todo.put(index)

            def worker() -> None:
                while not self.cancel.is_set():
                    try:
                        index = todo.get_nowait()
                    except queue.Empty:
                        return
                    one(index)

            threads = [
                threading.Thread(target=worker, name="crunch-download", daemon=True)
                for _ in range(min(workers, len(remotes)))
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    while thread.is_alive():
                        thread.join(0.2)  # short waits keep Ctrl-C responsive
            except KeyboardInterrupt:
                self.cancel.set()
                self.checkpoint()  # what is whole is on record even if a range is stuck on its socket
                deadline = time.monotonic() + 2.0
                for thread in threads:
                    thread.join(max(0.0, deadline - time.monotonic()))
                self.checkpoint()
                raise
        if errors:
            first = next((e for e in errors if isinstance(e, KeyboardInterrupt)), None) or errors[0]
            if isinstance(first, CrunchError) and len(errors) > 1:
                raise type(first)(f"{first.message} (and {len(errors) - 1} other file(s) failed)") from None
            raise first
        return [r for r in results if r is not None]

    def checkpoint(self) -> None:
        """Write the ranges file of every ranged transfer under way (what is whole so far)."""
        with self._active_lock:
            active = list(self._active)
        for transfer in active:
            transfer.save(force=True)

    # -- internals ----------------------------------------------------------------------------

    def _is_whole(self, path: Path, size: Optional[int], sha: Optional[str]) -> bool:
        try:
            info = path.stat()
        except OSError:
            return False
        if size is not None and info.st_size != size:
            return False
        if sha is None:
            return True
        if self.verified.get(str(path)) == _stamp(info, sha):
            return True  # verified before and untouched since (same size, mtime and inode)
        if sha256_of(path, cancel=self.cancel).hexdigest() != sha:
            return False
        self._remember(path, sha)
        return True

    def _remember(self, path: Path, sha: Optional[str]) -> None:
        if sha is None:
            return
        try:
            self.verified[str(path)] = _stamp(path.stat(), sha)
        except OSError:
            pass

    @staticmethod
    def _verify(part: Path, size: Optional[int], sha: Optional[str], hasher: Any) -> Optional[str]:
        actual = part.stat().st_size if part.is_file() else 0
        if size is not None and actual != size:
            return f"got {actual} bytes instead of {size}"
        if sha is not None and hasher is not None and hasher.hexdigest() != sha:
            return "its sha256 does not match the announced one"
        return None

    def _fetch_ranged(
        self, remote: Remote, target: Path, part: Path, label: str, size: int, sha: Optional[str], position: Optional[int], started: float
    ) -> Outcome:
        """Fetch ``remote`` as byte ranges at once (:mod:`crunch.transfer.ranges`), verify, rename."""
        from .ranges import RangedTransfer

        first = sum(stop - begin for begin, stop in load_done(part, size, sha))
        transferred, restarted, url = 0, False, remote.url
        bar = self.console.progress(total=size, desc=label, position=position)
        try:
            while True:
                if self.cancel.is_set():
                    raise Cancelled("interrupted")
                hasher = hashlib.sha256() if sha else None
                transfer = RangedTransfer(
                    self, url=url, refresh=remote.refresh, part=part, size=size, sha=sha, hasher=hasher,
                    bar=bar, label=label, connections=self.connections, follow_hash=self.follow_hash,
                )
                with self._active_lock:
                    self._active.append(transfer)
                try:
                    transfer.run()
                except OSError as error:
                    if isinstance(error, requests.RequestException):
                        raise
                    raise _write_failed(part, error) from None
                finally:
                    transferred += transfer.received
                    with self._active_lock:
                        self._active.remove(transfer)
                url = transfer.url
                if self._keep_or_discard(part, target, size, sha, hasher, label, restarted):
                    break
                restarted = True
        finally:
            bar.close()
        status = "resumed" if first and not restarted else "downloaded"
        return Outcome(remote.name, target, status, transferred, first if status == "resumed" else 0, time.monotonic() - started)

    def _keep_or_discard(
        self, part: Path, target: Path, size: Optional[int], sha: Optional[str], hasher: Any, label: str, restarted: bool
    ) -> bool:
        """Rename a part that verifies into place (True). Otherwise delete it and its ranges file:
        False asks for one fresh start; after a fresh start, IntegrityError."""
        problem = self._verify(part, size, sha, hasher)
        if problem is None:
            os.replace(part, target)
            forget(part)
            self._remember(target, sha)
            return True
        unlink_quietly(part)
        forget(part)
        if restarted:
            raise IntegrityError(
                f"{label} did not verify twice ({problem}): it was deleted, nothing corrupt was kept. "
                "The file on the server may be damaged: try again later or tell the competition's organizers"
            )
        self.console.warn(f"{label}: {problem}; downloading it again from the start")
        return False

    def _stream(
        self, url: str, part: Path, offset: int, state: "_State", bar: Any, size: Optional[int], response: Optional[requests.Response] = None
    ) -> int:
        """Append the bytes from ``offset`` to ``part``; return how many arrived. ``response``:
        an answer already received for this URL (read instead of asking again)."""
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        if response is None:
            response = get_data(self.session, url, headers, self.timeout)
        received = 0
        name = part.name[: -len(PART_SUFFIX)]
        with response:
            status = response.status_code
            if transient_status(status):
                raise Retry(f"the server answered HTTP {status}")
            if status == 416 and offset:
                raise Restart()
            if status in (401, 403):
                raise Expired(status)
            if status not in (200, 206):
                raise TransferError(f"the server answered HTTP {status} for {describe_url(url)}: try again later")
            mode = "ab"
            if size is not None:
                check_announced(response, size, offset if status == 206 else 0, part, name, url)
            if status == 206:
                start = content_range_start(response.headers.get("Content-Range"))
                if start != offset:
                    raise Restart()
            elif offset:
                # the server ignored the Range: the whole file comes again, hash it from scratch
                mode = "wb"
                bar.reset(total=size)
                if state.hasher is not None:
                    state.hasher = hashlib.sha256()
                offset = 0
            with open(part, mode) as handle:
                remaining = size - offset if size is not None else int_or_none(response.headers.get("Content-Length"))
                reserved = False
                if remaining is not None and remaining >= RESERVE_MIN:
                    reserved = _reserve(handle, offset, remaining, part, kept=offset if mode == "ab" else 0)
                sink = _Sink(handle, state.hasher, self.pipeline_depth)
                floor = ProgressFloor(self.timeout[1])  # a stream that trickles is cut, then resumed
                try:
                    for chunk in _body_chunks(response, self.chunk_size):
                        if self.cancel.is_set():
                            raise Cancelled("interrupted")
                        if size is not None and offset + received + len(chunk) > size:
                            raise oversize(part, name, url, size)
                        sink.put(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                        floor.update(len(chunk))
                except (requests.RequestException, urllib3_errors()) as error:
                    sink.close()
                    raise Retry(describe_connection_error(error), received) from None
                except BadBody as error:
                    raise TransferError(
                        f"the server sent {name} {error}, which crunch does not decode: nothing more was written; "
                        "try again later or tell the competition's organizers"
                    ) from None
                except TooSlow as slow:
                    sink.close()
                    raise Retry(
                        f"the server sent {human_size(slow.received)} in {slow.window:.0f} s, below the floor of "
                        f"{human_size(MIN_RATE)}/s (CRUNCH_TIMEOUT sets the window)",
                        received,
                    ) from None
                finally:
                    sink.close()
                    if reserved and (remaining is None or received < remaining):
                        _unreserve(handle)  # cut short: the space past the bytes kept goes back
        announced = int_or_none(response.headers.get("Content-Length"))
        if (size is not None and offset + received < size) or (announced is not None and received < announced):
            raise Retry("the connection closed before the end of the file", received)
        return received


class _Sink:
    """Writes each chunk in the receiving thread and hashes it in a second one meanwhile.

    Receiving and writing are the kernel's work and hashing is the CPU's: on two threads they
    keep two cores busy, with no hand-over between receiving and writing. At most ``depth``
    chunks wait for the hasher (shared, not copied), so memory stays bounded; an error of
    the hasher is raised in the receiving thread at the next chunk or at :meth:`close`.
    """

    def __init__(self, handle: Any, hasher: Any, depth: int) -> None:
        self.handle = handle
        self.error: Optional[BaseException] = None
        self.closed = False
        self.waiting: Optional["queue.Queue[Optional[bytes]]"] = None
        self.thread: Optional[threading.Thread] = None
        if hasher is not None:
            self.waiting = queue.Queue(maxsize=max(1, depth))
            self.thread = threading.Thread(target=self._hash, args=(hasher,), name="crunch-download-hash", daemon=True)
            self.thread.start()

    def _hash(self, hasher: Any) -> None:
        assert self.waiting is not None
        while True:
            chunk = self.waiting.get()
            if chunk is None:
                return
            if self.error is not None:
                continue
            try:
                hasher.update(chunk)
            except BaseException as error:  # raised in the receiving thread
                self.error = error

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            self.close()
        if self.waiting is not None:
            self.waiting.put(chunk)
        if len(chunk) <= WRITE_BLOCK:
            self.handle.write(chunk)
            return
        view = memoryview(chunk)
        for start in range(0, len(view), WRITE_BLOCK):
            self.handle.write(view[start : start + WRITE_BLOCK])

    def close(self) -> None:
        """Wait until every chunk is hashed; raise an error of the hasher."""
        if not self.closed:
            self.closed = True
            if self.waiting is not None and self.thread is not None:
                self.waiting.put(None)
                self.thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _body_chunks(response: requests.Response, size: int) -> Iterable[bytes]:
    """The body as it arrives, at most ``size`` bytes at a time (so a cut loses nothing that
    arrived, and the progress floor is judged after each piece)."""
    return body_chunks(response, size)


def _write_failed(part: Path, error: OSError) -> TransferError:
    """The error of a part that could not be written (a full disk, a read-only folder)."""
    return TransferError(
        f"cannot write {part}: {error.strerror or error}. Free some disk space (or fix the folder's "
        "permissions), then run the command again to resume"
    )


def _reserve(handle: Any, offset: int, length: int, part: Path, kept: int) -> bool:
    """Reserve the disk space of the bytes to come (the part keeps its size: it stays a prefix)."""
    try:
        return reserve_space(handle.fileno(), offset, length)
    except OSError as error:
        _unreserve(handle)  # what a failed reservation allocated goes back too
        free = free_space(part.parent)
        have = f" ({human_size(free)} free)" if free is not None else ""
        what = f"; the {human_size(kept)} downloaded so far are kept" if kept else ""
        raise TransferError(
            f"not enough disk space for {part.name[: -len(PART_SUFFIX)]}: {human_size(length)} more are needed "
            f"in {part.parent}{have} ({error.strerror}). Free some space, then run the command again{what}"
        ) from None


def _unreserve(handle: Any) -> None:
    """Give back the reserved blocks past the end of the file (its size does not change)."""
    try:
        handle.flush()
        fd = handle.fileno()
        os.ftruncate(fd, os.fstat(fd).st_size)
    except (OSError, ValueError):
        pass


def _stamp(info: os.stat_result, sha: str) -> Dict[str, Any]:
    return {"size": info.st_size, "mtimeNs": info.st_mtime_ns, "inode": info.st_ino, "sha256": sha}


def _new_session() -> requests.Session:
    return new_session()


def _check_destination(target: Path) -> None:
    """A FileWriteError when the file (or its ``.part``) cannot be put at ``target``: a folder
    or a special file stands there."""
    from ..exceptions import FileWriteError

    for path in (target, target.with_name(target.name + PART_SUFFIX)):
        try:
            mode = path.stat().st_mode
        except OSError:
            continue
        kind = "a folder" if stat.S_ISDIR(mode) else special_kind(mode)
        if kind is not None:
            raise FileWriteError(
                f"{path} is {kind}, where the downloaded file is to be written: remove or rename it, "
                "then run the command again"
            )


# -- zips -------------------------------------------------------------------------------------


def plan_zip(archive: zipfile.ZipFile, folder: Path) -> List[Tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Check every entry of ``archive`` before anything is written; return the files to write."""
    plan: List[Tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in archive.infolist():
        name = info.filename
        if name.startswith(_IGNORED_ZIP_ENTRIES) or name.rsplit("/", 1)[-1] == ".DS_Store":
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UnsafePathError(f"the archive holds a link ({name!r}): refusing to extract it; nothing was written")
        try:
            relative = safe_relative_path(name.rstrip("/") if info.is_dir() else name, "archive entry")
        except UnsafePathError:
            raise UnsafePathError(
                f"the archive entry {name!r} would escape {folder.name}/: refusing to extract it; nothing was written"
            ) from None
        target = folder.joinpath(*relative.parts)
        if not is_within(target, folder):
            raise UnsafePathError(
                f"the archive entry {name!r} would land outside {folder.name}/ (through a link): nothing was written"
            )
        if not info.is_dir():
            plan.append((info, relative))
    from .names import check_distinct

    check_distinct([(info.filename, str(relative)) for info, relative in plan], "the archive", "tell the competition's organizers")
    return plan


def extract_zip(path: PathLike, folder: PathLike) -> List[str]:
    """Extract the zip at ``path`` into ``folder``, each file written atomically; entries are checked first."""
    root = Path(folder)
    try:
        with zipfile.ZipFile(path) as archive:
            plan = plan_zip(archive, root)
            written: List[str] = []
            for info, relative in plan:
                target = root.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.extracting")
                try:
                    with archive.open(info) as source, open(tmp, "wb") as sink:
                        while True:
                            block = source.read(CHUNK_SIZE)
                            if not block:
                                break
                            sink.write(block)
                    os.replace(tmp, target)
                except BaseException:
                    unlink_quietly(tmp)
                    raise
                written.append(str(relative))
            return written
    except zipfile.BadZipFile as error:
        raise IntegrityError(f"{Path(path).name} is not a valid zip archive ({error}): run the command again with --force") from None


def extract_zip_once(path: Path, folder: Path, remote: Remote, refresh: bool) -> List[str]:
    """Extract the archive unless a marker says this very archive was already extracted."""
    marker = folder / f".{path.name}.extracted"
    stamp = f"{remote.sha256 or ''}:{path.stat().st_size}"
    if not refresh and marker.is_file():
        lines = marker.read_text(encoding="utf-8").splitlines()
        if lines and lines[0] == stamp and all((folder / line).is_file() for line in lines[1:]):
            return []
    written = extract_zip(path, folder)
    write_text_atomic(marker, "\n".join([stamp, *written]) + "\n")
    return written


def summary(outcome: Outcome, label: str) -> str:
    """One line for a file: what was done, how much, how fast."""
    if outcome.status == "skipped":
        line = f"{label}: already whole, skipped"
    else:
        rate = outcome.transferred / outcome.elapsed if outcome.elapsed > 0 else 0.0
        verb = f"resumed at {human_size(outcome.resumed_from)}," if outcome.status == "resumed" else "downloaded"
        line = f"{label}: {verb} {human_size(outcome.transferred)} in {outcome.elapsed:.1f} s ({human_size(rate)}/s)"
    if outcome.extracted:
        line += f", extracted {len(outcome.extracted)} file(s)"
    return line


def iter_labels(outcomes: Iterable[Outcome], prefix: str) -> Iterable[Tuple[Outcome, str]]:
    for outcome in outcomes:
        yield outcome, f"{prefix}{outcome.name}"
