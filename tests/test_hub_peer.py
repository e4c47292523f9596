"""Protocol fidelity: the public crunch-cli 13 (an oracle installed beside, never imported)
sets up a workspace, downloads the data, pushes (twice), lists competitions and reads a
quickstarter against the local hub in its default (current) shapes."""

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


def test_peer_pushes_twice(shared_hub, tmp_path):
    """crunch-cli 13.0.1 keeps the uploads of a push in a cache and, on the next push, compares
    their times with a naive UTC now: the hub's times must come without a zone."""
    assert peer(shared_hub, "setup", "demo", "twice", "--token", shared_hub.token("demo", "twice", "paula"), cwd=tmp_path).returncode == 0
    workspace = tmp_path / "demo-twice"
    (workspace / "main.py").write_text("def train():\n    pass\n\n\ndef infer():\n    pass\n")
    (workspace / "requirements.txt").write_text("numpy\npandas\n")
    (workspace / "resources" / "model.bin").write_bytes(b"weights")
    first = peer(shared_hub, "push", "-m", "first", cwd=workspace)
    assert first.returncode == 0, first.stdout + first.stderr
    (workspace / "main.py").write_text("def train():\n    pass\n\n\ndef infer():\n    return None\n")
    second = peer(shared_hub, "push", "-m", "second", cwd=workspace)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reused cached" in second.stdout + second.stderr  # the unchanged files came from the cache
    token = shared_hub.push_token("demo", "twice", "paula")
    listed = shared_hub.call("GET", f"/v4/competitions/demo/projects/paula/twice/submissions?pushToken={token}")
    assert [s["message"] for s in listed] == ["first", "second"]
    assert shared_hub.stats()["pendingUploads"] == 0


def test_peer_lists_competitions_and_reads_a_quickstarter(shared_hub, tmp_path):
    """crunch-cli 13.0.1 pages through ``GET /v2/competitions`` and reads a quickstarter's files
    from ``GET .../quickstarters/{name}`` (its listing has none)."""
    listed = peer(shared_hub, "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert [line for line in listed.stdout.splitlines() if line.startswith("- ")] == [
        "- demo (timeseries)", "- demo-tabular (regular)", "- demo-unstructured (unstructured)",
    ]
    filtered = peer(shared_hub, "list", "--format", "unstructured", cwd=tmp_path)
    assert [line for line in filtered.stdout.splitlines() if line.startswith("- ")] == ["- demo-unstructured (unstructured)"]
    assert peer(shared_hub, "setup", "demo", "reader", "--token", shared_hub.token("demo", "reader", "paula"), cwd=tmp_path).returncode == 0
    workspace = tmp_path / "demo-reader"
    shown = peer(shared_hub, "quickstarter", "show", "default", cwd=workspace)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "- main.py" in shown.stdout and "- requirements.txt" in shown.stdout
