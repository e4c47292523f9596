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
from typing import Optional

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


def setup_and_test(hub, competition: str, main: Optional[Path], tmp_path: Path):
    """Set up with 13.0.1, put ``main`` in place (None: 13.0.1 applies the hub's quickstarter), run its test."""
    token = hub.token(competition, "peer", "paula")
    setup = peer(hub, "setup", competition, "peer", "--token", token, cwd=tmp_path)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    workspace = tmp_path / f"{competition}-peer"
    if main is None:
        applied = peer(hub, "quickstarter", "apply", "default", cwd=workspace)
        assert applied.returncode == 0, applied.stdout + applied.stderr
    else:
        shutil.copyfile(main, workspace / "main.py")
    source = "cache+" + hub.url.rstrip("/")
    tested = peer(hub, "test", cwd=workspace, env={"CRUNCH_COMPETITIONS_SOURCE": source})
    return workspace, tested


def test_peer_runs_demo_unstructured(shared_hub, tmp_path):
    import pandas as pd

    workspace, tested = setup_and_test(shared_hub, "demo-unstructured", None, tmp_path)
    assert (workspace / "main.py").read_text() == QUICKSTARTER.read_text()
    output = tested.stdout + tested.stderr
    assert tested.returncode == 0, output
    assert "executing - command=train" in output and "determinism check: passed" in output
    prediction = pd.read_parquet(workspace / "prediction" / "prediction.parquet")
    truth = pd.read_parquet(workspace / "data" / "y_test.reduced.parquet")
    assert sorted(prediction.index) == sorted(truth.index)
    assert prediction["prediction"].between(0, 1).all()
    assert (workspace / "resources" / "model.json").is_file()

    # 13.0.1's organizer tools score the prediction with the hub's scoring.py, targets and metrics
    source = {"CRUNCH_COMPETITIONS_SOURCE": "cache+" + shared_hub.url.rstrip("/")}
    truth_folder = tmp_path / "truth"
    truth_folder.mkdir()
    shutil.copyfile(workspace / "data" / "y_test.reduced.parquet", truth_folder / "y_test.parquet")
    folders = ["--data-directory", truth_folder, "--prediction-directory", workspace / "prediction"]
    checked = peer(shared_hub, "organizer", "demo-unstructured", "test", "scoring", "check", *folders, cwd=workspace, env=source)
    assert "Prediction is valid!" in checked.stdout, checked.stdout + checked.stderr
    scored = peer(shared_hub, "organizer", "demo-unstructured", "test", "scoring", "score", *folders, cwd=workspace, env=source)
    assert "Prediction is scorable!" in scored.stdout, scored.stdout + scored.stderr
    row = next(line.split() for line in scored.stdout.splitlines() if line.strip().startswith("structural_breakpoint"))
    assert row[1] == "roc-auc" and 0.5 < float(row[2]) <= 1.0
    submission = ["organizer", "demo-unstructured", "test", "submission", "check", "--root-directory", workspace]
    valid = peer(shared_hub, *submission, cwd=workspace, env=source)
    assert "Submission is valid!" in valid.stdout, valid.stdout + valid.stderr
    (workspace / "main.py").rename(workspace / "solution.py")
    refused = peer(shared_hub, *submission, cwd=workspace, env=source)
    assert "Submission is not valid: Missing `main.py` file" in refused.stdout, refused.stdout + refused.stderr


PEER_TARGETS = """
import json, sys
from crunch.api import Client
competition = Client(sys.argv[1], None).competitions.get(sys.argv[2])
print(json.dumps({
    "primary": competition.targets.primary.name,
    "targets": [[t.id, t.name, [[m.id, m.name, m.weight, m.score, m.multiplier] for m in t.metrics.list()]] for t in competition.targets.list()],
    "metrics": [[m.id, m.name, m.target.id] for m in competition.metrics.list()],
}))
"""


def test_peer_api_client_reads_our_targets_and_metrics(shared_hub, crunch, tmp_path):
    """13.0.1's own API client decodes the hub's targets and metrics into what ours returns."""
    host_fixture(shared_hub, crunch, "per-dataset", tmp_path)
    hosted = crunch(
        "hub", "add-competition", "two-targets", tmp_path / "per-dataset-public", "--root", shared_hub.root, "--unstructured",
        "--code", FIXTURES / "per-dataset", "--metric", "a:mse", "--metric", "b:accuracy", "--metric", "a:spearman",
    )
    assert hosted.returncode == 0, hosted.stderr
    client = shared_hub.client()
    for name in ("demo-unstructured", "two-targets"):
        done = subprocess.run(
            [str(crunch_cli_13().parent / "python"), "-c", PEER_TARGETS, shared_hub.url, name],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        theirs = json.loads(done.stdout)
        ours = client.get_targets(name)
        assert theirs["primary"] == next(t.name for t in ours if t.primary)
        assert theirs["targets"] == [[t.id, t.name, [[m.id, m.name, m.weight, m.score, m.multiplier] for m in t.metrics]] for t in ours]
        assert theirs["metrics"] == [[m.id, m.name, m.target.id] for m in client.get_metrics(name)]
    assert [t.name for t in client.get_targets("two-targets")] == ["a", "b"]


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

