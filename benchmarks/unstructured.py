#!/usr/bin/env python3
"""`crunch test` of a structural-break-shaped competition, ours against crunch-cli 13.0.1.

usage: python benchmarks/unstructured.py [--rounds 3] [--warmup 1] [--train 10001] [--reduced 100]
       [--length 2500] [--peer PATH]  (default: crunch-cli 13.0.1 in the tests' peer cache)

The competition is the generator-inference fixture (tests/fixtures/competitions/): a runner of
the shape of structural-break (train on every series of X_train, infer as a generator over the
series of X_test.reduced, determinism check on 30% of them) at the real size by default
(structural-break: about 10,000 train series of 1,000 to 2,500 points, about 100 reduced test
series). The data is made once (cached under benchmarks/out/). A local hub hosts it; each tool
sets up its own workspace against the hub, then rounds alternate `crunch test` of each (the
peer reads the competition's code from the hub: CRUNCH_COMPETITIONS_SOURCE=cache+http://...).
Each tool first runs `--warmup` unmeasured times (each workspace has its own copy of the data:
the first read of it is a cold one). Wall time, CPU time (user + system) and peak RSS of the
whole process (wait4); the load average is printed before and after (on a busy machine the CPU
ratio is the steadier one). The goal: ours <= 0.7 of the peer's wall time and <= its peak memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from measure import admin_headers, measure, peer_executable, remember_hub  # noqa: E402

REPO = HERE.parent
FIXTURE = REPO / "tests" / "fixtures" / "competitions" / "generator-inference"
OUT = HERE / "out"
CRUNCH = str(Path(sys.executable).with_name("crunch"))
NAME = "sb-bench"

# A participant's solution with a vectorized train (the fixture's main.py, minus its per-series apply).
MAIN_PY = '''
import json
import os

import numpy as np
import pandas as pd


def _gap(dataset):
    values, period = dataset["value"].to_numpy(), dataset["period"].to_numpy()
    return float(abs(values[period == 1].mean() - values[period == 0].mean()))


def train(X_train, y_train, model_directory_path):
    means = X_train.groupby([X_train.index.get_level_values("id"), X_train["period"]])["value"].mean().unstack()
    gaps = (means[1] - means[0]).abs()
    threshold = float(gaps[y_train.reindex(gaps.index).to_numpy(dtype=bool)].median())
    with open(os.path.join(model_directory_path, "model.json"), "w") as file:
        json.dump({"threshold": threshold}, file)


def infer(X_test, model_directory_path):
    with open(os.path.join(model_directory_path, "model.json")) as file:
        threshold = json.load(file)["threshold"]
    yield
    for dataset in X_test:
        yield float(np.tanh(_gap(dataset) / max(threshold, 1e-9)))
'''


def make_data(train: int, reduced: int, length: int) -> Path:
    folder = OUT / f"unstructured-{train}-{reduced}-{length}"
    public, private = folder / "public", folder / "private"
    if (folder / "done").is_file():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    spec = importlib.util.spec_from_file_location("fixture_data", FIXTURE / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    started = time.perf_counter()
    module.generate(public, private, train=train, test=reduced + 1, reduced=reduced, length=length)
    (folder / "done").write_text("")
    print(f"data made in {time.perf_counter() - started:.1f} s: {sum(p.stat().st_size for p in public.iterdir()) / 2**20:.0f} MiB public")
    return folder


def start_hub(root: Path) -> tuple:
    process = subprocess.Popen([CRUNCH, "hub", "serve", "--port", "0", "--root", str(root)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = process.stdout.readline().decode().strip()
    assert line.startswith("listening on "), line
    return process, line.split(" ", 2)[2]


def token(url: str, project: str) -> str:
    request = urllib.request.Request(
        url + "_admin/tokens", data=json.dumps({"competition": NAME, "project": project, "user": "bench"}).encode(), method="POST",
        headers=admin_headers(url),
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "CRUNCH_COMPETITIONS_SOURCE")}
    env["NO_COLOR"] = "1"
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="Unmeasured runs of each tool first.")
    parser.add_argument("--train", type=int, default=10001)
    parser.add_argument("--reduced", type=int, default=100)
    parser.add_argument("--length", type=int, default=2500)
    parser.add_argument("--peer", default=None, help="crunch of crunch-cli 13.0.1 (default: the peer cache's)")
    parser.add_argument("--keep", metavar="DIR", help="Keep the hub and both workspaces in DIR (and leave the hub running).")
    args = parser.parse_args()

    peer_path = args.peer or peer_executable("crunch-cli", "13.0.1", "crunch")

    data = make_data(args.train, args.reduced, args.length)
    work = Path(args.keep).resolve() if args.keep else Path(tempfile.mkdtemp(prefix="crunch-bench-unstructured-"))
    work.mkdir(parents=True, exist_ok=True)
    hub, url = start_hub(work / "hub")
    remember_hub(url, work / "hub")
    try:
        env = clean_env()
        added = subprocess.run(
            [CRUNCH, "hub", "add-competition", NAME, str(data / "public"), "--root", str(work / "hub"), "--unstructured",
             "--code", str(FIXTURE), "--private-data", str(data / "private"), "--metric", "structural_breakpoint:roc-auc"],
            env=env, capture_output=True, text=True,
        )
        assert added.returncode == 0, added.stderr
        ours = work / "ours"
        done = subprocess.run([CRUNCH, "--api-base-url", url, "setup", NAME, "ours", str(ours), "--token", token(url, "ours")], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        (work / "peer").mkdir()
        done = subprocess.run([peer_path, "--api-base-url", url, "setup", NAME, "peer", "--token", token(url, "peer")], cwd=work / "peer", env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        theirs = work / "peer" / f"{NAME}-peer"
        for workspace in (ours, theirs):
            (workspace / "main.py").write_text(MAIN_PY)
        peer_env = {**env, "CRUNCH_COMPETITIONS_SOURCE": "cache+" + url.rstrip("/")}

        for _ in range(args.warmup):
            for command, cwd, environment in (([CRUNCH, "test"], ours, env), ([peer_path, "--api-base-url", url, "test"], theirs, peer_env)):
                run = measure(command, cwd=str(cwd), env=environment)
                if run.returncode != 0:
                    raise SystemExit(f"warm-up failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        results = {"ours": [], "peer": []}
        for number in range(args.rounds):
            for who, command, cwd, environment in (
                ("ours", [CRUNCH, "test"], ours, env),
                ("peer", [peer_path, "--api-base-url", url, "test"], theirs, peer_env),
            ) if number % 2 == 0 else (
                ("peer", [peer_path, "--api-base-url", url, "test"], theirs, peer_env),
                ("ours", [CRUNCH, "test"], ours, env),
            ):
                run = measure(command, cwd=str(cwd), env=environment)
                if run.returncode != 0:
                    raise SystemExit(f"{who} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}")
                results[who].append(run)
                print(f"round {number + 1} {who}: {run.wall:.2f} s (cpu {run.cpu:.2f} s), {run.peak_mib:.0f} MiB", flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        import pandas

        same = pandas.read_parquet(ours / "prediction" / "prediction.parquet").equals(pandas.read_parquet(theirs / "prediction" / "prediction.parquet"))
        print(f"prediction files identical: {same}")
        wall = {who: statistics.median(r.wall for r in runs) for who, runs in results.items()}
        peak = {who: statistics.median(r.peak_mib for r in runs) for who, runs in results.items()}
        best = {who: min(r.wall for r in runs) for who, runs in results.items()}
        cpu = {who: statistics.median(r.cpu for r in runs) for who, runs in results.items()}
        print(f"median wall: ours {wall['ours']:.2f} s, crunch-cli 13.0.1 {wall['peer']:.2f} s -> {wall['ours'] / wall['peer']:.2f} (goal <= 0.7)")
        print(f"best wall:   ours {best['ours']:.2f} s, crunch-cli 13.0.1 {best['peer']:.2f} s -> {best['ours'] / best['peer']:.2f}")
        print(f"median cpu:  ours {cpu['ours']:.2f} s, crunch-cli 13.0.1 {cpu['peer']:.2f} s -> {cpu['ours'] / cpu['peer']:.2f}")
        print(f"median peak: ours {peak['ours']:.0f} MiB, crunch-cli 13.0.1 {peak['peer']:.0f} MiB -> {peak['ours'] / peak['peer']:.2f} (goal <= 1.0)")
    finally:
        if args.keep:
            print(f"kept in {work}; the hub {url} (pid {hub.pid}) is still running")
        else:
            hub.terminate()
            hub.wait()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
