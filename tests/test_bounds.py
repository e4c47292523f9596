"""Answers cannot exhaust the machine: bounded decoding, bounded API answers, bounded JSON
depth, data bodies never written past their announced size, and headers trickled one byte
at a time bounded by the call's deadline like bodies are."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Iterator, List

import pytest
import requests
from conftest import Hub, run_crunch
from http_proxy import CraftingProxy

from crunch.api.client import Backoff, Client
from crunch.api.deadline import (
    MAX_ANSWER,
    AnswerTooLarge,
    DeadlineExceeded,
    Decoder,
    UnreadableEncoding,
    answer_deadline,
    bounded_session,
    read_body,
)
from crunch.core.jsonshape import MAX_DEPTH, TooDeep, load_json
from crunch.exceptions import IntegrityError, MalformedAnswerError, NetworkError
from crunch.transfer.download import Downloader, Remote

BOMB_SIZE = 200 << 20  # decoded
GZIP_BOMB = gzip.compress(b"\0" * BOMB_SIZE, compresslevel=9)  # about 200 KiB on the wire


# -- decoding ---------------------------------------------------------------------------------


def test_a_gzip_bomb_is_decoded_in_bounded_pieces() -> None:
    decoder = Decoder("gzip", 1 << 16)
    largest = total = 0
    for piece in decoder.feed(GZIP_BOMB[: 64 << 10]):
        largest = max(largest, len(piece))
        total += len(piece)
        if total > 4 << 20:
            break
    assert 0 < largest <= 1 << 16
    assert total > 4 << 20  # it does decode: one input piece gave many bounded outputs


@pytest.mark.parametrize("encoding, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as many servers send it
    ("identity", lambda data: data),
    (None, lambda data: data),
])
def test_each_encoding_decodes_whole_in_pieces(encoding: Any, encode: Any) -> None:
    data = bytes(range(256)) * 4000
    wire = encode(data)
    decoder = Decoder(encoding, 1000)
    out = b"".join(piece for start in range(0, len(wire), 777) for piece in decoder.feed(wire[start : start + 777]))
    out += b"".join(decoder.flush())
    assert out == data


def test_gzip_members_follow_each_other() -> None:
    decoder = Decoder("gzip")
    out = b"".join(decoder.feed(gzip.compress(b"one ") + gzip.compress(b"two"))) + b"".join(decoder.flush())
    assert out == b"one two"


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_encodings_not_asked_for_are_refused(encoding: str) -> None:
    with pytest.raises(UnreadableEncoding):
        Decoder(encoding)


def test_sessions_ask_only_for_what_they_decode() -> None:
    assert bounded_session().headers["Accept-Encoding"] == "gzip, deflate"


# -- JSON depth --------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_deep_json_is_a_value_error_never_a_recursion_error(depth: int) -> None:
    with pytest.raises(TooDeep) as error:
        load_json("[" * depth + "]" * depth)
    assert isinstance(error.value, ValueError)
    assert str(MAX_DEPTH) in str(error.value)


def test_json_at_the_depth_limit_is_read() -> None:
    text = '{"a": ' * (MAX_DEPTH - 1) + "[1]" + "}" * (MAX_DEPTH - 1)
    value = load_json(text)
    for _ in range(MAX_DEPTH - 1):
        value = value["a"]
    assert value == [1]


# -- servers -----------------------------------------------------------------------------------


class RawServer:
    """A TCP server on 127.0.0.1 answering every connection with ``handle(connection)``."""

    def __init__(self, handle: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.handle = handle
        self.connections = 0
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(connection,), daemon=True).start()

    def _one(self, connection: socket.socket) -> None:
        try:
            connection.recv(65536)
            self.handle(connection)
        except OSError:
            pass
        finally:
            connection.close()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def trickle_headers(connection: socket.socket, interval: float = 0.25) -> None:
    """A status line and headers one byte every ``interval`` seconds, for ever (30 s at most)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: " + b"a" * 400
    for byte in head[: int(30 / interval)]:
        connection.sendall(bytes([byte]))
        time.sleep(interval)


@pytest.fixture
def trickler() -> Iterator[RawServer]:
    server = RawServer(trickle_headers)
    yield server
    server.close()


def test_trickled_headers_end_at_the_deadline_of_the_call(trickler: RawServer) -> None:
    client = Client(trickler.url, timeout=(1.0, 1.0), backoff=Backoff(0, 0))
    started = time.monotonic()
    with pytest.raises(NetworkError) as error:
        client.list_competitions()
    took = time.monotonic() - started
    assert "did not finish its answer" in error.value.message
    assert 1.5 < took < 5, took  # twice the read timeout, not the 100 s the trickle would last


def test_trickled_headers_without_a_call_deadline_end_at_twice_the_read_timeout(trickler: RawServer) -> None:
    session = bounded_session()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        session.get(trickler.url, timeout=(1.0, 0.75), stream=True)
    assert time.monotonic() - started < 4


