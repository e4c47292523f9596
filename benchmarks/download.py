#!/usr/bin/env python3
"""`crunch download` of a big file next to `curl -o` of the same URL, from the local hub.

usage: python benchmarks/download.py [--size-mib 256 512 1024] [--rounds 5] [--throttled-rounds 3]
       [--link loopback|throttled|both] [--hash-after] [--peer-python PY] [--keep]

Makes a regular competition whose X_train.parquet is SIZE MiB of incompressible bytes
(written row group by row group), hosts it with `crunch hub add-competition`, serves it with
`crunch hub serve --port 0`, sets a workspace up with `--no-data`, then, on each link, ROUNDS
times, in an order that alternates: `curl -o` of the signed data URL; `crunch download` of the
deleted file (the whole process); crunch's download function alone (Downloader.fetch, timed
inside its process; with --hash-after also with the sha256 computed after the ranges instead
of following them); and the download function of the public crunch-cli 13 (--peer-python,
by default the python of the tests' cached environment of crunch-cli 13.0.1). On loopback also `crunch download --connections 1` and `8` next to
the adaptive default, the sha256 alone of the same bytes (a python that imports requests,
then hashes the hub's copy of the file from the page cache): what any client that verifies
the file must spend at least, and `curl -o` followed by `sha256sum`: the same work as
`crunch download` done by hand. Several sizes are measured one after the other, each from a
hub of its own. The links: plain loopback, and throttled (the hub's rateCap and
latency faults: 40 MiB/s per connection, 30 ms added to each answer). Every run is under
`/usr/bin/time -v` for its peak RSS; before each one every output is deleted and the disk
synced, so all start alike. crunch's modules are compiled to bytecode first, as an
installation does. Prints wall times, throughputs (medians), their ratios and crunch's peak
memory. Goals: loopback, the whole `crunch download` at least as fast as `curl -o` then
`sha256sum`; throttled, from 256 MiB up, at least 4x curl's single stream and 4x the public
client; peak under 80 MiB. Every big file is
deleted at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import admin_headers, remember_hub  # noqa: E402

CRUNCH = str(Path(sys.executable).with_name("crunch"))
MIB = 1 << 20

# crunch's download function (what `crunch download` runs for each file), timed alone
CRUNCH_FUNCTION = """
import sys, time
from crunch.transfer.download import Downloader, Remote
url, size, sha, folder, follow = sys.argv[1], int(sys.argv[2]), sys.argv[3] or None, sys.argv[4], sys.argv[5] == "follow"
start = time.perf_counter()
Downloader(follow_hash=follow).fetch(Remote("X_train.parquet", url, size, sha), folder, force=True)
print(time.perf_counter() - start)
"""

# the sha256 of the served file alone (from the page cache), as the whole process of a python
# that imports what `crunch download` imports first: the least any client that verifies can take
HASH_ALONE = """
import hashlib, sys
import requests  # noqa: F401  (crunch imports it before any byte arrives)
with open(sys.argv[1], "rb") as handle:
    hashlib.file_digest(handle, "sha256")
"""

# the download function of the public crunch-cli 13 (run with its own python), timed alone
PEER_FUNCTION = """
import sys, time
from crunch.utils import download
start = time.perf_counter()
download(sys.argv[1], sys.argv[2], log=False, progress_bar=False)
print(time.perf_counter() - start)
"""


def write_big_parquet(path: Path, size_mib: int) -> None:
    """A parquet file of about ``size_mib`` MiB: an id column and random binary blobs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.int64()), ("blob", pa.binary())])
    rows_per_group, blob = 16, 64 * 1024  # 1 MiB of random bytes per row group
    with pq.ParquetWriter(path, schema, compression="NONE") as writer:
        for group in range(size_mib):
            ids = pa.array(range(group * rows_per_group, (group + 1) * rows_per_group), pa.int64())
            blobs = pa.array([os.urandom(blob) for _ in range(rows_per_group)], pa.binary())
            writer.write_table(pa.Table.from_arrays([ids, blobs], schema=schema))


