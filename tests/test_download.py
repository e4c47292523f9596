"""Unit tests of crunch.transfer.download against a fake file server (requests-mock)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
import requests_mock

from crunch.api.client import Backoff
from crunch.core.console import Console
from crunch.exceptions import IntegrityError, TransferError, UnsafePathError
from crunch.transfer.download import (
    Downloader,
    Remote,
    check_file_name,
    describe_url,
    extract_zip,
    safe_relative_path,
    summary,
)

URL = "https://data.example.com/files/X_train.parquet?Signature=s3cr3t&Expires=1"


class CutBody(io.RawIOBase):
    """A body that breaks the connection after ``cut`` bytes."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self.data, self.cut, self.pos = data, cut, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.cut is not None and self.pos >= self.cut:
            raise ConnectionResetError("connection reset by peer")
        end = len(self.data) if self.cut is None else min(len(self.data), self.cut)
        count = min(len(buffer), end - self.pos, 4096)
        buffer[:count] = self.data[self.pos : self.pos + count]
        self.pos += count
        return count

    def read1(self, size: int = -1) -> bytes:
        buffer = bytearray(size if size and size > 0 else 4096)
        count = self.readinto(buffer)
        return bytes(buffer[:count])


class OldBody(CutBody):
    """A body without ``read1``: the downloader falls back to ``iter_content``."""

    read1 = None


class FakeServer:
    """Serves ``data`` at URL with Range support and scripted faults, and counts bytes served."""

    def __init__(self, data: bytes, *, honour_range: bool = True, body_class: type = CutBody) -> None:
        self.data = data
        self.body_class = body_class
        self.honour_range = honour_range
        self.faults: list = []  # per request: None, an int (cut after N bytes), a status, or "corrupt"
        self.requests: list = []
        self.served = 0

    def __call__(self, request, context):
        self.requests.append(request)
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, str) and fault.startswith("status:"):
            context.status_code = int(fault.split(":")[1])
            return io.BytesIO(b"<html>busy</html>")
        data = self.data
        if fault == "corrupt":
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        match = re.match(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if match and self.honour_range:
            start = int(match.group(1))
            if start >= len(data):
                context.status_code = 416
                return io.BytesIO(b"")
            context.status_code = 206
            context.headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        context.headers["Content-Length"] = str(len(body))
        cut = fault if isinstance(fault, int) else None
        self.served += len(body) if cut is None else min(cut, len(body))
        return self.body_class(body, cut)


@pytest.fixture
def data() -> bytes:
    return os.urandom(300_000)


@pytest.fixture
def server(data):
    fake = FakeServer(data)
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=fake)
        yield fake


def downloader(retries: int = 3, chunk: int = 64 * 1024) -> Downloader:
    return Downloader(console=Console(quiet=True), backoff=Backoff(retries, 0), sleep=lambda s: None, chunk_size=chunk)


def remote(data: bytes, **kwargs) -> Remote:
    values = {"name": "X_train.parquet", "url": URL, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    values.update(kwargs)
    return Remote(**values)


def test_fresh_download_is_verified_and_renamed(tmp_path, server, data):
    outcome = downloader().fetch(remote(data), tmp_path)
    assert outcome.status == "downloaded"
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert not (tmp_path / "X_train.parquet.part").exists()
    assert outcome.transferred == len(data)
    assert server.served == len(data)
    request = server.requests[0]
    assert "Range" not in request.headers
    assert "pushToken" not in request.url and "Authorization" not in request.headers


def test_whole_file_is_skipped_without_a_request(tmp_path, server, data):
    (tmp_path / "X_train.parquet").write_bytes(data)
    outcome = downloader().fetch(remote(data), tmp_path)
    assert outcome.status == "skipped"
    assert server.requests == []


def test_same_size_but_other_bytes_is_downloaded_again(tmp_path, server, data):
    (tmp_path / "X_train.parquet").write_bytes(b"\0" * len(data))
    outcome = downloader().fetch(remote(data), tmp_path)
    assert outcome.status == "downloaded"
    assert (tmp_path / "X_train.parquet").read_bytes() == data


@pytest.mark.parametrize("body_class", [CutBody, OldBody])
def test_cut_connection_resumes_with_range_in_the_same_run(tmp_path, data, body_class):
    server = FakeServer(data, body_class=body_class)
    server.faults = [100_000]
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=server)
        outcome = downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert len(server.requests) == 2
    resumed_at = int(server.requests[1].headers["Range"][len("bytes=") : -1])
    if body_class is CutBody:
        assert resumed_at == 100_000  # everything that arrived before the cut was kept
    else:
        assert 100_000 - 64 * 1024 < resumed_at <= 100_000  # whole chunks only
    assert server.served - len(data) == 100_000 - resumed_at
    assert outcome.transferred == len(data)


