"""``crunch organizer COMPETITION test ...`` beside crunch-cli 13.0.1's: both run the same
competition files (tests/fixtures/organizer/, read through ``CRUNCH_COMPETITIONS_SOURCE=local://``)
on the same inputs against a local hub hosting the competition, with the same outcome. Then the
real datacrunch-2 ``scoring.py`` from a copy of crunchdao/competitions (``CRUNCH_COMPETITIONS_REPO``),
and the bad inputs: one ``error:`` line, exit 1."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
from conftest import Hub
from peers import competitions_repository, crunch_cli_13

pytestmark = [pytest.mark.e2e]

FIXTURE = Path(__file__).parent / "fixtures" / "organizer"
NAME = "toy-organizer"
GOOD = FIXTURE / "predictions" / "good"


@pytest.fixture(scope="module")
def hosted(shared_hub: Hub) -> Hub:
    done = shared_hub.run(
        "hub", "add-competition", NAME, FIXTURE / "data", "--root", shared_hub.root, "--unstructured",
        "--code", FIXTURE / "competitions" / NAME, "--metric", "label:mse", "--metric", "label:max-error",
    )
    assert done.returncode == 0, done.output
    assert f"crunch organizer {NAME} test scoring check" in done.stdout
    return shared_hub


def ours(hub: Hub, *args: Any, source: Path = FIXTURE):
    return hub.run("organizer", *args, env=hub.env(CRUNCH_COMPETITIONS_SOURCE=f"local://{source}"), timeout=300)


def theirs(hub: Hub, *args: Any, source: Path = FIXTURE, cwd: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "PYTHONPATH", "CRUNCH_COMPETITIONS_SOURCE")}
    env["CRUNCH_COMPETITIONS_SOURCE"] = f"local://{source}"
    return subprocess.run(
        [str(crunch_cli_13()), "--api-base-url", hub.url, "organizer", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def metric_ids(hub: Hub, competition: str = NAME) -> Dict[str, int]:
    return {metric.name: metric.id for metric in hub.client().get_metrics(competition)}


def table_rows(text: str, first: str, skip: int = 2) -> List[List[str]]:
    """The rows of the table whose header line starts with ``first`` (either client's layout;
    ``skip``: the lines of its header and rule)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower().startswith(first))
    rows = []
    for line in lines[start + skip:]:
        if not line.strip():
            break
        rows.append(line.split())
    return rows


def one_error(result) -> str:
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    return errors[0]


# -- scoring.py ------------------------------------------------------------------------------------


def test_scoring_check_same_verdicts(hosted: Hub, tmp_path: Path) -> None:
    folders = ["--data-directory", FIXTURE / "data"]
    good = ["scoring", "check", *folders, "--prediction-directory", GOOD]
    mine, peer = ours(hosted, NAME, "test", *good), theirs(hosted, NAME, "test", *good, cwd=tmp_path)
    assert mine.returncode == 0 and "the prediction is valid (SUBMISSION, chain height 1)" in mine.stdout, mine.output
    assert "Prediction is valid!" in peer.stdout, peer.stdout + peer.stderr

    missing = ["scoring", "check", *folders, "--prediction-directory", FIXTURE / "predictions" / "missing-column"]
    message = "Columns do not match: missing [prediction] extras [guess]"
    mine, peer = ours(hosted, NAME, "test", *missing), theirs(hosted, NAME, "test", *missing, cwd=tmp_path)
    assert one_error(mine) == f"error: the prediction is not valid: {message}"
    assert f"Prediction is not valid: {message}" in peer.stdout, peer.stdout + peer.stderr

    # out of sample, the scoring reads truth.resolved.csv, which this data folder does not hold
    wrong_phase = [*good, "--phase-type", "OUT_OF_SAMPLE"]
    mine, peer = ours(hosted, NAME, "test", *wrong_phase), theirs(hosted, NAME, "test", *wrong_phase, cwd=tmp_path)
    error = one_error(mine)
    assert "scoring.py check() failed: FileNotFoundError" in error and "truth.resolved.csv" in error, error
    assert "Prediction check function failed:" in peer.stdout and "truth.resolved.csv" in peer.stdout, peer.stdout + peer.stderr