def write_small_parquets(folder: Path) -> None:
    import pandas as pd

    if not (folder / "y_train.parquet").exists():
        pd.DataFrame({"id": [1, 2, 3], "target": [0.1, 0.2, 0.3]}).to_parquet(folder / "y_train.parquet")
    if not (folder / "X_test.parquet").exists():
        pd.DataFrame({"id": [4, 5], "blob": [b"a", b"b"]}).to_parquet(folder / "X_test.parquet")
    pd.DataFrame({"id": [4, 5], "prediction": [0.0, 0.0]}).to_parquet(folder / "example_prediction.parquet")


def compile_package() -> None:
    """Compile crunch's modules to bytecode, as installing a wheel does.

    A source checkout run with PYTHONDONTWRITEBYTECODE would otherwise compile every module
    at every start, a cost no installed copy pays.
    """
    import compileall

    import crunch

    compileall.compile_dir(str(Path(crunch.__file__).parent), quiet=1)


def start_hub(root: Path, log: Path) -> tuple:
    process = subprocess.Popen(
        [CRUNCH, "hub", "serve", "--port", "0", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=open(log, "wb"),
        text=True,
    )
    line = process.stdout.readline().strip()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"the hub did not start: {line!r} {log.read_text()[-1000:]}")
    return process, line.split(" ", 2)[2]


def delete(paths: List[Path]) -> None:
    for path in paths:
        if path.exists():
            path.unlink()


def timed(command: list, cwd: Path, env: dict) -> tuple:
    """(wall seconds, peak RSS in KiB, stdout) of ``command`` under /usr/bin/time -v."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stdout[-1000:]} {result.stderr[-2000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return wall, int(match.group(1)) if match else -1, result.stdout


def measure_three_at_once(work: Path, size_mib: int, env: dict) -> None:
    """Peak memory of `crunch download` fetching three big files at once (its thread pool)."""
    source = work / "three"
    source.mkdir()
    for name in ("X_train", "y_train", "X_test"):
        write_big_parquet(source / f"{name}.parquet", size_mib)
    write_small_parquets(source)
    root = work / "hub3"
    subprocess.run([CRUNCH, "hub", "add-competition", "three", str(source), "--root", str(root)], check=True, capture_output=True)
    shutil.rmtree(source)
    hub, url = start_hub(root, work / "hub3.log")
    remember_hub(url, root)
    try:
        token = subprocess.run([CRUNCH, "hub", "token", "three", "bench", "--root", str(root)], check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(
            [CRUNCH, "--api-base-url", url, "setup", "three", "bench", "--token", token, "--no-data", str(work / "ws3")],
            check=True, capture_output=True, env=env,
        )
        os.sync()
        wall, peak, _ = timed([CRUNCH, "-q", "download"], work / "ws3", env)
        print(f"three {size_mib} MiB files at once: {wall:.2f} s, crunch peak memory {peak / 1024:.1f} MiB")
    finally:
        hub.terminate()
        hub.wait(timeout=10)
        shutil.rmtree(work / "ws3", ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


LINKS = {
    # name: (MiB/s per connection or None, seconds added per answer)
    "loopback": (None, 0.0),
    "throttled": (40.0, 0.03),
}


def shape(api: str, link: str) -> None:
    """Shape the hub's data links (its rateCap and latency faults)."""
    import urllib.request

    rate, latency = LINKS[link]
    body = json.dumps({"rateCap": rate * MIB if rate else None, "latency": latency}).encode()
    request = urllib.request.Request(api.rstrip("/") + "/_admin/faults", data=body, headers=admin_headers(api))
    urllib.request.urlopen(request, timeout=10).read()


