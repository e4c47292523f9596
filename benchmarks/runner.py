#!/usr/bin/env python3
"""The local runner against the peer (crunch-cli 3.11.0) and the read floor, side by side.

usage: python benchmarks/runner.py [--repeat N] [--rows-per-moon 5000] [--train-moons 200]
       [--test-moons 50] [--features 50] [--peer-python PATH]  (default: crunch-cli 3.11.0 in the tests' peer cache)

Makes the large timeseries data set once (cached under benchmarks/out/), builds a workspace
around it with a trivial train()/infer() (train every moon), and runs, each under
`/usr/bin/time -v`:
  ours   `crunch test` in that workspace (checks, determinism check and report included)
  peer   ../shared/tools/peer_runner3.py DATA 1 with the peer's own python (loop only, no checks)
  floor  read_floor.py DATA: read the four files once with pandas, nothing else
Prints the median wall time and peak RSS of each, and the ratios the goals are stated in
(of the medians, and of the best runs, which a busy machine disturbs less):
wall(ours) <= 1/4 wall(peer), peak(ours) <= 1.1 x peak(floor).
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
from measure import TOOLS, peer_executable  # noqa: E402

MAIN_PY = '''
import pandas

STATE = {}


def train(X_train, y_train):
    STATE["mean"] = float(y_train["target"].mean())


def infer(X_test):
    return pandas.DataFrame({"id": X_test["id"], "moon": X_test["moon"], "prediction": X_test["feature_0"] * 0.1 + STATE["mean"]})
'''


def make_data(rows: int, train_moons: int, test_moons: int, features: int) -> Path:
    data = OUT / f"ts-{rows}-{train_moons}-{test_moons}-{features}"
    if not (data / "meta.json").is_file():
        subprocess.run([sys.executable, str(TOOLS / "make_timeseries.py"), str(data), str(rows), str(train_moons), str(test_moons), str(features)], check=True)
    return data


def make_workspace(data: Path) -> Path:
    sys.path.insert(0, str(HERE.parent))
    from crunch.project.workspace import (
        CACHE_CHECKS,
        CACHE_COMPETITION,
        CACHE_DATA_RELEASE,
        ProjectInfo,
        Workspace,
    )

    meta = json.loads((data / "meta.json").read_text())
    root = OUT / f"workspace-{data.name}"
    if root.exists():
        shutil.rmtree(root)
    workspace = Workspace(root)
    workspace.create_layout()
    workspace.write_project(ProjectInfo("bench", "runner", "me", api_base_url="http://127.0.0.1:9/"))
    files = {}
    for key in ("X_train", "y_train", "X_test", "y_test", "example_prediction"):
        source = data / f"{key}.parquet"
        target = workspace.data_dir / source.name
        os.symlink(source, target)
        files[key] = {"name": source.name, "url": f"http://127.0.0.1:9/{source.name}", "size": source.stat().st_size}
    test = meta["testMoons"]
    train = list(range(test[0]))
    workspace.write_cache(CACHE_DATA_RELEASE, {
        "id": 1, "number": 1, "name": "bench", "embargo": meta["embargo"], "numberOfFeatures": meta["numberOfFeatures"],
        "columnNames": meta["columnNames"],
        "splits": [{"key": k, "group": "TRAIN"} for k in train] + [{"key": k, "group": "TEST", "reduced": "X"} for k in test],
        "dataFiles": files,
    })
    workspace.write_cache(CACHE_COMPETITION, {"id": 1, "name": "bench", "format": "TIMESERIES"})
    workspace.write_cache(CACHE_CHECKS, [
        {"function": name, "scope": scope, "order": order, "parameters": {}}
        for order, (name, scope) in enumerate([("COLUMNS_NAME", "ROOT"), ("NANS", "ROOT"), ("IDS", "ROOT"), ("MOONS", "ROOT"), ("CONSTANTS", "KEY")])
    ])
    (root / "main.py").write_text(MAIN_PY)
    return root


def timed(command: list, cwd: Path) -> tuple:
    """Wall seconds and peak RSS (MiB) of ``command`` under /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", result.stderr).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    return seconds, peak, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows-per-moon", type=int, default=5000)
    parser.add_argument("--train-moons", type=int, default=200)
    parser.add_argument("--test-moons", type=int, default=50)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--peer-python", default=None, help="python of crunch-cli 3.11.0 (default: the peer cache's)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    data = make_data(args.rows_per_moon, args.train_moons, args.test_moons, args.features)
    workspace = make_workspace(data)
    crunch = Path(sys.executable).parent / "crunch"
    runs = {
        "ours": ([str(crunch), "test"], workspace),
        "floor": ([sys.executable, str(TOOLS / "read_floor.py"), str(data)], OUT),
    }
    args.peer_python = args.peer_python or peer_executable("crunch-cli", "3.11.0", "python")
    if Path(args.peer_python).exists():
        peer_cwd = Path(tempfile.mkdtemp(prefix="peer-", dir=OUT))
        runs["peer"] = ([args.peer_python, str(TOOLS / "peer_runner3.py"), str(data), "1"], peer_cwd)
    else:
        print(f"peer python {args.peer_python} not found: peer skipped")

    results: dict = {name: [] for name in runs}
    last_output = ""
    for _ in range(args.repeat):
        for name, (command, cwd) in runs.items():
            wall, peak, output = timed(command, cwd)
            results[name].append((wall, peak))
            if name == "ours":
                last_output = output
    print(f"data: {data.name} ({args.rows_per_moon * (args.train_moons + args.test_moons)} rows, {args.features} features, {args.test_moons} test moons), {args.repeat} run(s), medians")
    medians = {}
    for name, values in results.items():
        wall = statistics.median(v[0] for v in values)
        peak = statistics.median(v[1] for v in values)
        medians[name] = (wall, peak)
        print(f"  {name:<6} wall {wall:6.2f} s   peak {peak:7.0f} MiB   (runs: {', '.join(f'{w:.2f}s/{p:.0f}MiB' for w, p in values)})")
    best = {name: (min(v[0] for v in values), min(v[1] for v in values)) for name, values in results.items()}
    for label, figures in (("median", medians), ("best", best)):
        parts = []
        if "peer" in figures:
            parts.append(f"wall ours/peer {figures['ours'][0] / figures['peer'][0]:.3f} (goal <= 0.25)")
            parts.append(f"peak ours/peer {figures['ours'][1] / figures['peer'][1]:.3f}")
        parts.append(f"peak ours/floor {figures['ours'][1] / figures['floor'][1]:.3f} (goal <= 1.10)")
        parts.append(f"wall ours/floor {figures['ours'][0] / figures['floor'][0]:.3f}")
        print(f"  {label:<6} " + ", ".join(parts))
    print("last report of ours:")
    print("\n".join("    " + line for line in last_output.strip().splitlines()))


if __name__ == "__main__":
    main()
