"""Data files and quickstarter files, served by their signed links (ranges, the link faults).

The routes of :class:`crunch.hub.app.HubApp` for this resource (a mixin: ``self`` is the app, with
its store, settings and shared helpers)."""

from __future__ import annotations

import time
from typing import Iterator
from urllib.parse import quote

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from .faults import Pacer
from .http import (
    BLOCK,
    PACED_BLOCK,
    json_answer,
)
from .store import (
    HubError,
)


class FileRoutes:
    def on_file(self, request: Request, rel: str) -> Response:
        self.store.check_signature(quote(request.path), request.args.get("expires"), request.args.get("signature"))
        path = self.store.path_of(rel)
        if not path.is_file():
            raise HubError(404, "NOT_FOUND", "no such file")
        info = path.stat()
        size = info.st_size
        etag = f'"{size:x}-{info.st_mtime_ns:x}"'
        rate, latency, ignore_range = self.faults.link_shape()
        if latency:
            time.sleep(latency)
        start, stop, status = 0, size, 200
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "ETag": etag,
            "Last-Modified": http_date(info.st_mtime),
        }
        header = request.headers.get("Range")
        if ignore_range:  # a server without range support: the whole file, every time
            del headers["Accept-Ranges"]
            header = None
        if_range = request.headers.get("If-Range")
        if header and if_range and if_range != etag and if_range != headers["Last-Modified"]:
            header = None  # the file changed since the first part: send it whole
        if header:
            parsed = request.range
            if parsed is not None and len(parsed.ranges) == 1:
                bounds = parsed.range_for_length(size)
                if bounds is None:
                    response = json_answer({"code": "RANGE_NOT_SATISFIABLE", "message": f"the file has {size} bytes"}, 416)
                    response.headers["Content-Range"] = f"bytes */{size}"
                    return response
                start, stop = bounds
                status = 206
                headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        headers["Content-Length"] = str(stop - start)
        request.environ["crunch.hub.count"] = request.path

        def body() -> Iterator[bytes]:
            pacer = Pacer(rate)
            step = PACED_BLOCK if rate else BLOCK
            with open(path, "rb") as fd:
                fd.seek(start)
                left = stop - start
                while left > 0:
                    block = fd.read(min(step, left))
                    if not block:
                        break
                    left -= len(block)
                    pacer.wait(len(block))  # the block is sent when its last byte is due
                    yield block

        response = Response(body(), status=status, headers=headers, direct_passthrough=True)
        return response