def test_scoring_score_same_scores(hosted: Hub, tmp_path: Path) -> None:
    args = ["scoring", "score", "--data-directory", FIXTURE / "data", "--prediction-directory", GOOD]
    mine, peer = ours(hosted, NAME, "test", *args), theirs(hosted, NAME, "test", *args, cwd=tmp_path)
    assert mine.returncode == 0, mine.output
    assert "Prediction is scorable!" in peer.stdout, peer.stdout + peer.stderr
    mine_rows, peer_rows = table_rows(mine.stdout, "target"), table_rows(peer.stdout, "target")
    assert mine_rows == peer_rows
    scores = {row[1]: float(row[2]) for row in mine_rows}
    assert scores == {"mse": pytest.approx((0.25 + 0 + 1) / 3), "max-error": 1.0}
    assert ["label", "mse", str((0.25 + 0 + 1) / 3), "a=0.25", "b=0.0", "c=1.0"] in mine_rows


# -- submission.py ---------------------------------------------------------------------------------


def test_submission_check_same_verdicts(hosted: Hub, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    shutil.copytree(FIXTURE / "workspace", workspace)
    args = ["submission", "check", "--root-directory", workspace]
    mine, peer = ours(hosted, NAME, "test", *args), theirs(hosted, NAME, "test", *args, cwd=tmp_path)
    assert mine.returncode == 0 and "the submission is valid (CODE: 2 code file(s), 1 model file(s))" in mine.stdout, mine.output
    assert "Submission is valid!" in peer.stdout, peer.stdout + peer.stderr

    (workspace / "requirements.txt").write_text("pandas\ntorch==2.1\n")  # read through python_requirements
    mine, peer = ours(hosted, NAME, "test", *args), theirs(hosted, NAME, "test", *args, cwd=tmp_path)
    assert one_error(mine) == "error: the submission is not valid: torch is not allowed"
    assert "Submission is not valid: torch is not allowed" in peer.stdout, peer.stdout + peer.stderr

    (workspace / "main.py").rename(workspace / "solution.py")
    mine, peer = ours(hosted, NAME, "test", *args), theirs(hosted, NAME, "test", *args, cwd=tmp_path)
    assert one_error(mine) == "error: the submission is not valid: Missing `main.py` file"
    assert "Submission is not valid: Missing `main.py` file" in peer.stdout, peer.stdout + peer.stderr


# -- leaderboard.py and reward.py ------------------------------------------------------------------


def scores_file(hosted: Hub, tmp_path: Path) -> Path:
    mse = metric_ids(hosted)["mse"]
    projects = [
        {"id": 11, "group": "user-alice", "rewardable": True, "metrics": [{"id": mse, "score": 0.5}]},
        {"id": 12, "group": "user-alice", "rewardable": True, "metrics": [{"id": mse, "score": 0.25}]},
        {"id": 13, "group": "user-bob", "rewardable": True, "metrics": [{"id": mse, "score": 0.75}]},
        {"id": 14, "group": "user-carol", "rewardable": False, "metrics": [{"id": mse, "score": 0.1}]},
    ]
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(projects))
    return path


