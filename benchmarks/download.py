#!/usr/bin/env python3
"""`crunch download` of a big file next to `curl -o` of the same URL, from the local hub.

usage: python benchmarks/download.py [--size-mib 1024] [--rounds 2] [--keep]

Makes a regular competition whose X_train.parquet is SIZE MiB of incompressible bytes
(written row group by row group), hosts it with `crunch hub add-competition`, serves it with
`crunch hub serve --port 0`, sets a workspace up with `--no-data`, then alternates, ROUNDS
times: `curl -o` of the signed data URL, and `crunch download` of the deleted file (the whole process,
under `/usr/bin/time -v` for its peak RSS). Prints wall times, throughputs, their ratio and
crunch's peak memory. Goal: crunch at least as fast as curl, under 60 MiB peak. Every big
file is deleted at the end (unless --keep).
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

CRUNCH = str(Path(sys.executable).with_name("crunch"))
MIB = 1 << 20


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


def timed(command: list, cwd: Path, env: dict) -> tuple:
    """(wall seconds, peak RSS in KiB) of ``command`` under /usr/bin/time -v."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({result.returncode}): {result.stdout[-1000:]} {result.stderr[-2000:]}")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    return wall, int(match.group(1)) if match else -1


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
    try:
        token = subprocess.run([CRUNCH, "hub", "token", "three", "bench", "--root", str(root)], check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run(
            [CRUNCH, "--api-base-url", url, "setup", "three", "bench", "--token", token, "--no-data", str(work / "ws3")],
            check=True, capture_output=True, env=env,
        )
        os.sync()
        wall, peak = timed([CRUNCH, "-q", "download"], work / "ws3", env)
        print(f"three {size_mib} MiB files at once: {wall:.2f} s, crunch peak memory {peak / 1024:.1f} MiB")
    finally:
        hub.terminate()
        hub.wait(timeout=10)
        shutil.rmtree(work / "ws3", ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--memory-files", type=int, default=0, metavar="MIB",
        help="then also measure the peak memory of three MIB-sized files downloaded at once (0: skip)",
    )
    args = parser.parse_args()
    if not shutil.which("curl"):
        raise SystemExit("curl is needed")

    work = Path(tempfile.mkdtemp(prefix="crunch-bench-download-"))
    hub = None
    try:
        source = work / "source"
        source.mkdir()
        print(f"writing a {args.size_mib} MiB X_train.parquet ...", flush=True)
        write_big_parquet(source / "X_train.parquet", args.size_mib)
        write_small_parquets(source)
        size = (source / "X_train.parquet").stat().st_size
        root = work / "hub"
        subprocess.run([CRUNCH, "hub", "add-competition", "big", str(source), "--root", str(root)], check=True, capture_output=True)
        (source / "X_train.parquet").unlink()  # the hub keeps its own link or copy
        hub, url = start_hub(root, work / "hub.log")
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

        curl_times, crunch_times, peaks, curl_peaks = [], [], [], []
        data_file = workspace / "data" / "X_train.parquet"
        for round_ in range(args.rounds):
            # both write a new 1 GiB file each time, starting with no dirty pages of the last run
            target = work / "curl.out"
            data_file.unlink()
            os.sync()
            runs = [("curl", ["curl", "-s", "-f", "-o", str(target), data_url], work), ("crunch", [CRUNCH, "-q", "download"], workspace)]
            for name, command, cwd in runs if round_ % 2 == 0 else runs[::-1]:
                os.sync()
                wall, peak = timed(command, cwd, env)
                if name == "curl":
                    assert target.stat().st_size == size
                    curl_times.append(wall)
                    curl_peaks.append(peak)
                else:
                    assert data_file.stat().st_size == size
                    crunch_times.append(wall)
                    peaks.append(peak)
            target.unlink()

        if args.memory_files:
            measure_three_at_once(work, args.memory_files, env)

        median_curl, median_crunch = statistics.median(curl_times), statistics.median(crunch_times)
        print(f"file: {size / MIB:.0f} MiB served by the local hub (Werkzeug, loopback), {args.rounds} rounds, alternating")
        print(f"curl -o        : {', '.join(f'{t:.2f}' for t in curl_times)} s  median {size / MIB / median_curl:.0f} MiB/s, peak {max(curl_peaks) / 1024:.1f} MiB")
        print(f"crunch download: {', '.join(f'{t:.2f}' for t in crunch_times)} s  median {size / MIB / median_crunch:.0f} MiB/s, peak {max(peaks) / 1024:.1f} MiB")
        print("  (crunch's time is the whole process: start, the API calls, every file checked, sha256 verified)")
        print(f"throughput ratio crunch/curl: median {median_curl / median_crunch:.2f}, best {min(curl_times) / min(crunch_times):.2f} (goal >= 1.0)")
        print(f"crunch peak memory: {max(peaks) / 1024:.1f} MiB (goal < 60 MiB)")
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
