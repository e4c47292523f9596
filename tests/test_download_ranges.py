"""`crunch download` of a file in byte ranges at once: the installed executable against a local hub."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import run_crunch

pytestmark = pytest.mark.e2e

CONNECTIONS = 4


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workspace_without_data(hub, tmp_path) -> Path:
    result = hub.run("setup", "demo", "p1", "--token", hub.token("demo", "p1"), "--no-data", cwd=tmp_path)
    assert result.returncode == 0, result.output
    return tmp_path / "demo-p1"


def x_train(hub) -> tuple:
    """(path of X_train's data link, its size, its sha256)."""
    entry = hub.client().get_data_release("demo").data_files["X_train"]
    path = unquote(urlsplit(entry.url).path)
    size = (hub.root / "files" / path[len("/data/"):]).stat().st_size
    return path, size, entry.sha256


def ranged_env(hub, size: int, **extra: str) -> dict:
    """Pieces of a quarter of X_train (rounded up): X_train goes as four ranges on four connections."""
    piece = -(-size // CONNECTIONS)
    return hub.env(CRUNCH_DOWNLOAD_PIECE_SIZE=str(piece), CRUNCH_DOWNLOAD_CONNECTIONS=str(CONNECTIONS), CRUNCH_RETRY_BACKOFF="0.05", **extra)


def test_a_cut_in_every_range_is_resumed_within_the_run(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    piece = -(-size // CONNECTIONS)
    hub.faults(drop_after=piece // 3, drop_times=CONNECTIONS, path_prefix=path)
    hub.reset_stats()
    result = run_crunch("download", cwd=workspace, env=ranged_env(hub, size))
    assert result.returncode == 0, result.output
    stats = hub.stats()
    assert stats["droppedConnections"] == CONNECTIONS
    assert stats["requestsByPath"][path] == 2 * CONNECTIONS  # each range: cut once, then its rest
    assert hub.bytes_served(path) == size  # every byte served once
    target = workspace / "data" / "X_train.parquet"
    assert sha256(target) == sha
    assert not (workspace / "data" / "X_train.parquet.part").exists()
    assert not (workspace / "data" / "X_train.parquet.part.ranges").exists()


def test_a_rerun_after_cut_ranges_fetches_only_the_holes(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    piece = -(-size // CONNECTIONS)
    hub.faults(drop_after=piece // 2, drop_times=100, path_prefix=path)
    first = run_crunch("download", cwd=workspace, env=ranged_env(hub, size, CRUNCH_RETRIES="0"))
    assert first.returncode == 1, first.output
    assert "run the command again to fetch only what is missing" in first.stderr
    assert "Traceback" not in first.stderr
    ranges = workspace / "data" / "X_train.parquet.part.ranges"
    record = json.loads(ranges.read_text())
    assert record["size"] == size and record["sha256"] == sha
    whole = sum(stop - start for start, stop in record["done"])
    assert 0 < whole < size
    assert not (workspace / "data" / "X_train.parquet").exists()

    hub.reset_faults()
    hub.reset_stats()
    second = run_crunch("download", cwd=workspace, env=ranged_env(hub, size))
    assert second.returncode == 0, second.output
    assert "X_train.parquet: resumed at" in second.stdout
    assert hub.bytes_served(path) == size - whole  # only the holes
    assert sha256(workspace / "data" / "X_train.parquet") == sha
    assert not ranges.exists() and not (workspace / "data" / "X_train.parquet.part").exists()


def test_a_server_that_ignores_range_gets_one_stream(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    hub.faults(ignore_range=True)
    hub.reset_stats()
    result = run_crunch("download", cwd=workspace, env=ranged_env(hub, size))
    assert result.returncode == 0, result.output
    assert hub.stats()["requestsByPath"][path] == 1  # the answer to the first range is read whole
    assert hub.bytes_served(path) == size
    assert sha256(workspace / "data" / "X_train.parquet") == sha
    assert not (workspace / "data" / "X_train.parquet.part.ranges").exists()


def test_a_corrupt_range_is_caught_by_the_sha256_and_fetched_again(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    hub.faults(corrupt=1, path_prefix=path)
    hub.reset_stats()
    result = run_crunch("download", cwd=workspace, env=ranged_env(hub, size))
    assert result.returncode == 0, result.output
    assert hub.stats()["corruptedBodies"] == 1
    assert "X_train.parquet: its sha256 does not match the announced one; downloading it again" in result.stderr
    assert hub.stats()["requestsByPath"][path] == 2 * CONNECTIONS
    assert hub.bytes_served(path) == 2 * size
    assert sha256(workspace / "data" / "X_train.parquet") == sha


def test_connections_option_one_is_a_single_stream(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    hub.reset_stats()
    result = run_crunch("download", "--connections", "1", cwd=workspace, env=ranged_env(hub, size))
    assert result.returncode == 0, result.output
    assert hub.stats()["requestsByPath"][path] == 1
    assert sha256(workspace / "data" / "X_train.parquet") == sha


def test_bad_connections_is_one_error_line(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    result = run_crunch("download", cwd=workspace, env=hub.env(CRUNCH_DOWNLOAD_CONNECTIONS="lots"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: CRUNCH_DOWNLOAD_CONNECTIONS='lots'") and "Traceback" not in result.stderr
    assert not list((workspace / "data").glob("*.parquet*"))


def test_the_hub_caps_each_connection_and_adds_latency(hub):
    """The link shape: one connection gets at most rateCap bytes a second, each answer comes
    latency seconds late; the admin call shows both."""
    import time

    import requests

    url = hub.client().get_data_release("demo").data_files["X_train"].url
    size = int(requests.head(url, timeout=30).headers["Content-Length"])
    rate = size / 1.0  # the whole file in about a second on one connection
    shape = hub.faults(rate_cap=rate, latency=0.4)
    assert shape["rateCap"] == rate and shape["latency"] == 0.4
    start = time.monotonic()
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and time.monotonic() - start >= 0.4
    start = time.monotonic()
    body = requests.get(url, timeout=30).content
    assert len(body) == size and time.monotonic() - start >= 0.4 + 0.9
    # a range of a quarter of the file goes in a quarter of the time
    start = time.monotonic()
    part = requests.get(url, headers={"Range": f"bytes=0-{size // 4 - 1}"}, timeout=30)
    elapsed = time.monotonic() - start
    assert part.status_code == 206 and len(part.content) == size // 4
    assert 0.4 + 0.2 <= elapsed
    assert hub.faults(reset=True)["rateCap"] is None


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_an_interrupted_ranged_download_keeps_its_ranges_and_the_rerun_fetches_the_holes(signum, hub, tmp_path):
    import signal
    import subprocess
    import time

    from conftest import CRUNCH

    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    hub.faults(rate_cap=size / 6, path_prefix=path)  # each quarter takes about 1.5 s
    hub.reset_stats()
    process = subprocess.Popen([CRUNCH, "download"], cwd=workspace, env=ranged_env(hub, size), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while hub.bytes_served(path) < size // 3:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(getattr(signal, signum))
    out, err = process.communicate(timeout=60)
    assert process.returncode == {"SIGTERM": 143, "SIGINT": 130}[signum], out + err
    assert [line for line in err.splitlines() if line.strip()] == ["interrupted"]
    ranges = workspace / "data" / "X_train.parquet.part.ranges"
    whole = sum(stop - start for start, stop in json.loads(ranges.read_text())["done"])
    assert 0 < whole < size
    assert not (workspace / "data" / "X_train.parquet").exists()
    hub.reset_faults()
    time.sleep(1.5)  # the hub's paced answers to the stopped process end at their next block
    hub.reset_stats()
    again = run_crunch("download", cwd=workspace, env=ranged_env(hub, size))
    assert again.returncode == 0, again.output
    assert "X_train.parquet: resumed at" in again.stdout
    assert hub.bytes_served(path) == size - whole
    assert sha256(workspace / "data" / "X_train.parquet") == sha
    assert not ranges.exists()


def competition_of_big_files(hub, crunch, folder: Path, name: str, mib: int, big: tuple) -> Path:
    """A competition ``name`` whose ``big`` files hold ``mib`` MiB of random bytes each (its
    other files are small); returns the folder of its files."""
    import os

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / f"{name}-files"
    data.mkdir()
    schema = pa.schema([("id", pa.int64()), ("blob", pa.binary())])
    for file in big:
        with pq.ParquetWriter(data / f"{file}.parquet", schema, compression="NONE") as writer:
            for group in range(mib):  # 1 MiB of random bytes a row group
                ids = pa.array(range(group * 16, (group + 1) * 16), pa.int64())
                writer.write_table(pa.Table.from_arrays([ids, pa.array([os.urandom(64 << 10) for _ in range(16)])], schema=schema))
    small = {"y_train": {"id": [1, 2], "target": [0.1, 0.2]}, "X_test": {"id": [3, 4], "blob": [b"a", b"b"]}}
    for file, columns in small.items():
        if file not in big:
            pd.DataFrame(columns).to_parquet(data / f"{file}.parquet")
    pd.DataFrame({"id": [3, 4], "prediction": [0.0, 0.0]}).to_parquet(data / "example_prediction.parquet")
    added = crunch("hub", "add-competition", name, data, "--root", hub.root)
    assert added.returncode == 0, added.stderr
    made = hub.run("setup", name, "p1", "--token", hub.token(name, "p1"), "--no-data", cwd=folder)
    assert made.returncode == 0, made.output
    return data


def test_auto_adds_connections_on_a_link_capped_per_connection(hub, crunch, tmp_path):
    """The default count: one connection first, then two; on a link that caps each connection
    they pay, so the others are opened too (the hub counts the bodies under way at once)."""
    data = competition_of_big_files(hub, crunch, tmp_path, "wide", 8, ("X_train",))
    size = (data / "X_train.parquet").stat().st_size
    path = "/data/competitions/wide/DEFAULT/X_train.parquet"
    env = hub.env(CRUNCH_DOWNLOAD_PIECE_SIZE=str(1 << 20), CRUNCH_RETRY_BACKOFF="0.05")
    env.pop("CRUNCH_DOWNLOAD_CONNECTIONS", None)
    hub.faults(rate_cap=4 << 20, path_prefix=path)  # one connection: about 2 s for the file
    hub.reset_stats()
    result = run_crunch("download", cwd=tmp_path / "wide-p1", env=env)
    assert result.returncode == 0, result.output
    stats = hub.stats()
    assert stats["mostBodiesAtOnceByPath"][path] >= 3
    assert hub.bytes_served(path) == size  # each byte asked once
    assert sha256(tmp_path / "wide-p1" / "data" / "X_train.parquet") == sha256(data / "X_train.parquet")
    assert not (tmp_path / "wide-p1" / "data" / "X_train.parquet.part.ranges").exists()


def test_a_fixed_count_opens_that_many_and_one_is_one(hub, tmp_path):
    workspace = workspace_without_data(hub, tmp_path)
    path, size, sha = x_train(hub)
    hub.faults(rate_cap=size / 2, path_prefix=path)  # slow enough for the four to overlap
    hub.reset_stats()
    env = ranged_env(hub, size)
    env.pop("CRUNCH_DOWNLOAD_CONNECTIONS")  # the option alone says how many
    result = run_crunch("download", "--connections", "4", cwd=workspace, env=env)
    assert result.returncode == 0, result.output
    assert hub.stats()["mostBodiesAtOnceByPath"][path] == 4
    assert sha256(workspace / "data" / "X_train.parquet") == sha
    hub.reset_stats()
    again = run_crunch("download", "--force", "--connections", "1", cwd=workspace, env=ranged_env(hub, size))
    assert again.returncode == 0, again.output
    assert hub.stats()["mostBodiesAtOnceByPath"][path] == 1
    bad = run_crunch("download", "--connections", "many", cwd=workspace, env=hub.env())
    assert bad.returncode == 1 and bad.stderr.startswith("error: --connections many is not a number of connections")
    assert "Traceback" not in bad.stderr


def test_files_fetched_at_once_share_one_pool_of_extra_connections(hub, crunch, tmp_path):
    """Three big files at once with --connections 4: each has its first connection, and the
    three others come from one pool (not three more per file: twelve)."""
    big = ("X_train", "y_train", "X_test")
    data = competition_of_big_files(hub, crunch, tmp_path, "three", 3, big)
    size = (data / "X_train.parquet").stat().st_size
    hub.faults(rate_cap=size / 3, path_prefix="/data/competitions/three/")  # each file about 3 s on one connection
    hub.reset_stats()
    env = hub.env(CRUNCH_DOWNLOAD_PIECE_SIZE=str(-(-size // 8)), CRUNCH_RETRY_BACKOFF="0.05")
    result = run_crunch("download", "--connections", "4", cwd=tmp_path / "three-p1", env=env)
    assert result.returncode == 0, result.output
    # 3 first connections and 3 from the pool; the hub counts a body until its handler ends,
    # which can come just after the client's next request: 2 more at most (without the pool: 12)
    assert 4 <= hub.stats()["mostBodiesAtOnce"] <= 3 + 3 + 2
    for name in big:
        assert sha256(tmp_path / "three-p1" / "data" / f"{name}.parquet") == sha256(data / f"{name}.parquet")


def ranged_transfer(hub, part: Path, count: int, hasher) -> tuple:
    """A RangedTransfer of the demo's X_train into ``part`` on ``count`` connections (4 KiB reads)."""
    from crunch.core.console import Console
    from crunch.transfer import ranges
    from crunch.transfer.download import Downloader

    _, size, sha = x_train(hub)
    url = hub.client().get_data_release("demo").data_files["X_train"].url
    downloader = Downloader(connections=count, chunk_size=4096)
    transfer = ranges.RangedTransfer(
        downloader, url=url, refresh=None, part=part, size=size, sha=sha, hasher=hasher,
        bar=Console(quiet=True).progress(total=size), label="X_train", connections=ranges.Connections(count),
    )
    return transfer, size, sha


class SlowHasher:
    """A sha256 slower than the link: the hand-over queue fills."""

    def __init__(self) -> None:
        self.inner = hashlib.sha256()
        self.threads = set()

    def update(self, data) -> None:
        import threading
        import time

        self.threads.add(threading.current_thread().name)
        time.sleep(0.002)
        self.inner.update(data)

    def hexdigest(self) -> str:
        return self.inner.hexdigest()


@pytest.mark.parametrize("count", [1, 4])
def test_the_hash_is_right_whether_chunks_are_handed_over_waited_for_or_read_back(count, hub, tmp_path, monkeypatch):
    """A hand-over queue of one chunk and a hash thread slower than the link: the writer at the
    hashed end waits for room, pieces ahead of it are read back from disk. The sha256 is the
    file's every time, and the paths were taken (counted by the transfer)."""
    from crunch.transfer import ranges

    monkeypatch.setattr(ranges, "HANDOFF_DEPTH", 1)
    _, size, _ = x_train(hub)
    monkeypatch.setenv(ranges.PIECE_VARIABLE, str(-(-size // 6)))
    for round_ in range(3):
        part = tmp_path / f"X_train-{round_}.part"
        hasher = SlowHasher()
        transfer, size, sha = ranged_transfer(hub, part, count, hasher)
        assert transfer.run() == size
        assert transfer.hashed == size and hasher.hexdigest() == sha
        assert transfer.handed_over + transfer.read_back == size
        assert transfer.handed_over > 0 and transfer.hash_waits > 0  # the writer waited for room
        if count > 1:
            assert transfer.read_back > 0  # pieces written ahead of the hashed end
        assert hasher.threads == {"crunch-range-hash"}
        assert sha256(part) == sha


def test_a_resumed_part_is_hashed_back_while_the_holes_arrive(hub, tmp_path, monkeypatch):
    """A part whose first half is whole (its ranges file says so): the hash thread reads that
    half back while the other half arrives; the writer does not wait for it."""
    from crunch.transfer import ranges

    monkeypatch.setattr(ranges, "HANDOFF_DEPTH", 1)
    path, size, sha = x_train(hub)
    monkeypatch.setenv(ranges.PIECE_VARIABLE, str(-(-size // 6)))
    source = (hub.root / "files" / path[len("/data/"):]).read_bytes()
    part = tmp_path / "X_train.part"
    half = size // 2
    part.write_bytes(source[:half])
    ranges.save_done(part, size, sha, [(0, half)])
    hub.reset_stats()
    transfer, size, sha = ranged_transfer(hub, part, 2, SlowHasher())
    assert transfer.run() == size - half
    assert transfer.hashed == size and transfer.hasher.hexdigest() == sha
    assert transfer.read_back >= half
    assert hub.bytes_served(path) == size - half
    assert sha256(part) == sha


def test_a_read_error_of_the_hash_thread_ends_the_transfer_with_one_message(hub, tmp_path, monkeypatch):
    """The hash thread cannot read the part back: the transfer ends (no writer waits for it for
    ever) with an error saying so."""
    from crunch.exceptions import TransferError
    from crunch.transfer import ranges

    def broken_pread(fd, count, offset):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ranges, "HANDOFF_DEPTH", 1)
    monkeypatch.setattr(ranges.os, "pread", broken_pread)
    _, size, _ = x_train(hub)
    monkeypatch.setenv(ranges.PIECE_VARIABLE, str(-(-size // 6)))
    transfer, _, _ = ranged_transfer(hub, tmp_path / "X_train.part", 4, SlowHasher())
    with pytest.raises(TransferError, match="could not be read back to be hashed \\(Input/output error\\)"):
        transfer.run()
