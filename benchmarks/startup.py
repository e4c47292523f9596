#!/usr/bin/env python3
"""Startup time of `crunch --help`, side by side with the public crunch-cli in the same run.

usage: python benchmarks/startup.py [--peer /path/to/peer/bin/crunch] [--repeat 15]
The peer is crunch-cli 13.0.1 installed in its own virtual environment
(by default the one the tests install into their peer cache).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure, peer_executable, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", default=None, help="crunch of crunch-cli 13.0.1 (default: the peer cache's)")
    parser.add_argument("--ours", default=shutil.which("crunch", path=str(Path(sys.executable).parent)) or "crunch")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("CRUNCH_DEBUG",)}
    results = {}
    args.peer = args.peer or peer_executable("crunch-cli", "13.0.1", "crunch")
    for name, exe in (("crunch (this)", args.ours), ("crunch-cli 13.0.1", args.peer)):
        if not Path(exe).exists():
            print(f"{name}: {exe} not found, skipped")
            continue
        measure([exe, "--help"], env=env)  # warm the file cache
        runs = []
        # interleave is not needed: the two commands do not share state; alternate anyway
        for _ in range(args.repeat):
            run = measure([exe, "--help"], env=env)
            if run.returncode != 0:
                print(f"{name} failed: {run.stderr.strip()}")
                return 1
            runs.append(run)
        results[name] = summary(runs)
        print(f"{name:<20} median wall {results[name][0]:.3f} s   peak {results[name][1]:.1f} MiB")
    if len(results) == 2:
        ours, peer = results["crunch (this)"], results["crunch-cli 13.0.1"]
        print(f"ratio (ours / peer) wall: {ours[0] / peer[0]:.2f}   (goal: <= 0.80)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
