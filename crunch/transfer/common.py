"""What streamed (:mod:`crunch.transfer.download`) and ranged (:mod:`crunch.transfer.ranges`)
downloads share: how a transfer is stopped or retried, the GET of a data link, what its answer
announces, the bytes past the announced size, the part's files on disk."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import urlsplit

import requests

from ..api.client import RedirectRefused, describe_connection_error, send_following
from ..api.deadline import DeadlineExceeded, answer_seconds
from ..exceptions import CrunchError, IntegrityError, TransferError

MAX_REFRESHES = 3  # fresh links asked for one file when the server refuses the one it has
RANGES_SUFFIX = ".ranges"  # <name>.part.ranges beside <name>.part


class Cancelled(CrunchError):
    """A transfer stopped before its end: by the person (Ctrl-C), or because another transfer
    of the same command failed (an upload of several files stops at the first failure)."""

    exit_code = 130


class Retry(Exception):
    """A transient failure: the part on disk is kept and the transfer resumes from it."""

    def __init__(self, reason: str, received: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.received = received


class Expired(Exception):
    """The server refused the link (401/403): a signed URL may have expired."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Restart(Exception):
    """The part on disk cannot be resumed (the server disagrees about it): start over."""


def describe_url(url: str) -> str:
    """``url`` without its query (signatures) or credentials, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else parts.path


def get_data(session: requests.Session, url: str, headers: Dict[str, str], timeout: Any) -> requests.Response:
    """GET a data link (redirects: http(s) only, a few at most); a failed connection is a :class:`Retry`."""
    try:
        return send_following(session, "GET", url, headers=headers, stream=True, timeout=timeout)
    except RedirectRefused as refused:
        raise TransferError(f"downloading {describe_url(url)} failed: {refused.message}") from None
    except DeadlineExceeded:
        seconds = answer_seconds(timeout[1] if isinstance(timeout, tuple) else timeout)
        raise Retry(f"the server did not finish the headers of its answer within {seconds:g} s") from None
    except requests.RequestException as error:
        raise Retry(describe_connection_error(error)) from None


def announced_total(response: requests.Response, start: int) -> Optional[int]:
    """The size of the whole file as the answer gives it: the total of its ``Content-Range``,
    else (a whole, unencoded body) ``start`` plus its ``Content-Length``; None when it says none."""
    match = re.match(r"\s*bytes\s+\d+-\d+/(\d+)\s*$", response.headers.get("Content-Range") or "")
    if match:
        return int(match.group(1))
    if response.status_code != 200 or (response.headers.get("Content-Encoding") or "identity").strip().lower() != "identity":
        return None  # a compressed body's length says nothing of the file's
    length = int_or_none(response.headers.get("Content-Length"))
    return start + length if length is not None else None


class Oversize(IntegrityError):
    """A server sent (or announced) more bytes than the data release said the file holds."""


def check_announced(response: requests.Response, size: int, start: int, part: Path, name: str, url: str, remove: bool = True) -> None:
    """An answer that says the file is bigger than its release announced is refused before
    anything is written (``remove``: and the part is removed now, else by the caller)."""
    total = announced_total(response, start)
    if total is not None and total > size:
        raise oversize(part, name, url, size, f" (the server announces {total})", remove)


def oversize(part: Path, name: str, url: str, size: int, said: str = "", remove: bool = True) -> Oversize:
    """The error of a server that sends more than the data release announced; the part is
    removed (``remove``), or is to be removed by the caller once nothing writes it."""
    if remove:
        unlink_quietly(part)
        forget(part)
    return Oversize(
        f"{describe_url(url)} sent more than the {size} bytes its data release announced for {name}{said}: "
        "the download was stopped and its part removed. Try again later, or tell the competition's organizers"
    )



def int_or_none(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def urllib3_errors() -> Any:
    import urllib3.exceptions

    return urllib3.exceptions.HTTPError


def content_range_start(value: Optional[str]) -> Optional[int]:
    match = re.match(r"\s*bytes\s+(\d+)-", value or "")
    return int(match.group(1)) if match else None


def unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def ranges_path(part: Path) -> Path:
    return part.with_name(part.name + RANGES_SUFFIX)


def forget(part: Path) -> None:
    try:
        ranges_path(part).unlink()
    except FileNotFoundError:
        pass
