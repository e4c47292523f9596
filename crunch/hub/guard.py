"""What keeps the local hub safe to run where others (and web pages) can reach it.

- **The admin secret.** Calls under ``/_admin/`` need the hub's admin secret in the
  ``X-Crunch-Hub-Secret`` header. The secret is made on the hub's first start and kept in
  ``<root>/admin-secret`` (mode 0600); ``crunch hub serve`` shows it once, when it is made.
- **Its own address only.** A request whose ``Host`` is not an address of this hub (the
  address and port it is bound to; for a loopback bind also ``127.0.0.1``, ``localhost`` and
  ``[::1]``; for a wildcard bind any IP literal and this machine's names; the host of the
  ``filesBaseUrl`` setting; names given with ``--allow-host``) is refused: a web page that
  makes its own name resolve to 127.0.0.1 (DNS rebinding) still sends its own name.
- **No other site.** A request whose ``Origin`` is not this hub (or is ``null``), or that a
  browser marks ``Sec-Fetch-Site: cross-site``, is refused: a web page cannot post a
  ``text/plain`` body to the hub.
- **Bounded bodies.** A JSON body is at most :data:`MAX_JSON_BODY` bytes and
  :data:`MAX_JSON_DEPTH` levels deep.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import socket
from pathlib import Path
from typing import Any, Iterable, Optional, Set, Tuple
from urllib.parse import urlsplit

from .store import HubError

SECRET_FILE = "admin-secret"
SECRET_HEADER = "X-Crunch-Hub-Secret"
SECRET_ENVIRON = "HTTP_X_CRUNCH_HUB_SECRET"
MAX_JSON_BODY = 16 * 1024 * 1024  # a submission's body lists every file: generous, not absurd
MAX_JSON_DEPTH = 32
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def secret_path(root: os.PathLike | str) -> Path:
    return Path(root) / SECRET_FILE


def load_or_create_secret(root: os.PathLike | str) -> Tuple[str, bool]:
    """The admin secret of the hub rooted at ``root`` and whether it was made just now (first
    start, or a file that was empty). The file is created with mode 0600, and put back to 0600
    when found readable by others."""
    path = secret_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if text:
        if os.name == "posix" and path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        return text, False
    value = "hub-" + secrets.token_urlsafe(32)
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (value + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    try:
        os.link(temporary, path)  # never replaces a secret another process made meanwhile
    except FileExistsError:
        existing = path.read_text(encoding="utf-8").strip()
        if existing:
            return existing, False
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return value, True


def check_admin_secret(expected: str, given: Optional[str]) -> None:
    if not given:
        raise HubError(
            401, "ADMIN_SECRET_REQUIRED",
            f"admin calls need the hub's admin secret in the {SECRET_HEADER} header (it is in the file admin-secret of the hub's root)",
        )
    if not hmac.compare_digest(expected.encode("utf-8"), given.strip().encode("utf-8", errors="replace")):
        raise HubError(403, "INVALID_ADMIN_SECRET", "the admin secret does not match the one in the hub's root")


def split_host(value: str) -> Tuple[str, Optional[int]]:
    """``host[:port]`` (``[v6]:port`` too) as (lower-case host without brackets, port or None)."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            raise ValueError(value)
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError(value)
        port_text = rest[1:] if rest else ""
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    elif ":" in value:  # a bare IPv6 address
        host, port_text = value, ""
    else:
        host, port_text = value, ""
    if port_text and not port_text.isdigit():
        raise ValueError(value)
    port = int(port_text) if port_text else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(value)
    return host.rstrip("."), port


def _ip(host: str) -> Optional[Any]:
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None


class HostGuard:
    """Which ``Host`` and ``Origin`` headers the hub accepts (see the module's text)."""

    def __init__(self) -> None:
        self.bound: Optional[Tuple[str, int]] = None  # (address, port) of the listening socket
        self.extra: Set[Tuple[str, Optional[int]]] = set()  # --allow-host names

    def bind(self, host: str, port: int, allowed: Iterable[str] = ()) -> None:
        self.bound = (host.strip("[]").lower(), port)
        self.extra = set()
        for name in allowed:
            try:
                self.extra.add(split_host(name))
            except ValueError:
                raise ValueError(f"{name!r} is not a host name (HOST or HOST:PORT)") from None

    def _names(self) -> Tuple[Set[str], bool]:
        """The names of this hub and whether any IP literal is one of its addresses."""
        assert self.bound is not None
        host = self.bound[0]
        address = _ip(host)
        names = {host}
        if address is not None and address.is_loopback or host == "localhost":
            names.update(LOOPBACK_NAMES)
        if address is not None and address.is_unspecified:
            names.update(LOOPBACK_NAMES)
            for name in (socket.gethostname(), socket.getfqdn()):
                if name:
                    names.add(name.lower().rstrip("."))
            return names, True
        return names, False

    def allows(self, host_header: Optional[str], files_base_url: Optional[str] = None) -> bool:
        if host_header is None:
            return True  # no browser leaves it out (HTTP/1.0 tools do)
        try:
            host, port = split_host(host_header)
        except ValueError:
            return False
        if files_base_url:
            parts = urlsplit(files_base_url)
            try:
                base_port = parts.port or (443 if parts.scheme == "https" else 80)
            except ValueError:
                base_port = None
            if parts.hostname and host == parts.hostname.lower() and (port or 80) == base_port:
                return True
        for name, extra_port in self.extra:
            if host == name and (extra_port is None or extra_port == (port or 80)):
                return True
        if self.bound is None:  # an app without a socket (tests through Werkzeug's client)
            return host in LOOPBACK_NAMES
        if (port or 80) != self.bound[1]:
            return False
        names, any_ip = self._names()
        return host in names or (any_ip and _ip(host) is not None)

    def check(self, environ: dict, files_base_url: Optional[str] = None) -> None:
        """Refuse (403 with a code) a request meant for another name, or sent by another site."""
        if not self.allows(environ.get("HTTP_HOST"), files_base_url):
            raise HubError(
                403, "HOST_NOT_ALLOWED",
                "the Host header does not name this hub (add --allow-host to `crunch hub serve` for another name)",
            )
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None:
            parts = urlsplit(origin.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or not self.allows(parts.netloc, files_base_url):
                raise HubError(403, "CROSS_ORIGIN_REFUSED", "requests from another site are refused")
        if (environ.get("HTTP_SEC_FETCH_SITE") or "").lower() == "cross-site":
            raise HubError(403, "CROSS_ORIGIN_REFUSED", "requests from another site are refused")


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects deeper than ``limit`` (no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


__all__ = [
    "HostGuard",
    "MAX_JSON_BODY",
    "MAX_JSON_DEPTH",
    "SECRET_FILE",
    "SECRET_HEADER",
    "check_admin_secret",
    "json_depth_exceeds",
    "load_or_create_secret",
    "secret_path",
]