def test_part_of_a_previous_run_is_hashed_then_resumed(tmp_path, server, data):
    (tmp_path / "X_train.parquet.part").write_bytes(data[:123_456])
    outcome = downloader().fetch(remote(data), tmp_path)
    assert outcome.status == "resumed" and outcome.resumed_from == 123_456
    assert server.requests[0].headers["Range"] == "bytes=123456-"
    assert server.served == len(data) - 123_456
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert "resumed at" in summary(outcome, "data/X_train.parquet")


def test_corrupt_part_of_a_previous_run_is_caught_by_the_hash(tmp_path, server, data):
    (tmp_path / "X_train.parquet.part").write_bytes(b"\xff" * 1000)
    downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert server.requests[1].headers.get("Range") is None  # started over after the mismatch


def test_part_longer_than_the_file_starts_over(tmp_path, server, data):
    (tmp_path / "X_train.parquet.part").write_bytes(data + b"extra")
    downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert "Range" not in server.requests[0].headers


def test_server_ignoring_range_still_gives_a_whole_file(tmp_path, data):
    fake = FakeServer(data, honour_range=False)
    (tmp_path / "X_train.parquet.part").write_bytes(data[:5000])
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=fake)
        downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data


def test_transient_5xx_is_retried(tmp_path, server, data):
    server.faults = ["status:503", "status:502"]
    downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert len(server.requests) == 3


def test_exhausted_retries_keep_the_part_and_say_how_to_resume(tmp_path, server, data):
    server.faults = [50_000, "status:503", "status:503"]
    with pytest.raises(TransferError) as error:
        downloader(retries=2).fetch(remote(data), tmp_path)
    assert "run the command again to resume" in error.value.message
    assert "s3cr3t" not in error.value.message
    assert (tmp_path / "X_train.parquet.part").stat().st_size == 50_000
    assert not (tmp_path / "X_train.parquet").exists()
    # the next run transfers only the rest
    before = server.served
    outcome = downloader().fetch(remote(data), tmp_path)
    assert outcome.status == "resumed"
    assert server.served - before == len(data) - 50_000


def test_mismatch_is_retried_once_from_scratch(tmp_path, server, data):
    server.faults = ["corrupt"]
    downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert len(server.requests) == 2


def test_persistent_mismatch_fails_and_leaves_nothing(tmp_path, server, data):
    server.faults = ["corrupt", "corrupt"]
    with pytest.raises(IntegrityError) as error:
        downloader().fetch(remote(data), tmp_path)
    assert "did not verify" in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_mismatch_never_replaces_a_previous_file(tmp_path, server, data):
    (tmp_path / "X_train.parquet").write_bytes(b"old")
    server.faults = ["corrupt", "corrupt"]
    with pytest.raises(IntegrityError):
        downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == b"old"
    assert not (tmp_path / "X_train.parquet.part").exists()


