"""Unit tests of the chunked uploads against a fake hub served by requests-mock."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any, Dict, List, Optional

import pytest
import requests
import requests_mock as requests_mock_module

from crunch import exceptions as exc
from crunch.api import Backoff, Client
from crunch.code.files import SelectedFile
from crunch.transfer.upload import Uploader

API = "http://hub.test/"
STORAGE = "http://storage.test/"


class FakeHub:
    """The upload calls of docs/protocol.md (8-13) in memory, with faults to inject on chunk PUTs."""

    def __init__(self, chunk_size: int = 10, storage: str = STORAGE) -> None:
        self.chunk_size = chunk_size
        self.storage = storage
        self.uploads: Dict[str, Dict[str, Any]] = {}
        self.submissions: List[Dict[str, Any]] = []
        self.calls: List[str] = []
        self.put_offsets: List[tuple] = []
        self.faults: List[Any] = []  # per PUT: None, an int status, "drop", ("drop", n bytes) or "etag" (a wrong one)
        self.chunk_faults: Dict[int, List[Any]] = {}  # the same, per chunk number
        self.put_tokens: List[Optional[str]] = []
        self.submission_error: Optional[Dict[str, Any]] = None
        # per submission POST: None, an int status (nothing created), "lose" (created, the answer
        # lost), "timeout" (a read timeout, nothing created)
        self.submission_faults: List[Any] = []
        self.create_error: Optional[Dict[str, Any]] = None
        self.lock = threading.Lock()

    # -- helpers --------------------------------------------------------------------------
    def pending(self) -> List[str]:
        return [i for i, u in self.uploads.items() if u["status"] in ("PENDING", "IN_PROGRESS")]

    def data(self, upload_id: str) -> bytes:
        upload = self.uploads[upload_id]
        return b"".join(upload["data"][c["number"]] for c in upload["chunks"])

    def _view(self, upload: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in upload.items() if k not in ("data", "hashes")}

    # -- the matcher ----------------------------------------------------------------------
    def __call__(self, request: Any) -> Any:
        url = request.url
        path = url.split("?")[0]
        with self.lock:
            self.calls.append(f"{request.method} {path}")
        create = requests_mock_module.create_response
        if path.startswith(self.storage):
            return self._put(request, path)
        if not path.startswith(API):
            return None
        tail = path[len(API) :]
        if request.method == "POST" and tail == "v1/uploads":
            if self.create_error:
                return create(request, status_code=400, json=self.create_error)
            body = request.json()
            size, preferred = body["size"], body.get("preferredChunkSize") or self.chunk_size
            step = min(self.chunk_size, preferred)
            chunks, offset, number = [], 0, 1
            while offset < size or (size == 0 and number == 1):
                length = min(step, size - offset)
                chunks.append({"number": number, "offset": offset, "size": length, "last": offset + length >= size, "completed": False})
                offset += length
                number += 1
                if size == 0:
                    break
            with self.lock:
                upload_id = f"u{len(self.uploads) + 1}"
                self.uploads[upload_id] = {
                    "id": upload_id, "name": body["name"], "size": size, "chunked": True, "status": "PENDING",
                    "provider": "AWS_S3", "chunks": chunks, "data": {}, "hashes": {},
                }
            return create(request, status_code=200, json=self._view(self.uploads[upload_id]))
        match = re.fullmatch(r"v1/uploads/(\w+)/chunks/(\d+)/(request|confirm)", tail)
        if match:
            upload = self.uploads.get(match.group(1))
            if upload is None or upload["status"] in ("FAILED", "EXPIRED", "ABORTED"):
                return create(request, status_code=404, json={"code": "UPLOAD_NOT_FOUND", "message": "no such upload"})
            number = int(match.group(2))
            if match.group(3) == "request":
                return create(request, json={"method": "PUT", "url": f"{self.storage}put/{upload['id']}/{number}?signature=sig", "headers": {"x-amz-acl": "private"}})
            given = request.json()["hash"]
            if upload["hashes"].get(number) != given:
                return create(request, status_code=400, json={"code": "VALIDATION_FAILED", "message": "bad hash", "fieldErrors": [{"field": "hash", "message": "does not match"}]})
            upload["chunks"][number - 1]["completed"] = True
            upload["status"] = "IN_PROGRESS"
            return create(request, json=self._view(upload))
        match = re.fullmatch(r"v1/uploads/(\w+)(?:/(complete|abort))?", tail)
        if match:
            upload = self.uploads.get(match.group(1))
            if upload is None:
                return create(request, status_code=404, json={"code": "UPLOAD_NOT_FOUND", "message": "no such upload"})
            action = match.group(2)
            if request.method == "DELETE":
                del self.uploads[upload["id"]]
                return create(request, status_code=204)
            if action == "abort":
                upload["status"] = "ABORTED"
                return create(request, json=self._view(upload))
            if action == "complete":
                if not all(c["completed"] for c in upload["chunks"]):
                    return create(request, status_code=400, json={"code": "VALIDATION_FAILED", "message": "missing chunks"})
                upload["status"] = "SUCCEEDED"
                return create(request, json=self._view(upload))
        match = re.fullmatch(r"v4/competitions/([^/]+)/projects/([^/]+)/([^/]+)/submissions", tail)
        if match and request.method == "POST":
            if self.submission_error:
                return create(request, status_code=403, json=self.submission_error)
            fault = self.submission_faults.pop(0) if self.submission_faults else None
            if isinstance(fault, int):
                return create(request, status_code=fault, json={"code": "SERVICE_UNAVAILABLE", "message": "later"})
            if fault == "timeout":
                raise requests.exceptions.ReadTimeout("read timed out")
            body = request.json()
            for upload_id in [*body["codeFiles"].values(), *body["modelFiles"].values()]:
                assert self.uploads[upload_id]["status"] == "SUCCEEDED"
            number = len(self.submissions) + 1
            self.submissions.append(body)
            if fault == "lose":
                raise requests.exceptions.ConnectionError("connection reset by peer")
            return create(request, json={"id": number, "number": number, "message": body["message"], "createdAt": "now"})
        match = re.fullmatch(r"v3/competitions/([^/]+)/projects/([^/]+)/([^/]+)/submissions", tail)
        if match and request.method == "GET":
            return create(request, json=[
                {"id": n, "number": n, "message": b["message"], "createdAt": "now"} for n, b in enumerate(self.submissions, 1)
            ])
        return create(request, status_code=404, json={"code": "NOT_FOUND", "message": tail})

    def _put(self, request: Any, path: str) -> Any:
        create = requests_mock_module.create_response
        upload_id, number = path.split("/")[-2], int(path.split("/")[-1])
        self.put_tokens.append(request.headers.get("Authorization"))
        assert "pushToken" not in request.url
        assert request.headers.get("x-amz-acl") == "private"
        body = request.body
        chunk = self.uploads[upload_id]["chunks"][number - 1]
        assert int(request.headers["Content-Length"]) == chunk["size"]
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
            if self.chunk_faults.get(number):
                fault = self.chunk_faults[number].pop(0)
            self.put_offsets.append((upload_id, number, chunk["offset"]))
        received = bytearray()
        if body is None or isinstance(body, (bytes, str)):
            received.extend(body or b"")
        else:
            for block in body:
                received.extend(block)
                if isinstance(fault, tuple) and len(received) >= fault[1]:
                    raise requests.ConnectionError("connection reset by peer")
        if fault == "drop":
            raise requests.ConnectionError("connection reset by peer")
        if isinstance(fault, int):
            return create(request, status_code=fault, text="<html>oops</html>")
        assert len(received) == chunk["size"]
        digest = hashlib.md5(bytes(received)).hexdigest()
        self.uploads[upload_id]["data"][number] = bytes(received)
        self.uploads[upload_id]["hashes"][number] = digest
        if fault == "etag":
            digest = "0" * 32
        return create(request, status_code=200, headers={"ETag": f'"{digest}"'})


@pytest.fixture()
def fake_hub():
    hub = FakeHub()
    with requests_mock_module.Mocker() as mocker:
        mocker.add_matcher(hub)
        yield hub


def make_client(**kwargs: Any) -> Client:
    return Client(API, push_token="tok-secret-123", backoff=Backoff(retries=kwargs.pop("retries", 3), base=0), sleep=lambda s: None, **kwargs)


def make_file(tmp_path, name: str, data: bytes) -> SelectedFile:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return SelectedFile(path=name, source=path, size=len(data))


PAYLOAD = bytes(range(256)) * 3 + b"tail"  # 772 bytes: 78 chunks of 10


def test_upload_sends_every_chunk_once_and_completes(fake_hub, tmp_path):
    file = make_file(tmp_path, "model.bin", PAYLOAD)
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10)
    upload_id = uploader.upload_file("resources/model.bin", file)
    assert fake_hub.uploads[upload_id]["status"] == "SUCCEEDED"
    assert fake_hub.data(upload_id) == PAYLOAD
    assert len(fake_hub.put_offsets) == 78
    assert sorted(o for _, _, o in fake_hub.put_offsets) == list(range(0, 772, 10))
    assert fake_hub.put_tokens == [None] * 78  # no credentials on the signed chunk URLs


def test_dropped_chunk_is_resent_from_its_offset(fake_hub, tmp_path):
    file = make_file(tmp_path, "model.bin", PAYLOAD)
    fake_hub.faults = [None, None, ("drop", 4), "drop", 503]
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10, chunk_workers=1)
    upload_id = uploader.upload_file("model.bin", file)
    assert fake_hub.data(upload_id) == PAYLOAD
    third = [o for u, n, o in fake_hub.put_offsets if n == 3]
    assert third == [20, 20, 20, 20]  # three failures, then the chunk went through from offset 20


def test_chunk_whose_confirm_does_not_match_is_sent_again(fake_hub, tmp_path):
    file = make_file(tmp_path, "model.bin", PAYLOAD)
    fake_hub.faults = [None, "etag", "etag"]
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10, chunk_workers=1)
    upload_id = uploader.upload_file("model.bin", file)
    assert fake_hub.data(upload_id) == PAYLOAD
    assert [o for u, n, o in fake_hub.put_offsets if n == 2] == [10, 10, 10]


def test_chunk_whose_confirm_never_matches_ends_the_upload(fake_hub, tmp_path):
    file = make_file(tmp_path, "model.bin", PAYLOAD)
    fake_hub.chunk_faults = {1: ["etag"] * 10}
    uploader = Uploader(make_client(retries=2), sleep=lambda s: None, chunk_size=10, chunk_workers=1)
    with pytest.raises(exc.TransferError) as info:
        uploader.upload_all([("model.bin", file)])
    assert "checksum did not match" in str(info.value) and "nothing was submitted" in str(info.value)
    assert fake_hub.pending() == []


def test_chunks_of_one_file_go_two_at_a_time_and_retry_independently(fake_hub, tmp_path):
    file = make_file(tmp_path, "model.bin", PAYLOAD)
    fake_hub.chunk_faults = {5: ["drop", 503], 40: [("drop", 3)]}
    upload_id = Uploader(make_client(), sleep=lambda s: None, chunk_size=10, chunk_workers=2).upload_file("model.bin", file)
    assert fake_hub.data(upload_id) == PAYLOAD
    assert [o for _, n, o in fake_hub.put_offsets if n == 5] == [40, 40, 40]
    assert [o for _, n, o in fake_hub.put_offsets if n == 40] == [390, 390]


def test_progress_is_rolled_back_on_retry(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 25)
    fake_hub.faults = [("drop", 5)]
    seen: List[int] = []
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10)
    uploader.upload_file("a.bin", file, on_bytes=seen.append)
    assert sum(seen) == 25
    assert -10 in seen or -5 in seen


def test_backoff_delays_are_used(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 5)
    fake_hub.faults = ["drop", 500]
    slept: List[float] = []
    client = Client(API, push_token="tok-secret-123", backoff=Backoff(retries=3, base=0.25), sleep=slept.append)
    Uploader(client, sleep=slept.append, chunk_size=10).upload_file("a.bin", file)
    assert slept == [0.25, 0.5]


def test_failure_for_good_aborts_every_upload_and_names_the_file(fake_hub, tmp_path):
    small = [make_file(tmp_path, f"f{i}.py", b"print(1)\n" * i) for i in range(1, 6)]
    big = make_file(tmp_path, "resources/big.bin", PAYLOAD)
    fake_hub.chunk_size = 100
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=100, workers=3)
    fake_hub.faults = [None] * 3 + [503] * 50
    with pytest.raises(exc.TransferError) as info:
        uploader.upload_all([(f.path, f) for f in small] + [(big.path, big)])
    message = str(info.value)
    assert "could not be sent" in message and "HTTP 503" in message and "nothing was submitted" in message
    assert re.search(r"uploading (f\d\.py|resources/big\.bin) failed", message)
    assert fake_hub.uploads == {}  # every upload made was deleted
    assert fake_hub.pending() == []
    assert fake_hub.submissions == []
    assert any(call.endswith("/abort") for call in fake_hub.calls)


def test_chunk_refused_with_4xx_is_not_retried(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 5)
    fake_hub.faults = [403]
    with pytest.raises(exc.UploadError) as info:
        Uploader(make_client(), sleep=lambda s: None).upload_all([("a.bin", file)])
    assert "chunk 1/1 of a.bin was refused" in str(info.value)
    assert len(fake_hub.put_offsets) == 1
    assert fake_hub.uploads == {}


@pytest.mark.parametrize("status", [429, 500, 503, 520])
def test_chunk_answered_busy_is_sent_again(fake_hub, tmp_path, status):
    file = make_file(tmp_path, "a.bin", b"x" * 5)
    fake_hub.faults = [status]
    Uploader(make_client(), sleep=lambda s: None).upload_all([("a.bin", file)])
    assert len(fake_hub.put_offsets) == 2
    assert fake_hub.pending() == []


def test_hub_refusal_keeps_its_type(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 5)
    fake_hub.create_error = {"code": "MODEL_TOO_BIG", "message": "too big"}
    with pytest.raises(exc.ModelTooBigError) as info:
        Uploader(make_client(), sleep=lambda s: None).upload_all([("a.bin", file)])
    assert "10 GB" in str(info.value) and "nothing was submitted" in str(info.value)


def test_many_files_at_once_and_empty_files(fake_hub, tmp_path):
    files = [make_file(tmp_path, f"d/{i}.txt", (b"%d" % i) * i) for i in range(0, 20)]
    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10, workers=4)
    ids = uploader.upload_all([(f.path, f) for f in files])
    assert set(ids) == {f.path for f in files}
    for f in files:
        assert fake_hub.data(ids[f.path]) == f.source.read_bytes()
        assert fake_hub.uploads[ids[f.path]]["status"] == "SUCCEEDED"


def test_file_shrinking_while_sent_is_an_error(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 30)
    file.source.write_bytes(b"x" * 12)
    with pytest.raises(exc.TransferError) as info:
        Uploader(make_client(), sleep=lambda s: None, chunk_size=10).upload_all([("a.bin", file)])
    assert "became shorter" in str(info.value)
    assert fake_hub.uploads == {}


def test_in_memory_file_is_uploaded(fake_hub):
    file = SelectedFile(path="requirements.txt", source=None, size=11, content=b"pandas==2\n\n")
    upload_id = Uploader(make_client(), sleep=lambda s: None).upload_file("requirements.txt", file)
    assert fake_hub.data(upload_id) == b"pandas==2\n\n"


def test_token_never_in_error(fake_hub, tmp_path):
    file = make_file(tmp_path, "a.bin", b"x" * 5)
    fake_hub.faults = ["drop"] * 10
    with pytest.raises(exc.TransferError) as info:
        Uploader(make_client(retries=1), sleep=lambda s: None).upload_all([("a.bin", file)])
    assert "tok-secret-123" not in str(info.value)
    assert json.dumps(fake_hub.calls).count("tok-secret") == 0


class _Storage:
    """A real HTTP server for the chunk PUTs (the rest of the hub stays mocked)."""

    def __init__(self) -> None:
        import http.server
        import time

        self.seen: List[tuple] = []
        self.active, self.peak = 0, 0
        self.lock = threading.Lock()
        self.hub: Optional[FakeHub] = None
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802
                with storage.lock:
                    storage.active += 1
                    storage.peak = max(storage.peak, storage.active)
                time.sleep(0.05)
                length = int(self.headers["Content-Length"])
                storage.seen.append((self.headers.get("Transfer-Encoding"), length, self.headers.get("x-amz-acl")))
                data = self.rfile.read(length)
                with storage.lock:
                    storage.active -= 1
                if len(data) < length:
                    return
                upload_id, number = self.path.split("?")[0].split("/")[-2:]
                digest = hashlib.md5(data).hexdigest()
                storage.hub.uploads[upload_id]["data"][int(number)] = data
                storage.hub.uploads[upload_id]["hashes"][int(number)] = digest
                self.send_response(200)
                self.send_header("ETag", f'"{digest}"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def storage():
    server = _Storage()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture()
def real_hub(storage):
    """The fake hub for the API calls, the real server for the chunk bodies."""
    hub = FakeHub(chunk_size=3 * 1024 * 1024 + 7, storage=storage.url)
    storage.hub = hub
    with requests_mock_module.Mocker(real_http=True) as mocker:
        mocker.add_matcher(lambda request: None if request.url.startswith(hub.storage) else hub(request))
        yield hub


def test_chunks_stream_over_a_real_socket_with_content_length(tmp_path, storage, real_hub):
    """The chunk body goes out with a Content-Length (no chunked encoding), byte-exact,
    every chunk of the file at once (fewer than the connections allowed)."""
    payload = bytes(range(256)) * (40 * 1024)  # 10 MiB: 4 chunks, the last one short
    file = make_file(tmp_path, "big.bin", payload)
    upload_id = Uploader(make_client(), sleep=lambda s: None).upload_file("big.bin", file)
    assert real_hub.data(upload_id) == payload
    seen = storage.seen
    assert [s[0] for s in seen] == [None] * 4
    assert sorted(s[1] for s in seen) == sorted([3 * 1024 * 1024 + 7] * 3 + [len(payload) - 3 * (3 * 1024 * 1024 + 7)])
    assert all(s[2] == "private" for s in seen)
    assert storage.peak == 4


def test_chunks_in_flight_are_bounded_across_files(tmp_path, storage, real_hub):
    """Two files of four chunks each, three connections: never more than three chunks at once."""
    payload = bytes(range(256)) * (40 * 1024)
    files = [("a.bin", make_file(tmp_path, "a.bin", payload)), ("b.bin", make_file(tmp_path, "b.bin", payload[::-1]))]
    ids = Uploader(make_client(), sleep=lambda s: None, chunk_workers=3).upload_all(files)
    assert real_hub.data(ids["a.bin"]) == payload and real_hub.data(ids["b.bin"]) == payload[::-1]
    assert len(storage.seen) == 8
    assert storage.peak == 3


def test_file_changed_under_a_real_socket_is_not_taken_for_a_network_error(tmp_path, storage, real_hub):
    file = make_file(tmp_path, "big.bin", b"x" * (7 * 1024 * 1024))
    file.source.write_bytes(b"x" * (5 * 1024 * 1024))
    with pytest.raises(exc.TransferError) as info:
        Uploader(make_client(), sleep=lambda s: None).upload_all([("big.bin", file)])
    assert "big.bin became shorter" in str(info.value)
    assert real_hub.uploads == {}


def test_missing_file_is_named(tmp_path, storage, real_hub):
    file = make_file(tmp_path, "gone.bin", b"x" * 100)
    file.source.unlink()
    with pytest.raises(exc.TransferError) as info:
        Uploader(make_client(), sleep=lambda s: None).upload_all([("gone.bin", file)])
    assert "cannot read gone.bin" in str(info.value)
    assert len(storage.seen) == 0 and real_hub.uploads == {}


def test_interruption_cancels_the_uploads(fake_hub, tmp_path):
    files = [make_file(tmp_path, f"{i}.bin", b"x" * 50) for i in range(6)]

    def interrupt(count):
        raise KeyboardInterrupt

    uploader = Uploader(make_client(), sleep=lambda s: None, chunk_size=10)
    original = uploader.upload_file
    uploader.upload_file = lambda name, file, on_bytes=None: original(name, file, interrupt if name == "3.bin" else on_bytes)
    with pytest.raises(KeyboardInterrupt):
        uploader.upload_all([(f.path, f) for f in files])
    assert fake_hub.uploads == {}
