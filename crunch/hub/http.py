"""What the hub's routes share to answer over HTTP: JSON answers and error answers, the
names of admin calls, cutting a connection on purpose, telling a loopback client."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any, Dict, Optional

from werkzeug.wrappers import Response

from .store import (
    HubError,
    check_name,
    validation,
)

BLOCK = 1024 * 1024
PACED_BLOCK = 64 * 1024  # blocks of a rate-capped link: a smooth pace


class Dropped(ConnectionAbortedError):
    """Raised after the hub cut a connection on purpose (fault injection)."""


class Cuts:
    """The faults of one answer's body (byte offsets in the body)."""

    def __init__(self, drop: Optional[int], truncate: Optional[int], corrupt: Optional[int], stall: Optional[tuple]) -> None:
        self.drop, self.truncate, self.corrupt, self.stall = drop, truncate, corrupt, stall


def json_answer(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")


def error_answer(error: HubError) -> Response:
    return json_answer(error.to_json(), error.status)


def admin_name(body: Dict[str, Any], field: str, default: str) -> str:
    """A name of an admin call's body (competition, project, user): text of 1 to 200 characters
    without control characters, ``default`` when absent."""
    value = body.get(field)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise validation(field, "must be a text")
    check_name(field, value)
    return value


def cut_connection(environ: Dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def is_loopback(address: Optional[str]) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