def test_size_mismatch_without_sha(tmp_path, server, data):
    with pytest.raises(IntegrityError):
        downloader().fetch(remote(data, size=len(data) - 10, sha256=None), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_http_403_is_a_clear_error_without_the_signature(tmp_path, server, data):
    server.faults = ["status:403"]
    with pytest.raises(TransferError) as error:
        downloader().fetch(remote(data), tmp_path)
    assert "HTTP 403" in error.value.message and "expired" in error.value.message
    assert "Signature" not in error.value.message


def test_force_downloads_again(tmp_path, server, data):
    (tmp_path / "X_train.parquet").write_bytes(data)
    outcome = downloader().fetch(remote(data), tmp_path, force=True)
    assert outcome.status == "downloaded" and len(server.requests) == 1


def test_unknown_size_and_hash(tmp_path, server, data):
    outcome = downloader().fetch(Remote("f.bin", URL), tmp_path)
    assert outcome.status == "downloaded"
    assert (tmp_path / "f.bin").read_bytes() == data


def test_several_files_at_once(tmp_path, data):
    blobs = {f"file{i}.bin": os.urandom(50_000 + i) for i in range(5)}
    with requests_mock.Mocker() as mocker:
        servers = {}
        for name, blob in blobs.items():
            servers[name] = FakeServer(blob)
            mocker.get(f"https://data.example.com/{name}", body=servers[name])
        servers["file2.bin"].faults = [1000]
        done = []
        outcomes = downloader().fetch_all(
            [Remote(n, f"https://data.example.com/{n}", len(b), hashlib.sha256(b).hexdigest()) for n, b in blobs.items()],
            tmp_path,
            on_done=done.append,
        )
    assert sorted(o.name for o in outcomes) == sorted(blobs)
    assert len(done) == 5
    for name, blob in blobs.items():
        assert (tmp_path / name).read_bytes() == blob


def test_one_failure_among_several_is_reported_after_the_others_finish(tmp_path, data):
    with requests_mock.Mocker() as mocker:
        good, bad = FakeServer(data), FakeServer(data)
        bad.faults = ["corrupt", "corrupt"]
        mocker.get("https://data.example.com/good", body=good)
        mocker.get("https://data.example.com/bad", body=bad)
        sha = hashlib.sha256(data).hexdigest()
        with pytest.raises(IntegrityError):
            downloader().fetch_all(
                [Remote("bad", "https://data.example.com/bad", len(data), sha), Remote("good", "https://data.example.com/good", len(data), sha)],
                tmp_path,
            )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good"]


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../x", "a/b", "a\\b", "..", "", "x..y", "/etc/passwd", "C:evil"])
def test_unsafe_data_file_names_are_refused(name):
    with pytest.raises(UnsafePathError):
        check_file_name(name)


@pytest.mark.parametrize("name", ["X_train.parquet", "y.test.csv", "data-1.zip"])
def test_plain_names_pass(name):
    assert check_file_name(name) == name


@pytest.mark.parametrize("path", ["../main.py", "/abs", "a/../../b", "a\\b", "", "C:/x"])
def test_unsafe_relative_paths(path):
    with pytest.raises(UnsafePathError):
        safe_relative_path(path)


def test_safe_relative_path_normalizes():
    assert str(safe_relative_path("./resources/model.bin")) == "resources/model.bin"


def test_fetch_refuses_escaping_names(tmp_path, server, data):
    with pytest.raises(UnsafePathError):
        downloader().fetch(remote(data, name="../evil"), tmp_path / "data")
    with pytest.raises(UnsafePathError):
        downloader().fetch_all([remote(data), remote(data, name="/abs")], tmp_path)
    assert server.requests == []


def test_describe_url_drops_the_signature():
    assert describe_url(URL) == "https://data.example.com/files/X_train.parquet"


# -- zips -------------------------------------------------------------------------------------


def make_zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries:
            if isinstance(content, zipfile.ZipInfo):
                archive.writestr(content, name)
            else:
                archive.writestr(name, content)
    return buffer.getvalue()


def symlink_entry(name: str, target: str) -> tuple:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return (target, info)


def test_zip_is_extracted_into_the_folder(tmp_path):
    blob = make_zip([("X_train.parquet", b"xt"), ("sub/y.parquet", b"y"), ("__MACOSX/._x", b"junk")])
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=FakeServer(blob))
        outcomes = downloader().fetch_all([remote(blob, name="data.zip", compressed=True)], tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == b"xt"
    assert (tmp_path / "sub" / "y.parquet").read_bytes() == b"y"
    assert not (tmp_path / "__MACOSX").exists()
    assert sorted(outcomes[0].extracted) == ["X_train.parquet", "sub/y.parquet"]
    # a second run skips both the download and the extraction
    with requests_mock.Mocker() as mocker:
        fake = FakeServer(blob)
        mocker.get(URL, body=fake)
        outcomes = downloader().fetch_all([remote(blob, name="data.zip", compressed=True)], tmp_path)
    assert outcomes[0].status == "skipped" and outcomes[0].extracted == [] and fake.requests == []


@pytest.mark.parametrize(
    "entries",
    [
        [("ok.txt", b"fine"), ("../escape.txt", b"evil")],
        [("ok.txt", b"fine"), ("/abs.txt", b"evil")],
        [("ok.txt", b"fine"), ("a/../../escape.txt", b"evil")],
        [("ok.txt", b"fine"), symlink_entry("link", "/etc/passwd")],
    ],
)
def test_escaping_zip_entries_refuse_the_whole_archive(tmp_path, entries):
    blob = make_zip(entries)
    (tmp_path / "archive.zip").write_bytes(blob)
    folder = tmp_path / "data"
    folder.mkdir()
    with pytest.raises(UnsafePathError):
        extract_zip(tmp_path / "archive.zip", folder)
    assert list(folder.iterdir()) == []
    assert not (tmp_path / "escape.txt").exists()


def test_zip_entry_through_a_symlinked_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "sub").symlink_to(outside)
    (tmp_path / "a.zip").write_bytes(make_zip([("sub/x.txt", b"x")]))
    with pytest.raises(UnsafePathError):
        extract_zip(tmp_path / "a.zip", folder)
    assert list(outside.iterdir()) == []