def test_the_deadline_of_the_thread_wins(trickler: RawServer) -> None:
    session = bounded_session()
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded), answer_deadline(time.monotonic() + 0.5):
        session.get(trickler.url, timeout=(1.0, 30.0), stream=True)
    assert time.monotonic() - started < 3


def test_headers_that_come_in_time_are_not_cut() -> None:
    def slow_but_in_time(connection: socket.socket) -> None:
        for _ in range(3):  # keep-alive: the next request comes on the same connection
            time.sleep(0.3)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]")
            time.sleep(1.5)  # past the first call's deadline: a timer left running would cut this one
            if not connection.recv(65536):
                return

    server = RawServer(slow_but_in_time)
    try:
        client = Client(server.url, timeout=(1.0, 1.0), backoff=Backoff(0, 0))
        for _ in range(3):  # the timer of one call never cuts the next one on the same connection
            assert client.list_competitions() == []
            time.sleep(1.6)
        assert server.connections == 1
    finally:
        server.close()


def test_data_headers_trickled_are_retried_then_reported(trickler: RawServer, tmp_path: Path) -> None:
    downloader = Downloader(timeout=(1.0, 0.5), backoff=Backoff(1, 0.01))
    started = time.monotonic()
    with pytest.raises(Exception) as error:
        downloader.fetch(Remote("x.bin", trickler.url + "x.bin", size=10), tmp_path)
    assert "headers" in str(error.value) and "within 1 s" in str(error.value)
    assert trickler.connections == 2  # one retry
    assert time.monotonic() - started < 6


# -- sizes of API answers ------------------------------------------------------------------------


class FakeResponse:
    def __init__(self, chunks: List[bytes], headers: Any = None) -> None:
        self.headers = requests.structures.CaseInsensitiveDict(headers or {})
        self.raw = self
        self._chunks = list(chunks)
        self.closed = False

    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:
        assert decode_content is False  # crunch decodes, bounded
        yield from self._chunks

    def close(self) -> None:
        self.closed = True


def test_a_body_past_the_limit_stops_there() -> None:
    response = FakeResponse([b"x" * 1000] * 10)
    with pytest.raises(AnswerTooLarge):
        read_body(response, time.monotonic() + 10, limit=2500)
    assert response.closed


def test_an_announced_length_past_the_limit_is_refused_before_reading() -> None:
    response = FakeResponse([], {"Content-Length": str(MAX_ANSWER + 1)})
    with pytest.raises(AnswerTooLarge):
        read_body(response, time.monotonic() + 10)


def test_a_compressed_body_past_the_limit_stops_there() -> None:
    response = FakeResponse([GZIP_BOMB[i : i + 4096] for i in range(0, len(GZIP_BOMB), 4096)], {"Content-Encoding": "gzip"})
    with pytest.raises(AnswerTooLarge):
        read_body(response, time.monotonic() + 10, limit=1 << 20)


@pytest.fixture
def answering() -> Iterator[CraftingProxy]:
    proxy = CraftingProxy("http://127.0.0.1:9/")  # answers everything itself
    yield proxy
    proxy.close()


def answer_with(proxy: CraftingProxy, body: bytes, **headers: str) -> None:
    proxy.rules = {"/": lambda method, path, forward: (200, {"Content-Type": "application/json", **headers}, body)}


def test_client_gzip_bomb_is_a_malformed_answer(answering: CraftingProxy) -> None:
    answer_with(answering, gzip.compress(b"[" + b" " * (MAX_ANSWER + 10) + b"]"), **{"Content-Encoding": "gzip"})
    with pytest.raises(MalformedAnswerError) as error:
        Client(answering.url, backoff=Backoff(0, 0)).list_competitions()
    assert "larger than 64 MiB" in error.value.message


def test_client_compressed_answer_within_bounds_is_read(answering: CraftingProxy) -> None:
    answer_with(answering, gzip.compress(json.dumps([]).encode()), **{"Content-Encoding": "gzip"})
    assert Client(answering.url, backoff=Backoff(0, 0)).list_competitions() == []