def measure_link(link: str, api: str, runs: Dict[str, tuple], rounds: int, size: int, env: dict) -> None:
    """``rounds`` rounds of every run on ``link``, in an order that alternates; print the table."""
    shape(api, link)
    outputs = [output for _, _, output in runs.values() if output is not None]
    walls: Dict[str, List[float]] = {name: [] for name in runs}
    calls: Dict[str, List[float]] = {name: [] for name in runs if "function" in name}
    peaks: Dict[str, List[int]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            command, cwd, output = runs[name]
            # each run starts alike: the last run's output is deleted (its memory is free
            # again) and no dirty page is left to write back
            delete(outputs)
            os.sync()
            wall, peak, stdout = timed(command, cwd, env)
            assert output is None or output.stat().st_size == size, name
            walls[name].append(wall)
            peaks[name].append(peak)
            if name in calls:
                calls[name].append(float(stdout.split()[-1]))
    delete(outputs)

    def line(name: str, times: List[float]) -> str:
        median = statistics.median(times)
        return f"{name:28}: {', '.join(f'{t:.2f}' for t in times)} s  median {median:.2f} s = {size / MIB / median:.0f} MiB/s"

    rate, latency = LINKS[link]
    shown = "plain loopback" if rate is None else f"{rate:g} MiB/s per connection, {latency * 1000:g} ms per answer"
    curl = statistics.median(walls["curl -o"])
    print(f"{link} link ({shown}): {size / MIB:.0f} MiB served by the local hub, {rounds} rounds, order alternating")
    print("  whole processes (start, API calls, transfer, sha256 verified, exit):")
    for name in runs:
        print(f"    {line(name, walls[name])}, peak {max(peaks[name]) / 1024:.1f} MiB")
    print("  the download function alone, timed inside its process (fetch, sha256 verified, rename):")
    for name in calls:
        print(f"    {line(name, calls[name])}")
    ours = statistics.median(walls["crunch download"])
    print(f"  crunch download, whole process / curl -o: {curl / ours:.2f}x")
    for name in runs:
        if name.startswith("crunch download --connections"):
            print(f"  {name}, whole process / curl -o: {curl / statistics.median(walls[name]):.2f}x")
    if "sha256 alone" in walls:
        print(f"  the sha256 alone (python start, requests imported, the file hashed) / curl -o: {curl / statistics.median(walls['sha256 alone']):.2f}x")
    if "curl -o + sha256sum" in walls:  # the same work as crunch download: fetch, then verify
        same_work = statistics.median(walls["curl -o + sha256sum"])
        print(f"  crunch download, whole process / (curl -o then sha256sum): {same_work / ours:.2f}x (goal >= 1.0)")
    print(f"  crunch download function / curl -o:       {curl / statistics.median(calls['crunch function']):.2f}x")
    if "crunch function, hash after" in calls:
        follow, after = statistics.median(calls["crunch function"]), statistics.median(calls["crunch function, hash after"])
        print(f"  sha256 following the ranges: {follow:.2f} s, after them: {after:.2f} s")
    if "crunch-cli function" in calls:
        peer = statistics.median(calls["crunch-cli function"])
        print(f"  crunch download, whole process / crunch-cli 13 function: {peer / ours:.2f}x (it verifies nothing)")
        print(f"  crunch function / crunch-cli 13 function: {peer / statistics.median(calls['crunch function']):.2f}x")
    print(f"  crunch download peak memory: {max(peaks['crunch download']) / 1024:.1f} MiB (goal < 80 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, nargs="+", default=[1024], help="one or more sizes (MiB), each measured in turn: 256 512 1024")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on the loopback link")
    parser.add_argument("--throttled-rounds", type=int, default=3, help="rounds on the throttled link")
    parser.add_argument("--link", choices=["loopback", "throttled", "both"], default="both")
    parser.add_argument("--hash-after", action="store_true", help="also time crunch's function hashing after the ranges complete")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--peer-python", metavar="PYTHON", default=None,
        help="the python of a virtual environment with the public crunch-cli 13 (default: the tests' cached one, "
        "installed on first use; '' to skip it): also time its download function",
    )
    parser.add_argument(
        "--memory-files", type=int, default=0, metavar="MIB",
        help="then also measure the peak memory of three MIB-sized files downloaded at once (0: skip)",
    )
    args = parser.parse_args()
    if args.peer_python is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from measure import peer_executable

        args.peer_python = peer_executable("crunch-cli", "13.0.1", "python")
    if not shutil.which("curl"):
        raise SystemExit("curl is needed")

    compile_package()
    for size_mib in args.size_mib:
        measure_size(args, size_mib)


