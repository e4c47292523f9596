#!/usr/bin/env python3
"""``crunch test --isolated`` on the demo, environment cached, against a plain ``crunch test``,
in alternating rounds (goal: at most 1.5x its wall time).

    python benchmarks/isolated.py [--rounds 7]

Starts a local hub, sets up the ``demo`` workspace (its quickstarter, its data), makes the
clean environment once (not measured), then times both commands as whole processes
(interpreter start included), alternating which goes first. Prints each median, the ratio and
whether the goal is met.
"""

from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import admin_headers, remember_hub  # noqa: E402

GOAL = 1.5


def timed(command: list, cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--crunch", default=str(Path(sys.executable).with_name("crunch")))
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="crunch-isolated-bench-"))
    env = {**os.environ, "CRUNCH_ENVIRONMENTS_CACHE": str(work / "environments")}
    hub = subprocess.Popen([options.crunch, "hub", "serve", "--port", "0", "--root", str(work / "hub")], stdout=subprocess.PIPE, env=env)
    try:
        assert hub.stdout is not None
        url = hub.stdout.readline().decode().strip().split(" ")[-1]
        remember_hub(url, work / "hub")
        request = urllib.request.Request(
            url + "_admin/tokens", data=json.dumps({"competition": "demo", "project": "bench", "user": "alice"}).encode(), method="POST",
            headers=admin_headers(url),
        )
        with urllib.request.urlopen(request) as answer:
            token = json.loads(answer.read())["token"]
        subprocess.run([options.crunch, "--api-base-url", url, "setup", "demo", "bench", "ws", "--token", token], cwd=work, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        ws = work / "ws"
        plain = [options.crunch, "test"]
        isolated = [options.crunch, "test", "--isolated"]
        timed(isolated, ws, env)  # builds the environment: not measured
        timed(plain, ws, env)
        walls: dict = {"plain": [], "isolated": []}
        for index in range(options.rounds):
            order = [("plain", plain), ("isolated", isolated)]
            if index % 2:
                order.reverse()
            for name, command in order:
                walls[name].append(timed(command, ws, env))
        plain_median = statistics.median(walls["plain"])
        isolated_median = statistics.median(walls["isolated"])
        ratio = isolated_median / plain_median
        print(f"rounds: {options.rounds} (alternating order)")
        print(f"crunch test             median {plain_median:.3f} s  (min {min(walls['plain']):.3f}, max {max(walls['plain']):.3f})")
        print(f"crunch test --isolated  median {isolated_median:.3f} s  (min {min(walls['isolated']):.3f}, max {max(walls['isolated']):.3f})")
        print(f"ratio {ratio:.2f}x: goal (at most {GOAL}x) {'met' if ratio <= GOAL else 'NOT met'}")
    finally:
        hub.terminate()
        hub.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
