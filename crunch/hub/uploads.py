"""Uploads: made, read, listed and deleted in batches; their chunks' links, chunks received and
confirmed; completed or aborted.

The routes of :class:`crunch.hub.app.HubApp` for this resource (a mixin: ``self`` is the app, with
its store, settings and shared helpers)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from typing import Dict, List, Optional
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from ..core.portable import PositionalFile
from .faults import Pacer
from .http import (
    BLOCK,
    PACED_BLOCK,
    Dropped,
    cut_connection,
    json_answer,
)
from .shapes import CLASSIC
from .store import (
    HubError,
    refuse_control_characters,
    validation,
)


class UploadRoutes:
    def on_create_upload(self, request: Request) -> Response:
        project_id, user_id = self._uploader(request)
        body = self._body(request)
        name, size = body.get("name"), body.get("size")
        if not isinstance(name, str) or not name:
            raise validation("name", "is required")
        refuse_control_characters("name", name, "file name")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise validation("size", "must be a non-negative integer")
        if body.get("encrypted"):
            raise validation("encrypted", "the local hub does not take encrypted uploads")
        preferred = body.get("preferredChunkSize")
        if preferred is not None and (not isinstance(preferred, int) or preferred < 1):
            raise validation("preferredChunkSize", "must be a positive integer")
        if size > 1 << 50:
            raise validation("size", "is larger than any file the hub takes")
        if len(name) > 4096:
            raise validation("name", "is longer than 4096 characters")
        upload_id = self.store.create_upload(project_id, name, size, preferred, user_id=user_id)
        return json_answer(self._upload_json(self.store.upload(upload_id)))

    def on_get_upload(self, request: Request, u: str) -> Response:
        return json_answer(self._upload_json(self._own_upload(request, u)))

    def _upload_ids(self, request: Request) -> List[str]:
        ids = self._body(request).get("uploadIds") or []
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
            raise validation("uploadIds", "must be a list of upload ids")
        if len(ids) > 10_000:
            raise validation("uploadIds", "at most 10000 ids in one call")
        return [str(i) for i in ids]

    def _owned(self, request: Request, ids: List[str]) -> Dict[str, Optional[sqlite3.Row]]:
        """Each id's upload when the caller made it, else None (unknown, or another project's)."""
        project_id, user_id = self._uploader(request)
        found: Dict[str, Optional[sqlite3.Row]] = {}
        for upload_id in ids:
            try:
                row = self.store.upload(upload_id)
            except HubError:
                row = None
            found[upload_id] = row if row is not None and self.store.owns_upload(row, project_id, user_id) else None
        return found

    def on_batch_list_uploads(self, request: Request) -> Response:
        owned = self._owned(request, self._upload_ids(request))
        return json_answer({"uploads": {i: None if row is None else self._upload_json(row) for i, row in owned.items()}})

    def on_batch_delete_uploads(self, request: Request) -> Response:
        owned = self._owned(request, self._upload_ids(request))
        return json_answer({"uploads": {i: "DELETED" if row is not None and self.store.delete_upload(i) else "NOT_FOUND" for i, row in owned.items()}})

    def on_chunk_request(self, request: Request, u: str, n: int) -> Response:
        self._own_upload(request, u)
        upload, chunk = self.store.chunk(u, n)
        return json_answer({"method": "PUT", "url": self._link(request, f"/_upload/{u}/{n}"), "headers": {}})

    def on_confirm_chunk(self, request: Request, u: str, n: int) -> Response:
        self._own_upload(request, u)
        value = self._body(request).get("hash")
        if not isinstance(value, str) or not value:
            raise validation("hash", "is required (the ETag of the chunk's PUT)")
        self.store.confirm_chunk(u, n, value)
        answer = self._upload_json(self.store.upload(u))
        chunk = next(c for c in answer["chunks"] if c["number"] == n)
        if self.shapes != CLASSIC:  # current: the confirmed chunk
            return json_answer(chunk)
        # classic: the upload, plus the confirmed chunk's own fields (read by other clients)
        answer.update({k: chunk[k] for k in ("number", "offset", "last", "completed", "completedAt")})
        return json_answer(answer)

    def on_complete_upload(self, request: Request, u: str) -> Response:
        self._own_upload(request, u)
        self.store.complete_upload(u)
        return json_answer(self._upload_json(self.store.upload(u)))

    def on_abort_upload(self, request: Request, u: str) -> Response:
        self._own_upload(request, u)
        self.store.abort_upload(u)
        return json_answer(self._upload_json(self.store.upload(u)))

    def on_delete_upload(self, request: Request, u: str) -> Response:
        row = self._upload_json(self._own_upload(request, u))
        self.store.delete_upload(u)
        row["status"] = "DELETED"
        return json_answer(row)

    def on_put_chunk(self, request: Request, u: str, n: int) -> Response:
        self.store.check_signature(quote(request.path), request.args.get("expires"), request.args.get("signature"))
        upload, chunk = self.store.chunk(u, n)
        length = request.content_length
        if length is None:
            if request.environ.get("wsgi.input_terminated"):  # chunked transfer encoding
                length = chunk["size"]
            else:
                length = 0
        if length != chunk["size"]:
            raise validation("body", f"chunk {n} is {chunk['size']} bytes, the body has {length}")
        rate, latency, _ = self.faults.link_shape()
        if latency:
            time.sleep(latency)
        pacer = Pacer(rate)
        drop = request.environ.get("crunch.hub.drop_after")
        stall = request.environ.get("crunch.hub.stall")
        corrupt = request.environ.get("crunch.hub.corrupt_at") is not None
        # the drop or stall (if any) is for this request body; a corruption, for the ETag
        request.environ["crunch.hub.drop_after"] = request.environ["crunch.hub.stall"] = None
        request.environ["crunch.hub.corrupt_at"] = None
        stream = request.environ["wsgi.input"]
        md5 = hashlib.md5()
        # every chunk is written in place, at its offset of the upload's file: `complete` then
        # only checks and renames, whatever the number of chunks
        self.store.chunk_receiving(u, n)
        part = self.store.part_path(u)
        part.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        writer = PositionalFile(fd)
        received = 0
        try:
            while received < length:
                want = min(PACED_BLOCK if rate else BLOCK, length - received)
                if stall is not None:
                    if received >= stall[0]:
                        self.faults.count_stall()
                        time.sleep(stall[1])
                        stall = None
                    else:
                        want = min(want, stall[0] - received)
                if drop is not None:
                    want = min(want, drop - received)
                    if want <= 0:
                        self.faults.count_drop()
                        cut_connection(request.environ)
                        raise Dropped("fault injection: request body cut")
                block = stream.read(want)
                if not block:
                    raise HubError(400, "VALIDATION_FAILED", "the body ended early", fieldErrors=[{"field": "body", "message": "too short"}])
                self.faults.received(request.path, len(block))
                md5.update(block)
                writer.write(block, chunk["offset"] + received)
                received += len(block)
                pacer.wait(len(block))
            etag = md5.hexdigest()
        finally:
            os.close(fd)
        self.store.chunk_received(u, n, etag)
        response = Response(b"", status=200)
        if corrupt:  # the ETag arrives damaged: the confirm will not match
            self.faults.count_corrupt()
            response.headers["ETag"] = f'"{etag[:-1]}{"0" if etag[-1] != "0" else "1"}"'
        else:
            response.headers["ETag"] = f'"{etag}"'
        return response