def test_client_deep_json_is_a_malformed_answer(answering: CraftingProxy) -> None:
    answer_with(answering, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(MalformedAnswerError) as error:
        Client(answering.url, backoff=Backoff(0, 0)).get_competition("demo")
    assert f"nested deeper than {MAX_DEPTH}" in error.value.message


def test_client_deep_error_body_is_an_error_without_json(answering: CraftingProxy) -> None:
    answering.rules = {"/": lambda method, path, forward: (409, {"Content-Type": "application/json"}, b"[" * 100_000 + b"]" * 100_000)}
    with pytest.raises(Exception) as error:
        Client(answering.url, backoff=Backoff(0, 0)).get_competition("demo")
    assert "HTTP 409" in str(error.value)


def test_client_answer_in_brotli_is_refused(answering: CraftingProxy) -> None:
    answer_with(answering, b"\x0b\x00\x80[]\x03", **{"Content-Encoding": "br"})
    with pytest.raises(MalformedAnswerError) as error:
        Client(answering.url, backoff=Backoff(0, 0)).list_competitions()
    assert "'br'" in error.value.message


# -- data bodies ----------------------------------------------------------------------------------


def data_server(proxy: CraftingProxy, body: bytes, **headers: str) -> None:
    proxy.rules = {"/data": lambda method, path, forward: (200, {"Content-Type": "application/octet-stream", **headers}, body)}


def test_a_data_body_past_its_size_stops_and_leaves_nothing(answering: CraftingProxy, tmp_path: Path) -> None:
    """No Content-Length to go by (chunked, or encoded): the bytes themselves are counted."""
    data_server(answering, gzip.compress(b"\0" * (20 << 20)), **{"Content-Encoding": "gzip"})
    with pytest.raises(IntegrityError) as error:
        Downloader(backoff=Backoff(0, 0)).fetch(Remote("x.bin", answering.url + "data/x.bin", size=1000), tmp_path)
    assert "more than the 1000 bytes" in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_gzip_data_body_of_its_size_is_kept(answering: CraftingProxy, tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    data_server(answering, gzip.compress(data), **{"Content-Encoding": "gzip"})
    remote = Remote("x.bin", answering.url + "data/x.bin", size=len(data), sha256=hashlib.sha256(data).hexdigest())
    Downloader(backoff=Backoff(0, 0)).fetch(remote, tmp_path)
    assert (tmp_path / "x.bin").read_bytes() == data


def test_a_ranged_server_holding_more_than_announced_is_refused(answering: CraftingProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRUNCH_DOWNLOAD_PIECE_SIZE", "1000")
    held = b"y" * 9000

    def ranged(method: str, path: str, forward: Any) -> Any:
        return 206, {"Content-Range": f"bytes 0-999/{len(held)}"}, held[:1000]

    answering.rules = {"/data": ranged}
    with pytest.raises(IntegrityError) as error:
        Downloader(backoff=Backoff(0, 0), connections=2).fetch(Remote("x.bin", answering.url + "data/x.bin", size=4000), tmp_path)
    assert "more than the 4000 bytes" in error.value.message and "announces 9000" in error.value.message
    assert list(tmp_path.iterdir()) == []


# -- through the real process ----------------------------------------------------------------------



@pytest.mark.e2e
def test_crunch_ping_against_trickled_headers_ends_in_time(trickler: RawServer, tmp_path: Path) -> None:
    from conftest import crunch_env

    started = time.monotonic()
    result = run_crunch("--api-base-url", trickler.url, "ping", cwd=tmp_path, env=crunch_env({"CRUNCH_TIMEOUT": "1", "CRUNCH_RETRIES": "0"}), timeout=60)
    took = time.monotonic() - started
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "did not finish its answer" in errors[0], result.output
    assert "unexpected" not in result.output.lower()
    assert took < 20, took


@pytest.mark.e2e
@pytest.mark.parametrize("body, headers, expect", [
    (gzip.compress(b"[" + b" " * (MAX_ANSWER + 10) + b"]"), {"Content-Encoding": "gzip"}, "larger than 64 MiB"),
    (b"[" * 100_000 + b"]" * 100_000, {}, f"nested deeper than {MAX_DEPTH}"),
])
def test_crunch_list_against_hostile_answers(body: bytes, headers: Any, expect: str, answering: CraftingProxy, tmp_path: Path) -> None:
    from conftest import crunch_env

    answering.rules = {"/": lambda method, path, forward: (200, {"Content-Type": "application/json", **headers}, body)}
    result = run_crunch("--api-base-url", answering.url, "list", cwd=tmp_path, env=crunch_env({"CRUNCH_RETRIES": "0"}), timeout=60)
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expect in errors[0], result.output
    assert "unexpected" not in result.output.lower() and "Traceback" not in result.output


@pytest.mark.e2e
def test_crunch_download_stops_a_body_past_its_announced_size(shared_hub: Hub, tmp_path: Path) -> None:
    token = shared_hub.token("demo", "bounds")
    made = shared_hub.run("setup", "demo", "bounds", "ws", "--token", token, "--no-data", cwd=tmp_path)
    assert made.returncode == 0, made.output
    proxy = CraftingProxy(shared_hub.url)
    try:
        def release(method: str, path: str, forward: Any) -> Any:
            status, headers, body = forward()
            document = json.loads(body)
            document["dataFiles"]["extra"] = {"name": "extra.bin", "url": proxy.url + "_crafted/bomb", "size": 4096, "signed": True, "compressed": False}
            return status, {"Content-Type": "application/json"}, json.dumps(document).encode()

        proxy.rules = {
            "/v2/competitions/demo/rounds/": release,
            "/_crafted/bomb": lambda m, p, f: (200, {"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"}, GZIP_BOMB),
        }
        result = run_crunch("--api-base-url", proxy.url, "download", cwd=tmp_path / "ws", env=shared_hub.env(), timeout=120)
    finally:
        proxy.close()
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "more than the 4096 bytes" in errors[0] and "extra.bin" in errors[0], result.output
    assert not list((tmp_path / "ws" / "data").glob("extra.bin*"))
    assert "unexpected" not in result.output.lower()
