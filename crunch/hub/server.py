"""The threaded HTTP server of the hub (Werkzeug's), with request logs that never show a token."""

from __future__ import annotations

import re
import sys
from typing import Any, Optional

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
) -> BaseWSGIServer:
    """A threaded server of a hub rooted at ``root``; ``server.app`` is the :class:`HubApp`."""
    app: HubApp = make_app(root, daily_limit=daily_limit, faults=faults)

    class Handler(_Handler):
        verbose = debug

    server = _make_server(host, port, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True
    return server
