"""The threaded HTTP server of the hub (Werkzeug's), with request logs that never show a token."""

from __future__ import annotations

import re
import socket
import sys
from typing import Any, Optional, Sequence

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.serving import make_server as _make_server

from .app import HubApp, make_app
from .faults import Faults

_SECRETS = re.compile(r"(?i)(pushToken|signature|cloneToken)=[^&\s]+")


class _Handler(WSGIRequestHandler):
    verbose = False

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        if self.verbose:
            line = _SECRETS.sub(lambda m: f"{m.group(1)}=***", self.requestline)
            sys.stderr.write(f"hub: {line} {code}\n")

    def log_error(self, format: str, *args: Any) -> None:
        if self.verbose:
            super().log_error(format, *args)

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            sys.stderr.write("hub: " + _SECRETS.sub(lambda m: f"{m.group(1)}=***", format % args) + "\n")


def make_server(
    host: str,
    port: int,
    root: str,
    *,
    faults: Optional[Faults] = None,
    daily_limit: int = 5,
    debug: bool = False,
    shapes: Optional[str] = None,
    allow_hosts: Sequence[str] = (),
) -> BaseWSGIServer:
    """A threaded server of a hub rooted at ``root``; ``server.app`` is the :class:`HubApp`;
    ``shapes``: its answers' shapes, ``current`` or ``classic`` (see :func:`crunch.hub.app.make_app`);
    ``allow_hosts``: other names (``HOST`` or ``HOST:PORT``) a request's ``Host`` may give
    (besides the bound address: see :mod:`crunch.hub.guard`)."""
    app: HubApp = make_app(root, daily_limit=daily_limit, faults=faults, shapes=shapes)

    class Handler(_Handler):
        verbose = debug

    # bind here, so that a busy port is an OSError for the caller (not Werkzeug's exit)
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
        server = _make_server(host, port, app, threaded=True, request_handler=Handler, fd=listener.fileno())
    except BaseException:
        app.store.close()
        raise
    finally:
        listener.close()  # the server holds its own duplicate
    server.daemon_threads = True
    server.server_port = server.server_address[1]
    try:
        app.guard.bind(host, server.server_port, allow_hosts)
    except ValueError:
        server.server_close()
        app.store.close()
        raise
    return server


class BackgroundHub:
    """A hub served by a thread of this process (for ``crunch demo`` and notebooks).

    ``with BackgroundHub(root) as hub: ... hub.url ...``; ``hub.app`` is the :class:`HubApp`.
    """

    def __init__(self, root: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        import threading

        self.server = make_server(host, port, root, **options)
        self.app: HubApp = self.server.app  # type: ignore[assignment]
        self.url = f"http://{host}:{self.server.server_port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self.app.stop_runs()
        self.app.store.close()

    def __enter__(self) -> "BackgroundHub":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