def test_bad_zip_is_an_integrity_error(tmp_path):
    (tmp_path / "a.zip").write_bytes(b"not a zip at all")
    with pytest.raises(IntegrityError):
        extract_zip(tmp_path / "a.zip", tmp_path)


def test_memory_stays_bounded_by_the_chunk_size(tmp_path, data, monkeypatch):
    """Pieces handed to the file never exceed the chunk size (the whole buffer of a transfer)."""
    import crunch.transfer.download as module

    sizes = []
    original = module._body_chunks

    def spy(response, size):
        for chunk in original(response, size):
            sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(module, "_body_chunks", spy)
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=FakeServer(data))
        downloader(chunk=8192).fetch(remote(data), tmp_path)
    assert sum(sizes) == len(data) and max(sizes) <= 8192


def test_summary_lines(tmp_path, server, data):
    outcome = downloader().fetch(remote(data), tmp_path)
    assert summary(outcome, "data/X_train.parquet").startswith("data/X_train.parquet: downloaded 293.0 KiB in")
    skipped = downloader().fetch(remote(data), tmp_path)
    assert summary(skipped, "data/x") == "data/x: already whole, skipped"


def test_path_is_a_path(tmp_path, server, data):
    outcome = downloader().fetch(remote(data, name="nested/dir/file.bin"), tmp_path)
    assert outcome.path == tmp_path / "nested" / "dir" / "file.bin"
    assert isinstance(outcome.path, Path)


