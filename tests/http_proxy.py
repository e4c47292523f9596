"""A small HTTP proxy for tests: forwards to a hub, records every request, answers some itself."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Tuple
from urllib.parse import urlsplit

Answer = Tuple[int, Dict[str, str], bytes]


@dataclass
class Trickle:
    """An answer whose headers come at once and whose body comes ``piece`` bytes every
    ``interval`` seconds (its whole ``Content-Length`` announced), until sent or the client leaves."""

    body: bytes
    piece: int = 1
    interval: float = 0.2
    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)


class CraftingProxy:
    """An HTTP server on ``host`` (127.0.0.1) that forwards to ``upstream`` unless a rule answers.

    ``rules`` maps a path prefix to ``fn(method, path, forward) -> Answer | Trickle | "hang" | None``;
    ``forward()`` returns the upstream's own answer (status, headers, body). ``requests`` holds
    ``(method, path with query, headers)`` of every request received.
    """

    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        self.upstream = urlsplit(upstream)
        self.rules: Dict[str, Callable[..., Any]] = {}
        self.requests: List[Tuple[str, str, Dict[str, str]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.requests.append((self.command, self.path, dict(self.headers)))

                def forward() -> Answer:
                    return proxy.forward(self.command, self.path, dict(self.headers), body)

                answer = None
                for prefix, rule in proxy.rules.items():
                    if self.path.split("?")[0].startswith(prefix):
                        answer = rule(self.command, self.path, forward)
                        break
                if answer is None:
                    answer = forward()
                if answer == "hang":  # announce a huge body, send a little, then never finish
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(50 * 1024**3))
                    self.end_headers()
                    try:
                        self.wfile.write(b"PAR1" + b"\0" * 1000)
                        self.wfile.flush()
                        time.sleep(8)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                if isinstance(answer, Trickle):
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    try:
                        for start in range(0, len(answer.body), answer.piece):
                            self.wfile.write(answer.body[start : start + answer.piece])
                            self.wfile.flush()
                            time.sleep(answer.interval)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                status, headers, payload = answer
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def forward(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> Answer:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "content-length")}
            connection.request(method, path, body=body if method in ("POST", "PUT") else None, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