@pytest.fixture(scope="module")
def leaderboard(hosted: Hub) -> Any:
    """The hub's leaderboard of four projects, through a proxy adding the flags the platform's
    positions carry (13.0.1 reads them): carol's project is marked a duplicate."""
    from http_proxy import CraftingProxy

    for project, user, score in (("p1", "alice", 0.5), ("p2", "alice", 0.25), ("p3", "bob", 0.75), ("p4", "carol", 0.1)):
        hosted.token(NAME, project, user)
        hosted.score(NAME, project, user, score)
    proxy = CraftingProxy(hosted.url)

    def flagged(method: str, path: str, forward: Any) -> Any:
        status, headers, body = forward()
        answer = json.loads(body)
        for target in answer.get("targets") or []:
            for position in target.get("positions") or []:
                login = (position.get("user") or {}).get("login")
                position.update({"duplicate": login == "carol", "deterministic": True, "outOfRange": False, "disqualification": None})
        body = json.dumps(answer).encode()
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding")}
        return status, {**headers, "Content-Length": str(len(body))}, body

    proxy.rules[f"/v2/competitions/{NAME}/leaderboards/"] = flagged
    yield proxy
    proxy.close()


def project_ids(hub: Hub) -> Dict[str, int]:
    board = hub.call("GET", f"/v2/competitions/{NAME}/leaderboards/@default")
    return {position["project"]["name"]: position["project"]["id"] for position in board["targets"][0]["positions"]}


@pytest.mark.parametrize("rank_pass", ["FINAL", "PRE_DUPLICATE"])
def test_leaderboard_rank_same_ranks(hosted: Hub, leaderboard: Any, tmp_path: Path, rank_pass: str) -> None:
    args = ["leaderboard", "rank", "--scores-from-api", "--rank-pass", rank_pass]
    mine = hosted.run("--api-base-url", leaderboard.url, "organizer", NAME, "test", *args, env=hosted.env(CRUNCH_COMPETITIONS_SOURCE=f"local://{FIXTURE}"))
    peer = theirs(leaderboard, NAME, "test", *args, cwd=tmp_path)
    assert mine.returncode == 0, mine.output
    assert f"Leaderboard is ranked (pass: {rank_pass})" in peer.stdout, peer.stdout + peer.stderr
    mine_rows = [[cell if cell != "-" else "None" for cell in row] for row in table_rows(mine.stdout, "rank")]
    peer_rows = [[row[0], row[1], str(int(float(row[2]))), *row[3:]] for row in table_rows(peer.stdout, "rank", skip=3)]  # its ids are floats
    assert mine_rows == peer_rows, peer.stdout
    ids = project_ids(hosted)
    expected = [["1", "None", ids["p4"], "0.1"], ["2", "1", ids["p2"], "0.25"], ["3", "None", ids["p1"], "0.5"], ["4", "2", ids["p3"], "0.75"]]
    if rank_pass == "PRE_DUPLICATE":
        expected = [[row[0], "None", *row[2:]] for row in expected]
    assert mine_rows == [[str(cell) for cell in row] for row in expected]


def test_leaderboard_rank_from_a_scores_file(hosted: Hub, tmp_path: Path) -> None:
    """(13.0.1's --scores-file fails before reading the file: it is not compared.)"""
    mine = ours(hosted, NAME, "test", "leaderboard", "rank", "--scores-file", scores_file(hosted, tmp_path), "--shuffle")
    assert mine.returncode == 0, mine.output
    rows = [[cell if cell != "-" else "None" for cell in row] for row in table_rows(mine.stdout, "rank")]
    assert rows == [["1", "None", "14", "0.1"], ["2", "1", "12", "0.25"], ["3", "None", "11", "0.5"], ["4", "2", "13", "0.75"]]


def test_leaderboard_compare_same_similarities(hosted: Hub, tmp_path: Path) -> None:
    args = [
        "leaderboard", "compare", "--data-directory", FIXTURE / "data",
        "--prediction-directory", "1", GOOD, "--prediction-directory", "2", FIXTURE / "predictions" / "other",
    ]
    mine, peer = ours(hosted, NAME, "test", *args), theirs(hosted, NAME, "test", *args, cwd=tmp_path)
    assert mine.returncode == 0, mine.output
    assert "Similarities have been compared" in peer.stdout, peer.stdout + peer.stderr
    assert table_rows(mine.stdout, "target") == table_rows(peer.stdout, "target name") == [["label", "1", "2", str(1 / (1 + 2.0 / 3))]]


