"""Oracle: the public crunch-cli 13.0.1 sets up a workspace against our hub for each UNSTRUCTURED
competition (the seeded demo-unstructured and the fixture competitions), loads the competition's
code from the hub (``CRUNCH_COMPETITIONS_SOURCE=cache+http://127.0.0.1:PORT``), and its
``crunch test`` runs the competition's runner on the participant's code, writing the predictions."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from peers import crunch_cli_13

pytestmark = [pytest.mark.e2e]

FIXTURES = Path(__file__).parent / "fixtures" / "competitions"
QUICKSTARTER = Path(__file__).resolve().parent.parent / "crunch" / "hub" / "quickstarter" / "demo-unstructured-main.py"


def peer(hub, *args, cwd, env=None):
    environment = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "PYTHONHOME", "CRUNCH_COMPETITIONS_SOURCE")}
    environment.update(env or {})
    return subprocess.run(
        [str(crunch_cli_13()), "--api-base-url", hub.url, *map(str, args)],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=600,
    )


def host_fixture(hub, crunch, name: str, tmp_path: Path) -> dict:
    """Generate the fixture's data and host it on ``hub`` as the competition ``name``."""
    folder = FIXTURES / name
    spec = importlib.util.spec_from_file_location(f"fixture_data_{name.replace('-', '_')}", folder / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    public, private = tmp_path / f"{name}-public", tmp_path / f"{name}-private"
    module.generate(public, private)
    settings = json.loads((folder / "competition.json").read_text())
    metrics = [value for metric in settings["metrics"] for value in ("--metric", metric)]
    result = crunch("hub", "add-competition", name, public, "--root", hub.root, "--unstructured", "--code", folder, "--private-data", private, *metrics)
    assert result.returncode == 0, result.stderr
    return settings


def setup_and_test(hub, competition: str, main: Path, tmp_path: Path):
    token = hub.token(competition, "peer", "paula")
    setup = peer(hub, "setup", competition, "peer", "--token", token, cwd=tmp_path)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    workspace = tmp_path / f"{competition}-peer"
    shutil.copyfile(main, workspace / "main.py")
    source = "cache+" + hub.url.rstrip("/")
    tested = peer(hub, "test", cwd=workspace, env={"CRUNCH_COMPETITIONS_SOURCE": source})
    return workspace, tested


def test_peer_runs_demo_unstructured(shared_hub, tmp_path):
    import pandas as pd

    workspace, tested = setup_and_test(shared_hub, "demo-unstructured", QUICKSTARTER, tmp_path)
    output = tested.stdout + tested.stderr
    assert tested.returncode == 0, output
    assert "executing - command=train" in output and "determinism check: passed" in output
    prediction = pd.read_parquet(workspace / "prediction" / "prediction.parquet")
    truth = pd.read_parquet(workspace / "data" / "y_test.reduced.parquet")
    assert sorted(prediction.index) == sorted(truth.index)
    assert prediction["prediction"].between(0, 1).all()
    assert (workspace / "resources" / "model.json").is_file()


@pytest.mark.parametrize("name", ["generator-inference", "multi-split", "per-dataset"])
def test_peer_runs_fixture_competition(shared_hub, crunch, tmp_path, name):
    import pandas as pd

    settings = host_fixture(shared_hub, crunch, name, tmp_path)
    workspace, tested = setup_and_test(shared_hub, name, FIXTURES / name / "main.py", tmp_path)
    output = tested.stdout + tested.stderr
    assert tested.returncode == 0, output
    assert "executing - command=infer" in output
    for file_name in settings["prediction_files"]:
        frame = pd.read_parquet(workspace / "prediction" / file_name)
        assert len(frame) > 0, file_name
    if name == "generator-inference":
        assert "determinism check: passed" in output

