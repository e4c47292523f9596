#!/usr/bin/env python3
"""`crunch convert` against the public crunch-convert, side by side, on one generated notebook.

    python benchmarks/convert.py [--cells 1000] [--runs 5] [--peer PATH]  (default: crunch-convert 0.12.3 in the tests' peer cache)

Both run as whole processes (interpreter start included) on the notebook made by
make_notebook.py; prints the median wall time and peak RSS of each, the ratio, and checks
that both scripts are identical.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import TOOLS, peer_executable  # noqa: E402

MAKE_NOTEBOOK = TOOLS / "make_notebook.py"


def measure(command: list, cwd: Path) -> float:
    """Wall seconds of one run of ``command`` (interpreter start included)."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return wall


def peak_rss(command: list, cwd: Path) -> float:
    """Peak RSS in MiB of one run, from /usr/bin/time (or resource.getrusage without it)."""
    if not Path("/usr/bin/time").exists():
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        return int(done.stderr.strip().splitlines()[-1]) / 1024
    except (ValueError, IndexError):
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer", default=None, help="crunch-convert executable (default: 0.12.3 from the peer cache)")
    parser.add_argument("--crunch", default=str(Path(sys.executable).with_name("crunch")))
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crunch-convert-bench-"))
    try:
        subprocess.run([sys.executable, str(MAKE_NOTEBOOK), str(options.cells), "big.ipynb"], cwd=work, check=True, stdout=subprocess.DEVNULL)
        ours_cmd = [options.crunch, "convert", "big.ipynb", "ours.py", "--overwrite"]
        options.peer = options.peer or peer_executable("crunch-convert", "0.12.3", "crunch-convert")
        peer_cmd = [options.peer, "notebook", "big.ipynb", "peer.py", "--override"]
        have_peer = Path(options.peer).exists()
        times = {"crunch convert": [], "crunch-convert": []}
        for _ in range(options.runs):  # interleaved, so both see the same machine load
            times["crunch convert"].append(measure(ours_cmd, work))
            if have_peer:
                times["crunch-convert"].append(measure(peer_cmd, work))
        rss = {"crunch convert": peak_rss(ours_cmd, work)}
        if have_peer:
            rss["crunch-convert"] = peak_rss(peer_cmd, work)

        print(f"notebook: {options.cells} cells ({(work / 'big.ipynb').stat().st_size / 1024:.0f} KiB), {options.runs} runs, {os.cpu_count()} CPU(s)")
        for name, values in times.items():
            if values:
                print(f"{name:16s} median {statistics.median(values):7.3f} s  (min {min(values):.3f}, max {max(values):.3f})  peak RSS {rss[name]:6.1f} MiB")
        if have_peer:
            ours = (work / "ours.py").read_text()
            peer = (work / "peer.py").read_text()
            same = ours == peer
            ratio = statistics.median(times["crunch-convert"]) / statistics.median(times["crunch convert"])
            print(f"outputs identical: {same} ({ours.count(chr(10))} lines)")
            print(f"speed-up: {ratio:.1f}x (goal: >= 10x)")
            if not same:
                sys.exit("the outputs differ")
        else:
            print(f"peer not found at {options.peer}: only crunch convert measured")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