def test_verified_stamp_skips_hashing_until_the_file_changes(tmp_path, server, data, monkeypatch):
    import crunch.transfer.download as module

    stamps: dict = {}
    first = Downloader(console=Console(quiet=True), verified=stamps).fetch(remote(data), tmp_path)
    assert first.status == "downloaded" and str(first.path) in stamps
    calls = []
    original = module.sha256_of
    monkeypatch.setattr(module, "sha256_of", lambda *a, **k: calls.append(a) or original(*a, **k))
    again = Downloader(console=Console(quiet=True), verified=dict(stamps)).fetch(remote(data), tmp_path)
    assert again.status == "skipped" and calls == []
    # same size, other bytes, another mtime: hashed again, found wrong, downloaded again
    path = tmp_path / "X_train.parquet"
    path.write_bytes(b"\0" * len(data))
    os.utime(path, ns=(1, 1))
    third = Downloader(console=Console(quiet=True), verified=dict(stamps)).fetch(remote(data), tmp_path)
    assert third.status == "downloaded" and calls
    assert path.read_bytes() == data


def test_expired_link_is_refreshed_once_and_the_part_kept(tmp_path, data):
    fresh_url = "https://data.example.com/files/X_train.parquet?Signature=fresh"
    with requests_mock.Mocker() as mocker:
        old, fresh = FakeServer(data), FakeServer(data)
        old.faults = [100_000, "status:403"]
        mocker.get(URL, body=old)
        mocker.get(fresh_url, body=fresh)
        calls = []
        item = remote(data, refresh=lambda: calls.append(1) or fresh_url)
        downloader().fetch(item, tmp_path)
    assert calls == [1]
    assert fresh.requests[0].headers["Range"] == "bytes=100000-"
    assert (tmp_path / "X_train.parquet").read_bytes() == data


def test_expired_link_without_a_fresh_one_is_a_clear_error(tmp_path, server, data):
    server.faults = ["status:403", "status:403"]
    with pytest.raises(TransferError, match="expired"):
        downloader().fetch(remote(data, refresh=lambda: URL), tmp_path)
    assert len(server.requests) == 1  # the "fresh" link is the same one: reported at once


def test_a_link_expiring_again_later_is_refreshed_again(tmp_path, data):
    links = [f"https://data.example.com/files/X_train.parquet?Signature=s{n}" for n in range(1, 6)]
    with requests_mock.Mocker() as mocker:
        servers = []
        for index, link in enumerate([URL, *links]):
            fake = FakeServer(data)
            fake.faults = [60_000, "status:403"] if index < 3 else []  # cut, then refused when resumed
            mocker.get(link, body=fake)
            servers.append(fake)
        given = iter(links)
        downloader().fetch(remote(data, refresh=lambda: next(given)), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert [len(fake.requests) for fake in servers] == [2, 2, 2, 1, 0, 0]  # three refreshes, each after progress


def test_refused_links_stop_after_a_few_refreshes(tmp_path, data):
    links = iter(f"https://data.example.com/files/X_train.parquet?Signature=s{n}" for n in range(10))
    with requests_mock.Mocker() as mocker:
        mocker.get(re.compile(r"https://data\.example\.com/.*"), status_code=403)
        with pytest.raises(TransferError, match="expired"):
            downloader().fetch(remote(data, refresh=lambda: next(links)), tmp_path)
        assert len(mocker.request_history) == 4  # the first link and three fresh ones


def test_inconsistent_range_answers_do_not_loop_forever(tmp_path, data):
    def always_wrong(request, context):
        context.status_code = 206
        context.headers["Content-Range"] = f"bytes 7-{len(data) - 1}/{len(data)}"
        return io.BytesIO(data[7:])

    (tmp_path / "X_train.parquet.part").write_bytes(data[:100])
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=always_wrong)
        with pytest.raises(TransferError, match="range requests"):
            downloader().fetch(remote(data), tmp_path)
    assert not (tmp_path / "X_train.parquet").exists()


def open_parts_with(monkeypatch, file_class) -> None:
    """The downloader opens its ``.part`` files for writing as ``file_class`` (an io.FileIO)."""
    import builtins

    import crunch.transfer.download as module

    def fake_open(path, mode="r", *args, **kwargs):
        if str(path).endswith(".part") and "b" in mode and ("a" in mode or "w" in mode):
            return file_class(str(path), mode.replace("b", ""))
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(module, "open", fake_open, raising=False)


