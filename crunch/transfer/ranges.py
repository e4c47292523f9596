"""One big file fetched as several byte ranges at once, each resumable on its own.

Object stores and CDNs cap what one connection gets and answer each request after tens of
milliseconds: several connections, each asking for its own ``Range``, get many times what one
stream gets. The file is cut into pieces handed out in order to ``connections`` workers; each
worker writes what arrives at its place in ``<name>.part`` (``os.pwrite``, or a seek and a write
where the system has none: :class:`~crunch.core.portable.PositionalFile`), so the pieces need
no memory beyond one read each. What is whole is remembered beside the part, in
``<name>.part.ranges`` (JSON, written atomically about every second and when the transfer
stops): a rerun after a cut, a crash or Ctrl-C fetches only the holes. A piece cut in the
middle is asked again from where it stopped, with its own backoff.

The sha256 is computed in file order by a thread that follows the workers and is checked
before the rename, as for a single stream: the chunks written at the hashed end are handed to
it as they arrive (a few at most wait for it, and their writer waits for room while the hash
thread takes from them), and what became whole past them is read back from the page cache
(meanwhile a chunk that finds no room is left on disk to be read back too: nobody waits for a
read-back). The first piece is asked alone: a server that answers it ``200`` (no range
support) gets one stream instead (:class:`NoRanges` carries its answer, which is used).

How many connections: by default (``auto``) the transfer starts on one and adds more only while
they pay. After a short window on one connection, a second one is opened (unless the first
already gets more than the sha256 could follow, or the sha256 already held it back); only if
the two get clearly more than one did are the others opened, and they stay only if they too
add enough. On a link that caps each connection, that is quickly all of them; where one
connection already takes what the machine can write and hash (a fast local network,
loopback), one stays. A fixed count (``--connections N``) opens N at once. Every connection beyond the first of a file comes
from one pool of the :class:`~crunch.transfer.download.Downloader` (the most for one file, less
one), so several big files at once do not multiply the connections.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import requests

from ..api.client import describe_connection_error, transient_status
from ..api.deadline import MIN_RATE, BadBody, ProgressFloor, TooSlow, body_chunks
from ..core.fsutil import free_space, human_size, reserve_space, write_text_atomic
from ..core.jsonshape import load_json
from ..core.portable import PositionalFile
from ..exceptions import ConfigurationError, TransferError
from .common import (
    MAX_REFRESHES,
    Cancelled,
    Expired,
    Oversize,
    Restart,
    Retry,
    check_announced,
    content_range_start,
    describe_url,
    forget,
    get_data,
    ranges_path,
    unlink_quietly,
    urllib3_errors,
)

CONNECTIONS_VARIABLE = "CRUNCH_DOWNLOAD_CONNECTIONS"
PIECE_VARIABLE = "CRUNCH_DOWNLOAD_PIECE_SIZE"  # bytes; smaller pieces for tests
# 8 connections: on a link capped at 40 MiB/s per connection with 30 ms per answer, 8 got 7.5x
# one stream (benchmarks/download.py --throttled); more add little once the disk or the CPU is
# the limit, and a server sees no more than a browser opens
DEFAULT_CONNECTIONS = 8
MAX_CONNECTIONS = 32
AUTO = "auto"
# the adaptive count: each step is judged over a window of at least PROBE_WINDOW seconds and
# WINDOW_BYTES received (a slow link's bytes come in lumps: a window holds many of them), and
# kept only when the connections of the step get at least PAYS times what the step before got
PROBE_WINDOW = 0.15
WINDOW_BYTES = 1 << 20
PAYS = 1.4
# one connection that gets this much is not what limits the transfer: the sha256 that follows
# it runs at about 1.4 GiB/s on one core at best, and more connections would take CPU from it
# (on loopback, 2 connections took 0.1 to 0.2 s more per GiB than one: benchmarks/download.py)
FAST_ENOUGH = 512 << 20
# a window in which the writer at the hashed end waited this share of the time for the hash
# thread is bound by the sha256: more connections cannot make it finish sooner
HASH_BOUND = 0.2
HANDOFF_DEPTH = 4  # chunks waiting for the hash thread (shared, not copied)
MIN_PIECE = 8 << 20  # a file of at least two pieces goes in ranges; one piece costs one round trip
MAX_PIECE = 64 << 20
PIECES_PER_CONNECTION = 4  # pieces handed out in order: the whole prefix (and the hash) follows closely
SAVE_EVERY = 1.0  # seconds between writes of the ranges file
WRITE_BLOCK = 256 << 10  # see download.WRITE_BLOCK
HASH_BLOCK = 1 << 20

Interval = Tuple[int, int]


class NoRanges(Exception):
    """The server answered a range request with the whole file: use this answer as one stream."""

    def __init__(self, response: Optional[requests.Response]) -> None:
        super().__init__("no range support")
        self.response = response


class _Stopped(Exception):
    """Another piece failed or the person interrupted: stop this one (its bytes are kept)."""


@dataclass(frozen=True)
class Connections:
    """How many connections one big file gets: at most ``most``; ``adaptive``: start on one and
    add more only while they pay (else ``most`` at once)."""

    most: int
    adaptive: bool = False


ConnectionsValue = Union[None, int, str, Connections]


def connections_setting(value: ConnectionsValue = None) -> Connections:
    """The connections for one file: ``value`` (a number, or ``auto``), else
    ``CRUNCH_DOWNLOAD_CONNECTIONS``, else ``auto`` with at most :data:`DEFAULT_CONNECTIONS`;
    1 means one stream."""
    if isinstance(value, Connections):
        return value
    where = f"--connections {value}"
    if value is None:
        value = os.environ.get(CONNECTIONS_VARIABLE, "").strip() or AUTO
        where = f"{CONNECTIONS_VARIABLE}={value!r}"
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO:
            return Connections(DEFAULT_CONNECTIONS, adaptive=True)
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(
                f"{where} is not a number of connections: use auto, or 1 (one stream) to {MAX_CONNECTIONS}"
            ) from None
    if not 1 <= value <= MAX_CONNECTIONS:
        raise ConfigurationError(f"{value} connections: use auto, or 1 (one stream) to {MAX_CONNECTIONS}")
    return Connections(value)


def min_piece() -> int:
    text = os.environ.get(PIECE_VARIABLE, "").strip()
    try:
        return max(1, int(text)) if text else MIN_PIECE
    except ValueError:
        raise ConfigurationError(f"{PIECE_VARIABLE}={text!r} is not a number of bytes") from None


def worth_ranges(size: Optional[int], connections: ConnectionsValue) -> bool:
    """Whether a file of ``size`` bytes is fetched in ranges."""
    return size is not None and connections_setting(connections).most > 1 and size >= 2 * min_piece()


def next_step(steps: Sequence[int], at: int, rates: Sequence[float], hash_bound: bool = False) -> Tuple[int, bool]:
    """The adaptive count: ``steps`` are the connection counts tried in turn (1, 2, then the
    most), ``at`` the index of the one just measured and ``rates`` the rate measured at each
    step so far; ``hash_bound``: the sha256 was what held the step back. Returns (the index of
    the count to use now, whether that is final): the next step while the last one paid
    (:data:`PAYS` times the rate of the step before), else the step before, for good. One
    connection that gets :data:`FAST_ENOUGH` stays alone; a step bound by the hash goes no
    further."""
    if at == 0 and (rates[0] >= FAST_ENOUGH or hash_bound):
        return 0, True
    if at > 0 and rates[at] < PAYS * rates[at - 1]:
        return at - 1, True
    if hash_bound:
        return at, True
    if at + 1 < len(steps):
        return at + 1, False
    return at, True


def piece_size(size: int, connections: int, smallest: int) -> int:
    wanted = -(-size // (connections * PIECES_PER_CONNECTION))
    return max(smallest, min(max(MAX_PIECE, smallest), wanted))


# -- intervals --------------------------------------------------------------------------------


def merge(intervals: Sequence[Interval]) -> List[Interval]:
    """Sorted, non-overlapping, non-empty intervals covering the same bytes."""
    merged: List[Interval] = []
    for start, stop in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def holes(done: Sequence[Interval], size: int) -> List[Interval]:
    """The intervals of ``[0, size)`` not in ``done``."""
    missing: List[Interval] = []
    at = 0
    for start, stop in merge(done):
        if start > at:
            missing.append((at, min(start, size)))
        at = max(at, stop)
    if at < size:
        missing.append((at, size))
    return [i for i in missing if i[1] > i[0]]


def prefix_end(done: Sequence[Interval]) -> int:
    """Where the bytes whole from the start end."""
    merged = merge(done)
    return merged[0][1] if merged and merged[0][0] == 0 else 0


def split(missing: Sequence[Interval], step: int) -> List[Interval]:
    pieces: List[Interval] = []
    for start, stop in missing:
        while start < stop:
            pieces.append((start, min(stop, start + step)))
            start += step
    return pieces


# -- the ranges file --------------------------------------------------------------------------


def load_done(part: Path, size: int, sha: Optional[str]) -> List[Interval]:
    """The intervals of ``part`` known whole. Without a ranges file, a part is a prefix (a single
    stream wrote it); a ranges file of another size or sha256 (a new data release) counts nothing."""
    try:
        have = part.stat().st_size
    except OSError:
        return []
    path = ranges_path(part)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [(0, min(have, size))] if have <= size else []
    except OSError:
        return []
    try:
        record = load_json(text)  # nested too deep: a ValueError too
        if record.get("size") != size or (record.get("sha256") or None) != sha:
            return []
        done = [(int(a), int(b)) for a, b in record.get("done", [])]
    except (ValueError, TypeError, AttributeError):
        return []
    # never more than the part holds (it may have been cut short since)
    return merge([(max(0, a), min(b, have, size)) for a, b in done])


def save_done(part: Path, size: int, sha: Optional[str], done: Sequence[Interval]) -> None:
    record = {"size": size, "sha256": sha, "done": [list(i) for i in merge(done)]}
    try:
        write_text_atomic(ranges_path(part), json.dumps(record) + "\n")
    except OSError:
        pass  # the next run then fetches more than needed, never less: the sha256 decides


# -- the transfer -----------------------------------------------------------------------------


@dataclass
class _Piece:
    start: int
    end: int
    pos: int


class RangedTransfer:
    """Fetches the holes of ``part`` from ``url`` on up to ``connections`` connections (a
    number, or a :class:`Connections` that may be adaptive).

    ``downloader`` gives the sessions (one per thread), timeouts, backoff, sleep, the cancel
    event and the pool of extra connections. :meth:`run` returns the bytes received; the caller verifies ``hasher`` (fed in file
    order), renames and forgets the ranges file.
    """

    def __init__(
        self,
        downloader: Any,
        *,
        url: str,
        refresh: Any,
        part: Path,
        size: int,
        sha: Optional[str],
        hasher: Any,
        bar: Any,
        label: str,
        connections: ConnectionsValue,
        follow_hash: bool = True,
    ) -> None:
        self.d = downloader
        self.url = url
        self.refresh = refresh
        self.refreshes = 0
        self.part = part
        self.size = size
        self.sha = sha
        self.hasher = hasher
        self.bar = bar
        self.label = label
        plan = connections_setting(connections)
        self.connections = plan.most
        # the counts tried in turn: 1, 2, then the most (adaptive); else the most at once
        self.steps = sorted({1, min(2, plan.most), plan.most}) if plan.adaptive else [plan.most]
        self.step = 0
        self.target = self.steps[0]  # workers allowed to take pieces now
        self.settled = len(self.steps) == 1
        self.rates: List[float] = []
        # (when, bytes received, seconds waited for the hash thread) at its start
        self.window: Optional[Tuple[float, int, float]] = None
        self.hash_waits = 0.0  # seconds the writer at the hashed end waited for room in the queue
        self.connected = 0  # workers on their connection now (the first, and those with a pool slot)
        self.follow_hash = follow_hash
        self.lock = threading.RLock()  # the pieces, the queue of pieces, the counters
        self.admission = threading.Condition(self.lock)  # the adaptive count: waiting workers wait on it
        self.saving = threading.Lock()
        self.stop = threading.Event()
        self.ranges_ok = threading.Event()
        self.errors: List[BaseException] = []
        self.fallback: Optional[NoRanges] = None
        self.received = 0
        self.pieces: List[_Piece] = []
        self.queue: List[_Piece] = []
        self.done: List[Interval] = []
        self.last_save = 0.0
        self.hashed = 0
        # the end of the bytes hashed or waiting in ``handoff``: a chunk written there goes to the
        # hash thread as it is (the bytes past it that are already whole are read back)
        self.fed = 0
        self.handoff: "Optional[queue.Queue[memoryview]]" = None
        self.handed_over = 0  # bytes hashed from the queue
        self.read_back = 0  # bytes hashed from disk
        self.reading_back = False  # the hash thread reads bytes back from disk (it takes nothing from the queue)
        self.hash_gone = False  # the hash thread ended (done, stopped or failed): nothing is queued any more
        self.hash_error: Optional[OSError] = None
        self.fd = -1
        self.file: Optional[PositionalFile] = None  # reads and writes at an offset of ``fd``
        self.threads: List[threading.Thread] = []

    # -- bookkeeping --------------------------------------------------------------------------

    def whole(self) -> List[Interval]:
        with self.lock:
            return merge(self.done + [(p.start, p.pos) for p in self.pieces])

    def save(self, force: bool = False) -> None:
        """Write the ranges file (at most about once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self.last_save < SAVE_EVERY:
            return
        with self.saving:  # one writer at a time: the last write holds the latest state
            self.last_save = now
            save_done(self.part, self.size, self.sha, self.whole())

    # -- run ----------------------------------------------------------------------------------

    def run(self) -> int:
        self.done = load_done(self.part, self.size, self.sha)
        step = piece_size(self.size, self.connections, min_piece())
        self.pieces = [_Piece(a, b, a) for a, b in split(holes(self.done, self.size), step)]
        self.queue = list(self.pieces)
        self.bar.reset(total=self.size)
        self.bar.update(sum(b - a for a, b in self.done))
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(self.part, flags, 0o644)
        self.file = PositionalFile(self.fd)
        try:
            if os.fstat(self.fd).st_size > self.size:
                os.ftruncate(self.fd, self.size)
            self._reserve()
            self.save(force=True)  # from now on the part is read with its ranges file, never as a prefix
            workers = [
                threading.Thread(target=self._worker, args=(index,), name=f"crunch-range-{index}", daemon=True)
                for index in range(min(self.connections, len(self.queue)))
            ]
            hasher = None
            if self.hasher is not None and self.follow_hash:
                self.handoff = queue.Queue(maxsize=HANDOFF_DEPTH)
                hasher = threading.Thread(target=self._hash_loop, name="crunch-range-hash", daemon=True)
                hasher.start()
            self.threads = [*workers, *([hasher] if hasher is not None else [])]
            for thread in workers:
                thread.start()
            try:
                while True:
                    alive = [thread for thread in workers if thread.is_alive()]
                    if not alive:
                        break
                    self._adapt()
                    alive[0].join(0.05)  # short waits keep Ctrl-C responsive
            except KeyboardInterrupt:
                self.stop.set()
                for thread in workers:
                    thread.join(2.0)
                raise
            finally:
                if self.errors or self.fallback is not None:
                    self.stop.set()  # the hasher stops too
                with self.lock:
                    self.admission.notify_all()
                self.save(force=True)
            if self.fallback is not None:
                self.stop.set()
                if hasher is not None:
                    hasher.join()
                raise self.fallback
            if self.errors:
                self.stop.set()
                if hasher is not None:
                    hasher.join()
                first = next((e for e in self.errors if not isinstance(e, _Stopped)), self.errors[0])
                if isinstance(first, Oversize):  # every worker stopped: nothing writes the part any more
                    unlink_quietly(self.part)
                    forget(self.part)
                if isinstance(first, _Stopped):
                    raise Cancelled("interrupted")
                raise first
            if self.hasher is not None:
                if hasher is None:
                    self._hash_loop()
                else:
                    while hasher.is_alive():
                        hasher.join(0.2)
                if self.hashed < self.size and not self.d.cancel.is_set():
                    why = f" ({self.hash_error.strerror or self.hash_error})" if self.hash_error is not None else ""
                    raise TransferError(
                        f"{self.label}: the parts on disk could not be read back to be hashed{why}: run the command again"
                    )
            return self.received
        finally:
            self.stop.set()
            deadline = time.monotonic() + 2.0
            for thread in self.threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            # a thread still blocked on its socket keeps the file open: its number is never
            # reused for another file while it may still write (it stops at its next read)
            if not any(thread.is_alive() for thread in self.threads):
                os.close(self.fd)

    def _reserve(self) -> None:
        missing = sum(b - a for a, b in holes(self.done, self.size))
        if missing < (8 << 20):
            return
        try:
            reserve_space(self.fd, 0, self.size)
        except OSError as error:
            free = free_space(self.part.parent)
            have = f" ({human_size(free)} free)" if free is not None else ""
            raise TransferError(
                f"not enough disk space for {self.label}: {human_size(missing)} more are needed in "
                f"{self.part.parent}{have} ({error.strerror}). Free some space, then run the command again"
            ) from None

    # -- workers ------------------------------------------------------------------------------

    def _next(self) -> Optional[_Piece]:
        with self.lock:
            return self.queue.pop(0) if self.queue else None

    def _adapt(self) -> None:
        """The adaptive count: measure the step under way over its window, then take the next
        step, or go back one for good (:func:`next_step`)."""
        if self.settled:
            return
        now = time.monotonic()
        with self.lock:
            if not self.received or self.connected < self.target:
                # the window starts with the first bytes, and only once the step's connections
                # are all on (a pool emptied by other files would otherwise judge fewer)
                self.window = None
                return
            if self.window is None:
                self.window = (now, self.received, self.hash_waits)
                return
            since, then, waits = self.window
            if now - since < PROBE_WINDOW or self.received - then < WINDOW_BYTES:
                return
            self.rates.append((self.received - then) / (now - since))
            hash_bound = self.hash_waits - waits >= HASH_BOUND * (now - since)
            step, final = next_step(self.steps, self.step, self.rates, hash_bound)
            if step > self.step and not self.queue:
                step, final = self.step, True  # nothing left to hand out to more connections
            self.step, self.target, self.settled = step, self.steps[step], final
            self.window = None
            self.admission.notify_all()

    def _admitted(self, index: int) -> bool:
        """Wait until worker ``index`` may take pieces (True) or never will (False)."""
        with self.lock:
            while not self.stop.is_set():
                if self.ranges_ok.is_set() and index < self.target:
                    return True
                if (self.settled and index >= self.target) or not self.queue:
                    return False
                self.admission.wait(0.1)
        return False

    def _take_connection(self) -> bool:
        """One connection from the downloader's pool of those beyond each file's first; wait
        while pieces remain to be handed out."""
        while not self.stop.is_set():
            if self.d.extra_connections.acquire(timeout=0.1):
                return True
            with self.lock:
                if not self.queue:
                    return False
        return False

    def _worker(self, index: int) -> None:
        probe = index == 0
        pooled = connected = False
        try:
            if index:
                if not self._admitted(index):
                    return
                pooled = self._take_connection()
                if not pooled:
                    return
            with self.lock:
                self.connected += 1
                connected = True
            while not self.stop.is_set():
                if index >= self.target:
                    return  # the adaptive count went down: this connection is not needed
                piece = self._next()
                if piece is None:
                    return
                self._piece(piece, probe)
                probe = False
        except NoRanges as fallback:
            self.fallback = fallback
            self.stop.set()
        except BaseException as error:  # raised by run() once every worker stopped
            with self.lock:
                self.errors.append(error)
            self.stop.set()
        finally:
            if connected:
                with self.lock:
                    self.connected -= 1
            if pooled:
                self.d.extra_connections.release()

    def _piece(self, piece: _Piece, probe: bool) -> None:
        delays = iter(self.d.backoff.delays())
        best = piece.pos
        while piece.pos < piece.end:
            if self.stop.is_set() or self.d.cancel.is_set():
                raise _Stopped()
            url = self.url
            try:
                self.get_data(piece, url, probe)
            except Retry as retry:
                if piece.pos > best:  # the piece moved on: a fresh budget
                    best = piece.pos
                    delays = iter(self.d.backoff.delays())
                delay = next(delays, None)
                if delay is None:
                    whole = sum(b - a for a, b in self.whole())
                    raise TransferError(
                        f"downloading {self.label} failed: {retry.reason}. {human_size(whole)} are kept in "
                        f"{self.part.name}: run the command again to fetch only what is missing"
                    ) from None
                self.d._sleep(delay)
            except Expired as expired:
                self._refresh(url, expired.status)
            except Restart:
                raise TransferError(
                    f"the server at {_where(url)} does not answer range requests consistently: "
                    f"{self.label} could not be downloaded; try again later"
                ) from None

    def _refresh(self, used: str, status: int) -> None:
        with self.lock:
            if self.url != used:
                return  # another piece got a fresh link already
            fresh = self.refresh() if self.refresh is not None and self.refreshes < MAX_REFRESHES else None
            self.refreshes += 1
            if not fresh or fresh == used:
                raise TransferError(
                    f"the server answered HTTP {status} for {_where(used)}: the link may have expired; "
                    "run the command again (what was downloaded is kept)"
                )
            self.url = fresh

    def get_data(self, piece: _Piece, url: str, probe: bool) -> None:

        headers = {"Accept-Encoding": "identity", "Range": f"bytes={piece.pos}-{piece.end - 1}"}
        response = get_data(self.d.session, url, headers, self.d.timeout)
        status = response.status_code
        if status == 200 and probe:
            raise NoRanges(response)  # the caller reads this answer as one stream
        with response:
            if transient_status(status):
                raise Retry(f"the server answered HTTP {status}")
            if status in (401, 403):
                raise Expired(status)
            if status == 416:
                raise Restart()
            if status != 206:
                raise TransferError(f"the server answered HTTP {status} to a range request for {_where(url)}: try again later")
            if content_range_start(response.headers.get("Content-Range")) != piece.pos:
                raise Restart()
            # a server that holds more than the release announced: stopped, the part removed
            check_announced(response, self.size, piece.pos, self.part, self.label, url, remove=False)
            self.ranges_ok.set()
            floor = ProgressFloor(self.d.timeout[1])
            try:
                for chunk in body_chunks(response, self.d.chunk_size):
                    if self.stop.is_set() or self.d.cancel.is_set():
                        raise _Stopped()
                    count = min(len(chunk), piece.end - piece.pos)
                    self._write(chunk, count, piece.pos)
                    with self.lock:
                        at = piece.pos
                        piece.pos += count
                        self.received += count
                        if self.handoff is not None:
                            self._hand_over(at, memoryview(chunk)[:count])
                        self.bar.update(count)
                    floor.update(count)
                    self.save()
                    if piece.pos >= piece.end:
                        break
            except (requests.RequestException, urllib3_errors()) as error:
                raise Retry(describe_connection_error(error)) from None
            except TooSlow as slow:
                raise Retry(
                    f"the server sent {human_size(slow.received)} in {slow.window:.0f} s, below the floor of "
                    f"{human_size(MIN_RATE)}/s (CRUNCH_TIMEOUT sets the window)"
                ) from None
            except BadBody as error:
                raise TransferError(
                    f"the server sent a range of {self.label} {error}, which crunch does not decode: "
                    "try again later or tell the competition's organizers"
                ) from None
        if piece.pos < piece.end:
            raise Retry("the connection closed before the end of its range")

    def _write(self, chunk: bytes, count: int, offset: int) -> None:
        view = memoryview(chunk)[:count]
        written = 0
        while written < count:
            written += self.file.write(view[written : written + WRITE_BLOCK], offset + written)  # type: ignore[union-attr]

    # -- hash -----------------------------------------------------------------------------------

    def _hand_over(self, at: int, view: memoryview) -> None:
        """Queue ``view``, the bytes written at ``at``, for the hash thread if they are the next
        it needs (``at`` is ``fed``). Called under the lock, so the chunks queue in file order.
        A full queue makes the writer wait while the hash thread takes from it (without the
        lock, which it never waits for); while the hash thread reads back from disk instead,
        the chunk is left there and read back with what follows it."""
        assert self.handoff is not None
        if at != self.fed:
            return  # ahead of the hashed end: read back once whole from the start
        began = time.monotonic()
        while True:
            try:
                self.handoff.put(view, timeout=0.02)
                break
            except queue.Full:
                if self.stop.is_set() or self.d.cancel.is_set():
                    raise _Stopped() from None
                if self.reading_back or self.hash_gone:  # it claims no range while the lock is held: this one stays
                    return
        self.hash_waits += time.monotonic() - began
        self.fed += len(view)

    def _hash_loop(self) -> None:
        """Hash the file in order until its end; a read error is kept for :meth:`run`."""
        try:
            self._hash_in_order()
        except OSError as error:
            self.hash_error = error
        finally:
            self.hash_gone = True

    def _hash_in_order(self) -> None:
        """The chunks handed over as they arrive, and what is whole past them read back from
        disk. This thread never waits for the lock (a writer may hold it while it waits for
        room in the queue): it takes the lock only when it is free within a moment, and its
        pauses are those of the queue."""
        while self.hashed < self.size:
            if self.handoff is not None:
                try:
                    view = self.handoff.get(timeout=0.05)
                except queue.Empty:
                    pass
                else:
                    self.hasher.update(view)
                    self.hashed += len(view)
                    self.handed_over += len(view)
                    continue
            if not self.lock.acquire(timeout=0.05):
                continue
            try:
                if self.handoff is not None and not self.handoff.empty():
                    continue  # chunks arrived: hash them first
                # chunks are queued under the lock: with none waiting, every byte fed is hashed
                available = prefix_end(self.done + [(p.start, p.pos) for p in self.pieces])
                if available > self.fed:
                    start, self.fed = self.fed, available  # chunks written there from now on are handed over
                    self.reading_back = True
                elif self.stop.is_set() or self.d.cancel.is_set() or self.handoff is None:
                    return  # stopped (the caller reports why), or, hashing after the ranges, nothing more comes
                else:
                    continue
            finally:
                self.lock.release()
            while start < available:
                block = self.file.read(min(HASH_BLOCK, available - start), start)  # type: ignore[union-attr]
                if not block:
                    return
                self.hasher.update(block)
                start += len(block)
                self.hashed = start
                self.read_back += len(block)
            self.reading_back = False


def _where(url: str) -> str:
    return describe_url(url)
