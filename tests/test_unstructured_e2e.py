"""UNSTRUCTURED competitions end to end against a local hub: ``crunch setup`` caches the
competition's code, ``crunch test`` runs its runner.py on the participant's main.py and scores
the prediction with its scoring.py, ``crunch push`` runs its submission.py first; and the public
crunch-cli 13.0.1's ``crunch test`` writes the same prediction files as ours."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from conftest import Hub, Result

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "fixtures" / "competitions"
QUICKSTARTER = Path(__file__).resolve().parent.parent / "crunch" / "hub" / "quickstarter" / "demo-unstructured-main.py"
PATTERNS = ["generator-inference", "multi-split", "per-dataset"]
METRIC_OF = {"generator-inference": "roc-auc", "multi-split": "spearman", "per-dataset": "balanced-accuracy"}


def host(hub: Hub, name: str, folder: Path) -> Dict[str, Any]:
    """Generate fixture ``name``'s data and host it on ``hub``."""
    source = FIXTURES / name
    spec = importlib.util.spec_from_file_location(f"unstructured_e2e_data_{name.replace('-', '_')}", source / "data.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    public, private = folder / f"{name}-public", folder / f"{name}-private"
    module.generate(public, private)
    settings = json.loads((source / "competition.json").read_text())
    metrics = [value for metric in settings["metrics"] for value in ("--metric", metric)]
    added = hub.run("hub", "add-competition", name, public, "--root", hub.root, "--unstructured", "--code", source, "--private-data", private, *metrics)
    assert added.returncode == 0, added.output
    return settings


def setup(hub: Hub, competition: str, project: str, folder: Path, main: Path) -> Path:
    done = hub.run("setup", competition, project, "ws", "--token", hub.token(competition, project), cwd=folder)
    assert done.returncode == 0, done.output
    workspace = folder / "ws"
    shutil.copyfile(main, workspace / "main.py")
    return workspace


@pytest.fixture(scope="module")
def hosted(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    folder = tmp_path_factory.mktemp("unstructured-data")
    return {name: host(shared_hub, name, folder) for name in PATTERNS}


def test_setup_caches_the_competition_code_and_metrics(shared_hub: Hub, tmp_path: Path) -> None:
    workspace = setup(shared_hub, "demo-unstructured", "cache", tmp_path, QUICKSTARTER)
    code = workspace / ".crunchdao" / "code"
    served = shared_hub.url + "competitions/demo-unstructured/scoring/"
    records = json.loads((code / "sources.json").read_text())
    assert records == {name: {"found": True, "location": served + f"{name}.py"} for name in ("runner", "scoring", "submission")}
    repository = Path(__file__).resolve().parent.parent / "crunch" / "hub" / "competitions" / "demo-unstructured" / "scoring"
    for name in ("runner", "scoring", "submission"):
        assert (code / f"{name}.py").read_text() == (repository / f"{name}.py").read_text()
    metrics = json.loads((workspace / ".crunchdao" / "metrics.json").read_text())
    assert metrics and all("target" in metric and "name" in metric for metric in metrics)


@pytest.mark.parametrize("name", PATTERNS)
def test_crunch_test_runs_the_competition_runner_and_scores(shared_hub: Hub, hosted: Dict[str, Any], tmp_path: Path, name: str) -> None:
    import pandas as pd

    workspace = setup(shared_hub, name, "ours", tmp_path, FIXTURES / name / "main.py")
    tested = shared_hub.run("test", cwd=workspace)
    assert tested.returncode == 0, tested.output
    assert "executing - command=infer" in tested.stdout
    assert "the competition's scoring.py check: passed" in tested.stdout, tested.output
    score_lines = [line for line in tested.stdout.splitlines() if line.startswith("local score: ")]
    assert len(score_lines) == 1 and f" {METRIC_OF[name]} = " in score_lines[0], tested.output
    value = float(score_lines[0].rsplit(" = ", 1)[1])
    assert -1.0 <= value <= 1.0
    for file_name in hosted[name]["prediction_files"]:
        assert len(pd.read_parquet(workspace / "prediction" / file_name)) > 0
    if name == "generator-inference":
        assert "determinism check: passed" in tested.stdout


def test_a_runner_error_in_the_participant_code_names_it(shared_hub: Hub, hosted: Dict[str, Any], tmp_path: Path) -> None:
    workspace = setup(shared_hub, "generator-inference", "broken", tmp_path, FIXTURES / "generator-inference" / "main.py")
    text = (workspace / "main.py").read_text()
    (workspace / "main.py").write_text(text + "\n\ndef infer(X_test):\n    yield\n    for dataset in X_test:\n        yield 'not a number'\n")
    tested = shared_hub.run("test", cwd=workspace)
    assert tested.returncode == 1
    errors = [line for line in tested.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "runner.py" in errors[0], tested.output
    assert "Traceback (most recent call last)" not in tested.output


def test_options_reach_the_runner_context(shared_hub: Hub, hosted: Dict[str, Any], tmp_path: Path) -> None:
    workspace = setup(shared_hub, "multi-split", "options", tmp_path, FIXTURES / "multi-split" / "main.py")
    every = shared_hub.run("test", "--no-determinism-check", cwd=workspace)
    assert every.returncode == 0, every.output
    sparse = shared_hub.run("test", "--train-frequency", "0", "--no-force-first-train", cwd=workspace)
    assert sparse.returncode == 0, sparse.output

    def trains(result: Result) -> int:
        return result.stdout.count("executing - command=train")

    assert trains(every) >= 2 and trains(sparse) < trains(every), (trains(every), trains(sparse))


def test_offline_after_setup(hub: Hub, tmp_path: Path) -> None:
    workspace = setup(hub, "demo-unstructured", "offline", tmp_path, QUICKSTARTER)
    hub.stop()
    tested = hub.run("test", "--no-determinism-check", cwd=workspace)
    assert tested.returncode == 0, tested.output
    assert "local score: " in tested.stdout


def test_push_is_refused_by_the_competition_submission_check(shared_hub: Hub, tmp_path: Path) -> None:
    workspace = setup(shared_hub, "demo-unstructured", "refused", tmp_path, QUICKSTARTER)
    with open(workspace / "resources" / "huge.bin", "wb") as handle:  # sparse: 101 MB on paper
        handle.truncate(101 * 1000 * 1000)
    before = shared_hub.stats()
    refused = shared_hub.run("push", "-m", "too big", cwd=workspace)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith("error: the competition's submission.py refused the submission: The model files are too big")
    after = shared_hub.stats()
    assert after.get("pendingUploads") == before.get("pendingUploads")
    assert sum(after["bytesReceived"].values()) == sum(before["bytesReceived"].values())
    bypassed = shared_hub.run("push", "-m", "checked elsewhere", "--skip-submission-check", "--dry", cwd=workspace)
    assert bypassed.returncode == 0, bypassed.output
    assert "submission.py check" not in bypassed.output


def test_notebook_load_data_and_test_use_the_runner(shared_hub: Hub, hosted: Dict[str, Any], tmp_path: Path) -> None:
    workspace = setup(shared_hub, "generator-inference", "notebook", tmp_path, FIXTURES / "generator-inference" / "main.py")
    script = (
        "import crunch, runpy\n"
        "tools = crunch.load_notebook()\n"
        "x_train, y_train, x_test = tools.load_data()\n"
        "print('loaded', type(x_train).__name__, len(y_train) > 0, len(x_test) > 0)\n"
        "globals().update({k: v for k, v in runpy.run_path('main.py').items() if k in ('train', 'infer')})\n"
        "files = tools.test(no_determinism_check=True)\n"
        "print('files', [f.name for f in files])\n"
    )
    env = shared_hub.env(API_BASE_URL=shared_hub.url)
    done = subprocess.run([sys.executable, "-c", script], cwd=workspace, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded DataFrame True True" in done.stdout
    assert "files ['prediction.parquet']" in done.stdout
    assert "local score: " in done.stdout


# -- the oracle: crunch-cli 13.0.1's crunch test writes the same files ----------------------------------


def peer_test(hub: Hub, competition: str, main: Path, folder: Path) -> Tuple[Path, subprocess.CompletedProcess]:
    from peers import crunch_cli_13

    environment = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "PYTHONHOME", "CRUNCH_COMPETITIONS_SOURCE")}
    executable = str(crunch_cli_13())

    def peer(*args: Any, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run([executable, "--api-base-url", hub.url, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)

    setup_done = peer("setup", competition, "peer", "--token", hub.token(competition, "peer", "paula"), cwd=folder, env=environment)
    assert setup_done.returncode == 0, setup_done.stdout + setup_done.stderr
    workspace = folder / f"{competition}-peer"
    shutil.copyfile(main, workspace / "main.py")
    source = {**environment, "CRUNCH_COMPETITIONS_SOURCE": "cache+" + hub.url.rstrip("/")}
    return workspace, peer("test", cwd=workspace, env=source)


@pytest.mark.parametrize("name", ["demo-unstructured", *PATTERNS])
def test_same_prediction_files_as_crunch_cli_13(shared_hub: Hub, hosted: Dict[str, Any], tmp_path: Path, name: str) -> None:
    import pandas as pd

    main = QUICKSTARTER if name == "demo-unstructured" else FIXTURES / name / "main.py"
    (tmp_path / "peer").mkdir()
    (tmp_path / "ours").mkdir()
    theirs, peer_run = peer_test(shared_hub, name, main, tmp_path / "peer")
    assert peer_run.returncode == 0, peer_run.stdout + peer_run.stderr
    ours = setup(shared_hub, name, "ours-vs-peer", tmp_path / "ours", main)
    tested = shared_hub.run("test", cwd=ours)
    assert tested.returncode == 0, tested.output
    their_files = sorted(p.relative_to(theirs / "prediction") for p in (theirs / "prediction").rglob("*") if p.is_file())
    our_files = sorted(p.relative_to(ours / "prediction") for p in (ours / "prediction").rglob("*") if p.is_file())
    assert our_files == their_files and our_files
    for relative in our_files:
        pd.testing.assert_frame_equal(pd.read_parquet(ours / "prediction" / relative), pd.read_parquet(theirs / "prediction" / relative))


def test_push_goes_on_with_a_warning_when_the_submission_check_cannot_be_fetched(shared_hub: Hub, tmp_path: Path) -> None:
    workspace = setup(shared_hub, "demo-unstructured", "unreachable", tmp_path, QUICKSTARTER)
    shutil.rmtree(workspace / ".crunchdao" / "code")
    env = shared_hub.env(CRUNCH_COMPETITIONS_SOURCE="cache+http://127.0.0.1:9")
    dry = shared_hub.run("push", "-m", "x", "--dry", cwd=workspace, env=env)
    assert dry.returncode == 0, dry.output
    assert "the competition's submission check was not run" in dry.stderr
    assert not (workspace / ".crunchdao" / "code").exists()


def test_the_competitions_option_and_variable_choose_the_source(shared_hub: Hub, tmp_path: Path) -> None:
    workspace = setup(shared_hub, "demo-unstructured", "source", tmp_path, QUICKSTARTER)
    served = Path(__file__).resolve().parent.parent / "crunch" / "hub" / "competitions" / "demo-unstructured" / "scoring"
    scoring = tmp_path / "clone" / "competitions" / "demo-unstructured" / "scoring"
    scoring.mkdir(parents=True)
    for name in ("scoring", "submission"):
        shutil.copyfile(served / f"{name}.py", scoring / f"{name}.py")
    wrapper = (
        "\n\n_run = run\n\n\n"
        "def run(context, data_directory_path, model_directory_path, prediction_directory_path, tracer):\n"
        "    context.log('runner from the local clone')\n"
        "    values = dict(data_directory_path=data_directory_path, model_directory_path=model_directory_path,\n"
        "                  prediction_directory_path=prediction_directory_path, tracer=tracer)\n"
        "    return smart_call(_run, {'context': context, **values})\n"
    )
    (scoring / "runner.py").write_text((served / "runner.py").read_text() + wrapper)
    by_option = shared_hub.run("--competitions", f"local://{tmp_path / 'clone'}", "test", "--no-determinism-check", cwd=workspace)
    assert by_option.returncode == 0, by_option.output
    assert "runner from the local clone" in by_option.stdout
    records = json.loads((workspace / ".crunchdao" / "code" / "sources.json").read_text())
    assert records["runner"]["location"] == str(scoring / "runner.py")

    missing = shared_hub.run("test", cwd=workspace, env=shared_hub.env(CRUNCH_COMPETITIONS_SOURCE=f"local://{tmp_path / 'empty'}"))
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("error: no runner.py for the competition demo-unstructured in the competitions source (local://")