def measure_size(args: argparse.Namespace, size_mib: int) -> None:
    """Every run of the chosen links for one file of ``size_mib`` MiB, from a hub of its own."""
    work = Path(tempfile.mkdtemp(prefix="crunch-bench-download-"))
    hub = None
    try:
        source = work / "source"
        source.mkdir()
        print(f"writing a {size_mib} MiB X_train.parquet ...", flush=True)
        write_big_parquet(source / "X_train.parquet", size_mib)
        write_small_parquets(source)
        size = (source / "X_train.parquet").stat().st_size
        root = work / "hub"
        subprocess.run([CRUNCH, "hub", "add-competition", "big", str(source), "--root", str(root)], check=True, capture_output=True)
        (source / "X_train.parquet").unlink()  # the hub keeps its own link or copy
        hub, url = start_hub(root, work / "hub.log")
        remember_hub(url, root)
        env = dict(os.environ, CRUNCH_RETRY_BACKOFF="0.2")
        token = subprocess.run(
            [CRUNCH, "hub", "token", "big", "bench", "--root", str(root)], check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run(
            [CRUNCH, "--api-base-url", url, "setup", "big", "bench", "--token", token, "--no-data", str(work / "ws")],
            check=True, capture_output=True, env=env,
        )
        workspace = work / "ws"
        # one warm-up fetch fills the page cache of the served file and gives the signed URL
        subprocess.run([CRUNCH, "-q", "download"], cwd=workspace, check=True, env=env)
        release = json.loads((workspace / ".crunchdao" / "data_release.json").read_text())
        data_url = release["dataFiles"]["X_train"]["url"]

        data_file = workspace / "data" / "X_train.parquet"
        entry = release["dataFiles"]["X_train"]
        functions = work / "functions"
        functions.mkdir()
        runs = {
            "curl -o": (["curl", "-s", "-f", "-o", str(work / "curl.out"), data_url], work, work / "curl.out"),
            "crunch download": ([CRUNCH, "-q", "download"], workspace, data_file),
            "crunch function": (
                [sys.executable, "-c", CRUNCH_FUNCTION, data_url, str(size), entry.get("sha256") or "", str(functions), "follow"],
                work, functions / "X_train.parquet",
            ),
        }
        if args.hash_after:
            runs["crunch function, hash after"] = (
                [sys.executable, "-c", CRUNCH_FUNCTION, data_url, str(size), entry.get("sha256") or "", str(functions), "after"],
                work, functions / "X_train.parquet",
            )
        if args.peer_python:
            runs["crunch-cli function"] = (
                [args.peer_python, "-c", PEER_FUNCTION, data_url, str(functions / "peer.parquet")], work, functions / "peer.parquet",
            )
        # on loopback also: fixed counts next to the adaptive default, and the sha256 alone of the
        # served file (the hub's copy, in the page cache since the warm-up fetch)
        served = next((root / "files").rglob("big/DEFAULT/X_train.parquet"))
        loopback_runs = dict(runs)
        for count in (1, 8):
            loopback_runs[f"crunch download --connections {count}"] = (
                [CRUNCH, "-q", "download", "--connections", str(count)], workspace, data_file,
            )
        loopback_runs["sha256 alone"] = ([sys.executable, "-c", HASH_ALONE, str(served)], work, None)
        if shutil.which("sha256sum"):  # what a careful person types: the file, then its checksum
            loopback_runs["curl -o + sha256sum"] = (
                ["sh", "-c", 'curl -s -f -o "$1" "$2" && sha256sum "$1" > /dev/null', "sh", str(work / "curl.out"), data_url],
                work, work / "curl.out",
            )
        links = ["loopback", "throttled"] if args.link == "both" else [args.link]
        for link in links:
            rounds = args.rounds if link == "loopback" else args.throttled_rounds
            measure_link(link, url, loopback_runs if link == "loopback" else runs, rounds, size, env)

        if args.memory_files and size_mib == args.size_mib[-1]:  # once, after the last size
            measure_three_at_once(work, args.memory_files, env)
    finally:
        if hub is not None:
            hub.terminate()
            hub.wait(timeout=10)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