def test_reward_compute_bounties_same_amounts(hosted: Hub, leaderboard: Any, tmp_path: Path) -> None:
    args = ["reward", "compute-bounties", "--scores-from-api", "--granted-amount", "300"]
    mine = hosted.run("--api-base-url", leaderboard.url, "organizer", NAME, "test", *args, env=hosted.env(CRUNCH_COMPETITIONS_SOURCE=f"local://{FIXTURE}"))
    peer = theirs(leaderboard, NAME, "test", *args, cwd=tmp_path)
    assert mine.returncode == 0, mine.output
    assert "distributed 300.0000 out of 300.0000 granted" in peer.stdout, peer.stdout + peer.stderr
    assert "the bounties are computed: 300.0000 distributed of 300.0000 granted" in mine.stdout
    peer_rows = [[row[0], str(int(float(row[1]))), row[2]] for row in table_rows(peer.stdout, "index")]  # its ids are floats
    assert table_rows(mine.stdout, "index") == peer_rows
    ids = project_ids(hosted)
    weights = {ids["p1"]: 1 / 1.5, ids["p2"]: 1 / 1.25, ids["p3"]: 1 / 1.75, ids["p4"]: 0.0}  # p4: a duplicate
    amounts = {int(row[1]): float(row[2]) for row in table_rows(mine.stdout, "index")}
    assert amounts == {key: pytest.approx(300 * w / sum(weights.values()), abs=1e-4) for key, w in weights.items()}
    file_args = ["reward", "compute-bounties", "--scores-file", scores_file(hosted, tmp_path), "--granted-amount", "10"]
    from_file = ours(hosted, NAME, "test", *file_args)
    assert from_file.returncode == 0 and "10.0000 distributed of 10.0000 granted" in from_file.stdout, from_file.output


# -- bad input ---------------------------------------------------------------------------------------


def test_bad_inputs_say_one_error(hosted: Hub, tmp_path: Path) -> None:
    check = ["scoring", "check", "--data-directory", FIXTURE / "data", "--prediction-directory", GOOD]
    assert "competition not found" in one_error(ours(hosted, "no-such-competition", "test", *check))

    # the demo competition's source (the hub) has no reward.py
    error = one_error(hosted.run("organizer", "demo-unstructured", "test", "reward", "compute-bounties", "--scores-file", scores_file(hosted, tmp_path)))
    assert "reward.py" in error and "demo-unstructured" in error, error

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"id": 1, "group": "g", "metrics": []}]))
    error = one_error(ours(hosted, NAME, "test", "leaderboard", "rank", "--scores-file", broken))
    assert "[0] has no rewardable" in error, error
    broken.write_text(json.dumps({"id": 1}))
    assert "not a list of projects" in one_error(ours(hosted, NAME, "test", "reward", "compute-bounties", "--scores-file", broken))
    broken.write_text(json.dumps([{"id": 1, "group": "g", "rewardable": True, "metrics": [{"id": 999999, "score": 1.0}]}]))
    assert "metric id 999999, which is not a metric of the target label" in one_error(ours(hosted, NAME, "test", "leaderboard", "rank", "--scores-file", broken))

    valid = scores_file(hosted, tmp_path)
    assert "no target 'nope'" in one_error(ours(hosted, NAME, "test", "leaderboard", "rank", "--scores-file", valid, "--target-name", "nope"))
    assert "--scores-file FILE" in one_error(ours(hosted, NAME, "test", "leaderboard", "rank"))
    twice = ["leaderboard", "compare", "--data-directory", FIXTURE / "data", "--prediction-directory", "1", GOOD, "--prediction-directory", "1", GOOD]
    assert "given more than once" in one_error(ours(hosted, NAME, "test", *twice))


