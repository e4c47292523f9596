"""Fault injection and counters of one running hub (in memory, reset on restart).

Faults apply to requests whose path starts with ``path_prefix`` (every path when unset),
never to the admin calls under ``/_admin/``:

``fail_next``
    answer the next K matching requests with ``503 {"code": "SERVICE_UNAVAILABLE"}``.
``errorCode`` (with ``errorStatus``, ``errorMessage``, ``errorExtra``, ``errorTimes``)
    answer the next ``errorTimes`` matching requests (default 1) with the platform's error body
    ``{"code": errorCode, "message": errorMessage, **errorExtra}`` and the status ``errorStatus``
    (default 400, 400-599); ``errorMessage`` defaults to a sentence naming the code; ``errorExtra``
    (an object, without ``code`` or ``message``) adds top-level fields, as the platform's errors
    carry (``fieldErrors``, ``runId``...). ``errorCode: null`` clears it. The request is not
    handled (nothing is stored). A bad value is refused (``400 VALIDATION_FAILED``).
``drop_after``
    for the next ``drop_times`` matching requests (default 1), cut a body after N bytes: a
    request body (a chunk ``PUT``) is read up to N bytes and the connection is closed; a
    response body is sent up to N bytes (its full ``Content-Length`` announced), then the
    connection is closed.
``delay``
    sleep S seconds before answering every matching request (until changed), or only the
    next ``delay_times`` matching requests when that is given.
``truncate_at``
    for the next ``truncate_times`` matching answers (default 1), send only the first N
    bytes of the body with a ``Content-Length`` of N: a complete HTTP answer whose body is
    cut (a JSON answer that does not parse, a file shorter than announced elsewhere).
``corrupt``
    for the next K matching answers, flip one byte of the body (XOR 0x80, so text stops
    being valid UTF-8) at ``corrupt_at`` (default: the middle of the body). A chunk ``PUT``,
    whose answer has no body, gets a wrong ``ETag`` instead, so its confirm fails.
``stall_after`` / ``stall``
    for the next matching body (answer, or chunk ``PUT`` request), pause ``stall`` seconds
    after N bytes; ``stalls`` in the counters says a stall began (to kill the hub mid-body).

Link shape (data file and chunk links only, whatever ``pathPrefix`` says; until changed):

``rateCap``
    at most this many bytes a second on each connection: every data file answer and every
    chunk ``PUT`` body is paced (a client gets more only by opening more connections, as
    with object stores and CDNs); ``null`` or 0: no cap.
``latency``
    seconds added before each data file answer and each chunk ``PUT`` is handled (the round
    trip of a distant server).
``ignoreRange``
    data file answers drop ``Accept-Ranges`` and ignore ``Range``: the whole file, ``200``
    (a server without range support).

Counters: requests received (by path), bytes of response bodies served and of request
bodies received (by path, without the query string), connections dropped, 503s sent,
bodies corrupted or truncated, stalls begun, and the most data file bodies under way at once
(in all, and by path): how many connections a client used.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any, Dict, Optional, Tuple

from .store import validation


class Faults:
    def __init__(
        self,
        fail_next: int = 0,
        drop_after: Optional[int] = None,
        delay: float = 0.0,
        rate_cap: Optional[float] = None,
        latency: float = 0.0,
    ) -> None:
        self._lock = threading.Lock()
        self.fail_next = fail_next
        self.drop_after = drop_after
        self.drop_times = 1 if drop_after is not None else 0
        self.delay = delay
        self.delay_times: Optional[int] = None
        self.truncate_at: Optional[int] = None
        self.truncate_times = 0
        self.corrupt = 0
        self.corrupt_at: Optional[int] = None
        self.stall_after: Optional[int] = None
        self.stall = 0.0
        self.path_prefix: Optional[str] = None
        self.method: Optional[str] = None
        self.rate_cap: Optional[float] = rate_cap or None
        self.latency = latency
        self.ignore_range = False
        self._clear_error()
        self.reset_counters()

    def _clear_error(self) -> None:
        self.error_code: Optional[str] = None
        self.error_status = 400
        self.error_message: Optional[str] = None
        self.error_extra: Dict[str, Any] = {}
        self.error_times = 0

    # -- configuration --------------------------------------------------------------------------

    def configure(self, values: Dict[str, Any]) -> None:
        """Apply an admin call's JSON: keys given replace the current values; ``reset`` clears first.
        A bad error fault is refused (:class:`~crunch.hub.store.HubError`) before anything changes."""
        error = _error_fault(values) if "errorCode" in values else None
        with self._lock:
            if values.get("reset"):
                self.fail_next, self.drop_after, self.drop_times, self.delay = 0, None, 0, 0.0
                self.delay_times = self.truncate_at = self.corrupt_at = self.stall_after = None
                self.truncate_times = self.corrupt = 0
                self.stall = 0.0
                self.path_prefix = self.method = None
                self.rate_cap, self.latency, self.ignore_range = None, 0.0, False
                self._clear_error()
            if error is not None:
                self.error_code, self.error_status, self.error_message, self.error_extra, self.error_times = error
            elif "errorCode" in values:
                self._clear_error()
            if "failNext" in values:
                self.fail_next = max(0, int(values["failNext"] or 0))
            if "dropAfter" in values:
                value = values["dropAfter"]
                self.drop_after = None if value is None else max(0, int(value))
                self.drop_times = int(values.get("dropTimes", 1)) if self.drop_after is not None else 0
            elif "dropTimes" in values:
                self.drop_times = int(values["dropTimes"])
            if "delay" in values:
                self.delay = max(0.0, float(values["delay"] or 0))
                self.delay_times = None
            if "delayTimes" in values:
                value = values["delayTimes"]
                self.delay_times = None if value is None else max(0, int(value))
            if "truncateAt" in values:
                value = values["truncateAt"]
                self.truncate_at = None if value is None else max(0, int(value))
                self.truncate_times = int(values.get("truncateTimes", 1)) if self.truncate_at is not None else 0
            if "corrupt" in values:
                self.corrupt = max(0, int(values["corrupt"] or 0))
                value = values.get("corruptAt")
                self.corrupt_at = None if value is None else max(0, int(value))
            if "stallAfter" in values:
                value = values["stallAfter"]
                self.stall_after = None if value is None else max(0, int(value))
                self.stall = max(0.0, float(values.get("stall", 30.0) or 0))
            if "pathPrefix" in values:
                self.path_prefix = values["pathPrefix"] or None
            if "method" in values:
                self.method = (values["method"] or "").upper() or None
            if "rateCap" in values:
                self.rate_cap = max(0.0, float(values["rateCap"] or 0)) or None
            if "latency" in values:
                self.latency = max(0.0, float(values["latency"] or 0))
            if "ignoreRange" in values:
                self.ignore_range = bool(values["ignoreRange"])

    def describe(self) -> Dict[str, Any]:
        with self._lock:
            return {
                "failNext": self.fail_next,
                "dropAfter": self.drop_after if self.drop_times > 0 else None,
                "dropTimes": self.drop_times,
                "delay": self.delay,
                "delayTimes": self.delay_times,
                "truncateAt": self.truncate_at if self.truncate_times > 0 else None,
                "truncateTimes": self.truncate_times,
                "corrupt": self.corrupt,
                "corruptAt": self.corrupt_at,
                "stallAfter": self.stall_after,
                "stall": self.stall,
                "errorCode": self.error_code if self.error_times > 0 else None,
                "errorStatus": self.error_status,
                "errorMessage": self.error_message,
                "errorExtra": dict(self.error_extra),
                "errorTimes": self.error_times,
                "pathPrefix": self.path_prefix,
                "method": self.method,
                "rateCap": self.rate_cap,
                "latency": self.latency,
                "ignoreRange": self.ignore_range,
            }

    # -- per request ----------------------------------------------------------------------------

    def _matches(self, method: str, path: str) -> bool:
        if path.startswith("/_admin/"):
            return False
        if self.path_prefix and not path.startswith(self.path_prefix):
            return False
        return not (self.method and method.upper() != self.method)

    def on_request(self, method: str, path: str) -> Dict[str, Any]:
        """Count the request and decide its faults: ``{"delay", "fail", "error", "drop_after",
        "truncate_at", "corrupt_at", "stall_after", "stall"}`` (``corrupt_at`` -1: the middle;
        ``error``: ``(status, body)`` of an error answer to send instead of handling the request)."""
        with self._lock:
            if not path.startswith("/_admin/"):
                self.requests += 1
                self.requests_by_path[path] += 1
            decision: Dict[str, Any] = {
                "delay": 0.0, "fail": False, "error": None, "drop_after": None, "truncate_at": None, "corrupt_at": None,
                "stall_after": None, "stall": 0.0,
            }
            if not self._matches(method, path):
                return decision
            if self.delay and self.delay_times != 0:
                decision["delay"] = self.delay
                if self.delay_times is not None:
                    self.delay_times -= 1
            if self.fail_next > 0:
                self.fail_next -= 1
                self.failed += 1
                decision["fail"] = True
                return decision
            if self.error_code is not None and self.error_times > 0:
                self.error_times -= 1
                self.errors += 1
                message = self.error_message or f"fault injection: {self.error_code}"
                decision["error"] = (self.error_status, {"code": self.error_code, "message": message, **self.error_extra})
                if self.error_times <= 0:
                    self._clear_error()
                return decision
            if self.drop_after is not None and self.drop_times > 0:
                self.drop_times -= 1
                decision["drop_after"] = self.drop_after
                if self.drop_times <= 0:
                    self.drop_after = None
                return decision
            if self.truncate_at is not None and self.truncate_times > 0:
                self.truncate_times -= 1
                decision["truncate_at"] = self.truncate_at
                if self.truncate_times <= 0:
                    self.truncate_at = None
                return decision
            if self.corrupt > 0:
                self.corrupt -= 1
                decision["corrupt_at"] = -1 if self.corrupt_at is None else self.corrupt_at
                return decision
            if self.stall_after is not None:
                decision["stall_after"], decision["stall"] = self.stall_after, self.stall
                self.stall_after = None
            return decision

    def link_shape(self) -> Tuple[Optional[float], float, bool]:
        """(bytes a second per connection or None, seconds added per answer, Range ignored?)
        of the data file and chunk links."""
        with self._lock:
            return self.rate_cap, self.latency, self.ignore_range

    # -- counters -------------------------------------------------------------------------------

    def reset_counters(self) -> None:
        self.requests = 0
        self.failed = 0
        self.errors = 0
        self.dropped = 0
        self.corrupted = 0
        self.truncated = 0
        self.stalls = 0
        self.requests_by_path: Counter = Counter()
        self.bytes_served: Counter = Counter()
        self.bytes_received: Counter = Counter()
        self.under_way: Counter = Counter()
        self.most_under_way: Counter = Counter()
        self.most_under_way_all = 0

    def served(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_served[path] += count

    def body_began(self, path: str) -> None:
        with self._lock:
            self.under_way[path] += 1
            self.most_under_way[path] = max(self.most_under_way[path], self.under_way[path])
            self.most_under_way_all = max(self.most_under_way_all, sum(self.under_way.values()))

    def body_ended(self, path: str) -> None:
        with self._lock:
            if self.under_way[path] > 0:  # the counters may have been reset meanwhile
                self.under_way[path] -= 1

    def received(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_received[path] += count

    def count_drop(self) -> None:
        with self._lock:
            self.dropped += 1

    def count_corrupt(self) -> None:
        with self._lock:
            self.corrupted += 1

    def count_truncate(self) -> None:
        with self._lock:
            self.truncated += 1

    def count_stall(self) -> None:
        with self._lock:
            self.stalls += 1

    def stats(self) -> Dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "requestsByPath": dict(self.requests_by_path),
                "failedRequests": self.failed,
                "errorAnswers": self.errors,
                "droppedConnections": self.dropped,
                "corruptedBodies": self.corrupted,
                "truncatedBodies": self.truncated,
                "stalls": self.stalls,
                "bytesServed": dict(self.bytes_served),
                "bytesReceived": dict(self.bytes_received),
                "totalBytesServed": sum(self.bytes_served.values()),
                "totalBytesReceived": sum(self.bytes_received.values()),
                "mostBodiesAtOnce": self.most_under_way_all,
                "mostBodiesAtOnceByPath": dict(self.most_under_way),
            }


def _error_fault(values: Dict[str, Any]) -> Optional[Tuple[str, int, Optional[str], Dict[str, Any], int]]:
    """The error fault of an admin call (``None``: ``errorCode`` null, no error fault), checked."""
    code = values.get("errorCode")
    if code is None or code == "":
        return None
    if not isinstance(code, str):
        raise validation("errorCode", "must be a text (the error's code) or null")
    status = values.get("errorStatus", 400)
    if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
        raise validation("errorStatus", "must be an HTTP error status, 400 to 599")
    message = values.get("errorMessage")
    if message is not None and not isinstance(message, str):
        raise validation("errorMessage", "must be a text")
    extra = values.get("errorExtra") or {}
    if not isinstance(extra, dict):
        raise validation("errorExtra", "must be an object of extra fields")
    if "code" in extra or "message" in extra:
        raise validation("errorExtra", "must not hold code or message (errorCode and errorMessage give them)")
    times = values.get("errorTimes", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise validation("errorTimes", "must be an integer >= 1")
    return code, status, message, dict(extra), times


class Pacer:
    """Keeps one connection's body at most ``rate`` bytes a second: :meth:`wait` with each
    block sleeps until the bytes so far, that block included, are due (no cap when ``rate``
    is None)."""

    def __init__(self, rate: Optional[float]) -> None:
        self.rate = rate
        self.start = time.monotonic()
        self.count = 0

    def wait(self, count: int) -> None:
        if not self.rate:
            return
        self.count += count
        due = self.start + self.count / self.rate
        late = due - time.monotonic()
        if late > 0:
            time.sleep(late)
