"""End to end: the local hub's quickstarter passes `crunch test` with the hub gone after setup."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

CRUNCH = str(Path(sys.executable).parent / "crunch")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        any(importlib.util.find_spec(f"crunch.commands.{name}") is None for name in ("hub_serve", "hub_token", "setup", "download")),
        reason="needs the local hub and `crunch setup`",
    ),
]


def test_quickstarter_passes_offline(tmp_path):
    root = tmp_path / "hub"
    server = subprocess.Popen(
        [CRUNCH, "hub", "serve", "--port", "0", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = None
        for _ in range(200):
            line = server.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "the hub did not start"
        token = subprocess.run(
            [CRUNCH, "hub", "token", "demo", "runner", "--root", str(root)], capture_output=True, text=True, timeout=60, check=True
        ).stdout.split()[-1]
        workspace = tmp_path / "ws"
        done = subprocess.run(
            [CRUNCH, "--api-base-url", url, "setup", "demo", "runner", str(workspace), "--token", token, "--submission", "scratch"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    # the network is cut: everything comes from the workspace
    done = subprocess.run([CRUNCH, "test"], cwd=workspace, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prediction is valid" in done.stdout
    assert (workspace / "prediction" / "prediction.parquet").is_file()