def test_a_file_answering_in_the_wrong_shape_is_an_error(hosted: Hub, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(FIXTURE / "competitions", source / "competitions")
    scoring = source / "competitions" / NAME / "scoring" / "scoring.py"
    scoring.write_text(scoring.read_text().replace("results[metric.id] = ScoredMetric(float(value), details)", "results[metric.id] = float(value)"))
    args = ["scoring", "score", "--data-directory", FIXTURE / "data", "--prediction-directory", GOOD]
    error = one_error(ours(hosted, NAME, "test", *args, source=source))
    assert "score() gave a float for metric" in error and "not a ScoredMetric" in error, error


# -- a real competition's scoring.py ---------------------------------------------------------------

REAL = "datacrunch-2"


def real_files(destination: Path) -> Path:
    """competitions/datacrunch-2/scoring/ of the copy of crunchdao/competitions, under ``destination``."""
    repository = competitions_repository()  # a test cannot fetch the public repository (registries only)
    folder = destination / "competitions" / REAL / "scoring"
    folder.mkdir(parents=True)
    for name in ("scoring.py", "runner.py"):
        shown = subprocess.run(["git", "-C", str(repository), "show", f"HEAD:competitions/{REAL}/scoring/{name}"], capture_output=True, text=True)
        if shown.returncode != 0:
            pytest.fail(f"cannot read competitions/{REAL}/scoring/{name} from {repository}: {shown.stderr.strip()}")
        (folder / name).write_text(shown.stdout)
    return destination


def test_real_datacrunch_2_scoring_check_as_13(shared_hub: Hub, tmp_path: Path) -> None:
    import pandas as pd

    source = real_files(tmp_path / "source")
    data = tmp_path / "data"
    data.mkdir()
    y = pd.DataFrame({"moon": [1, 1, 2, 2], "id": [10, 11, 10, 11], "target": [0.1, 0.2, 0.3, 0.4]})
    y.to_parquet(data / "y.parquet", index=False)
    (data / "moons_split.json").write_text(json.dumps({"reduced_cloud": [1, 2], "oos_private": [3], "live_to_predict": [4]}))
    hosted = shared_hub.run(
        "hub", "add-competition", REAL, data, "--root", shared_hub.root, "--unstructured",
        "--code", source / "competitions" / REAL, "--metric", "target:score",
    )
    assert hosted.returncode == 0, hosted.output

    def prediction(name: str, frame: "pd.DataFrame") -> Path:
        folder = tmp_path / name
        folder.mkdir()
        frame.to_parquet(folder / "prediction.parquet", index=False)
        return folder

    good = prediction("good", y.rename(columns={"target": "prediction"}).assign(prediction=[0.2, 0.1, 0.5, 0.6]))
    no_column = prediction("no-column", y.drop(columns=["target"]))
    wrong_moons = prediction("wrong-moons", y.rename(columns={"target": "prediction"}).assign(moon=[1, 1, 5, 5]))
    cases = [
        (good, [], None),
        (no_column, [], "Columns do not match: missing [prediction]"),
        (wrong_moons, [], "Moons do not match: missing [2] extras [5]"),
        (good, ["--phase-type", "OUT_OF_SAMPLE"], "Moons do not match: missing [3, 4] extras [1, 2]"),
    ]
    for folder, extra, rejection in cases:
        args = ["scoring", "check", "--data-directory", data, "--prediction-directory", folder, *extra]
        mine, peer = ours(shared_hub, REAL, "test", *args, source=source), theirs(shared_hub, REAL, "test", *args, source=source, cwd=tmp_path)
        if rejection is None:
            assert mine.returncode == 0 and "the prediction is valid" in mine.stdout, mine.output
            assert "Prediction is valid!" in peer.stdout, peer.stdout + peer.stderr
        else:
            peer_line = next((line for line in peer.stdout.splitlines() if line.startswith("Prediction is not valid: ")), None)
            assert peer_line is not None and rejection in peer_line, peer.stdout + peer.stderr
            assert one_error(mine) == "error: the prediction is not valid: " + peer_line.split(": ", 1)[1]
    assert re.search(r"Moons do not match", peer.stdout)