def test_disk_full_is_a_clear_error_and_keeps_what_was_written(tmp_path, server, data, monkeypatch):
    import errno


    class Full(io.FileIO):
        written = 0

        def write(self, chunk):
            if Full.written + len(chunk) > 100_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            Full.written += len(chunk)
            return super().write(chunk)

    open_parts_with(monkeypatch, Full)
    with pytest.raises(TransferError, match="No space left"):
        downloader().fetch(remote(data), tmp_path)
    part = tmp_path / "X_train.parquet.part"
    assert 0 < part.stat().st_size <= 100_000
    assert part.read_bytes() == data[: part.stat().st_size]
    assert not (tmp_path / "X_train.parquet").exists()


def test_big_transfer_reserves_its_space_and_the_part_stays_a_prefix(tmp_path, data, monkeypatch):
    """The reservation keeps the part's size: a cut transfer still resumes from its end."""
    import crunch.transfer.download as module
    from crunch.core.fsutil import reserve_space

    calls = []

    def spy(fd, offset, length):
        calls.append((offset, length))
        return reserve_space(fd, offset, length)

    monkeypatch.setattr(module, "RESERVE_MIN", 1)
    monkeypatch.setattr(module, "reserve_space", spy)
    fake = FakeServer(data)
    fake.faults = [100_000]
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=fake)
        outcome = downloader().fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert outcome.transferred == len(data)
    assert calls[0] == (0, len(data))
    # the second request resumed where the first one's bytes ended, and reserved only the rest
    resumed_at = calls[1][0]
    assert 0 < resumed_at <= 100_000 and calls[1] == (resumed_at, len(data) - resumed_at)
    assert fake.requests[1].headers["Range"] == f"bytes={resumed_at}-"


def test_a_disk_too_small_is_reported_before_the_transfer(tmp_path, server, data, monkeypatch):
    import errno

    import crunch.transfer.download as module

    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(module, "RESERVE_MIN", 1)
    monkeypatch.setattr(module, "reserve_space", full)
    with pytest.raises(TransferError, match=r"not enough disk space for X_train\.parquet: .* more are needed"):
        downloader().fetch(remote(data), tmp_path)
    assert not (tmp_path / "X_train.parquet").exists()
    part = tmp_path / "X_train.parquet.part"
    assert not part.exists() or part.stat().st_size == 0


def test_writes_are_cut_into_blocks_and_hashing_sees_every_byte(tmp_path, data, monkeypatch):

    import crunch.transfer.download as module

    sizes = []

    class Recording(io.FileIO):
        def write(self, chunk):
            sizes.append(len(chunk))
            return super().write(chunk)

    open_parts_with(monkeypatch, Recording)
    monkeypatch.setattr(module, "WRITE_BLOCK", 5000)
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=FakeServer(data))
        downloader(chunk=64 * 1024).fetch(remote(data), tmp_path)
    assert (tmp_path / "X_train.parquet").read_bytes() == data
    assert sum(sizes) == len(data) and max(sizes) <= 5000


def test_a_transfer_cut_short_gives_its_reserved_space_back(tmp_path, data, monkeypatch):
    import crunch.transfer.download as module

    big = data * 20  # 6 MB: the reservation is well past what arrives
    monkeypatch.setattr(module, "RESERVE_MIN", 1)
    fake = FakeServer(big)
    fake.faults = [100_000]
    with requests_mock.Mocker() as mocker:
        mocker.get(URL, body=fake)
        with pytest.raises(TransferError, match="run the command again to resume"):
            downloader(retries=0).fetch(remote(big), tmp_path)
    part = tmp_path / "X_train.parquet.part"
    assert 0 < part.stat().st_size <= 100_000
    assert part.stat().st_blocks * 512 < 1_000_000  # not the 6 MB reserved for the whole file
