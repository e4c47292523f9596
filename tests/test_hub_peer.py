"""Protocol fidelity: the public crunch-cli 13 (an oracle installed beside, never imported)
sets up a workspace and downloads the data from the local hub."""

from __future__ import annotations

import os
import subprocess

import pytest
from peers import crunch_cli_13

pytestmark = [pytest.mark.e2e]


def peer(hub, *args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "PYTHONHOME")}
    completed = subprocess.run(
        [str(crunch_cli_13()), "--api-base-url", hub.url, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    return completed


def test_peer_setup_and_download(shared_hub, tmp_path):
    token = shared_hub.token("demo", "peer", "paula")
    setup = peer(shared_hub, "setup", "demo", "peer", "--token", token, cwd=tmp_path)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    workspace = tmp_path / "demo-peer"
    release = shared_hub.client().get_data_release("demo")
    for data_file in release.data_files.values():
        assert (workspace / "data" / data_file.name).stat().st_size == data_file.size
    download = peer(shared_hub, "download", "--size-variant", "small", cwd=workspace)
    assert download.returncode == 0, download.stdout + download.stderr
    small = shared_hub.client().get_data_release("demo", size_variant="SMALL")
    assert (workspace / "data" / "X_train.parquet").stat().st_size == small.data_files["X_train"].size


def test_peer_refused_token(shared_hub, tmp_path):
    result = peer(shared_hub, "setup", "demo", "peer2", "--token", "clone-wrong", cwd=tmp_path)
    assert "expired or is invalid" in result.stdout + result.stderr


def test_peer_push_then_setup_clones_it(shared_hub, tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    assert peer(shared_hub, "setup", "demo", "pusher", "--token", shared_hub.token("demo", "pusher", "paula"), cwd=first).returncode == 0
    workspace = first / "demo-pusher"
    (workspace / "main.py").write_text("def train():\n    pass\n\n\ndef infer():\n    pass\n")
    (workspace / "requirements.txt").write_text("numpy\npandas\n")
    (workspace / "resources" / "model.bin").write_bytes(b"weights")
    pushed = peer(shared_hub, "push", "-m", "from the peer", cwd=workspace)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert shared_hub.stats()["pendingUploads"] == 0
    second = tmp_path / "second"
    second.mkdir()
    setup = peer(shared_hub, "setup", "demo", "pusher", "--token", shared_hub.token("demo", "pusher", "paula"), cwd=second)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    clone = second / "demo-pusher"
    assert (clone / "main.py").read_text() == (workspace / "main.py").read_text()
    assert (clone / "resources" / "model.bin").read_bytes() == b"weights"
