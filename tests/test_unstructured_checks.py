"""A competition's own ``check()``/``score()`` run by ``crunch test`` on a file the local run cannot
have: skipped with one line naming the file, never a failure; a check that fails on what the
participant's code wrote still fails.

The units: what a ``runner.py`` writes only on the platform (read from its source), and
``score_locally``'s rule. End to end, against a local hub: the ``platform-prediction`` fixture
(its runner writes ``prediction.noisy.parquet`` on the platform only and its check reads it),
and the real structural-break-open-benchmark code read from a copy of crunchdao/competitions
(``CRUNCH_COMPETITIONS_REPO``, a bare git folder; default: this machine's mirror) on the data of
the ``generator-inference`` fixture (shaped like structural-break's).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from conftest import Hub
from peers import competitions_repository

FIXTURES = Path(__file__).parent / "fixtures" / "competitions"
BENCHMARK = "competitions/structural-break-open-benchmark/scoring/"
NOISY_SKIPPED = (
    "the competition's scoring.py check: skipped, it reads prediction/prediction.noisy.parquet, "
    "which runner.py writes only on the platform"
)


# -- what runner.py writes only on the platform --------------------------------------------------------


def platform_only(source: str, name: str) -> bool:
    from crunch.runner.platform_files import runner_strings

    return runner_strings(textwrap.dedent(source)).writes_only_on_platform(name)


@pytest.mark.parametrize(
    "source",
    [
        """
        def run(context, prediction_directory_path):
            if not context.is_local:
                write(os.path.join(prediction_directory_path, "noisy.parquet"))
            write(os.path.join(prediction_directory_path, "prediction.parquet"))
        """,
        """
        def run(context, prediction_directory_path):
            if context.is_local:
                pass
            else:
                write(f"{prediction_directory_path}/noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            write("prediction.parquet")
            if context.is_local:
                return
            write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            for name in ["a", "b"]:
                if context.is_local is True:
                    continue
                write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            name = "prediction.parquet" if context.is_local else "noisy.parquet"
        """,
        """
        NOISY = "noisy.parquet"

        def run(context, prediction_directory_path):
            if context.is_local == False and context.force_first_train:
                write(NOISY)
        """,
        """
        def run(context, prediction_directory_path):
            if context.is_local or skip:
                return
            _noisy(prediction_directory_path)

        def _noisy(folder):
            _write_noisy(folder)

        def _write_noisy(folder):
            write(os.path.join(folder, "noisy.parquet"))
        """,
    ],
    ids=["if-not", "else", "early-return", "continue", "if-expression", "constant-and", "helpers"],
)
def test_a_file_named_only_in_platform_code_is_the_platform_s(source: str) -> None:
    assert platform_only(source, "noisy.parquet")
    assert not platform_only(source, "prediction.parquet")


@pytest.mark.parametrize(
    "source",
    [
        """
        def run(context, prediction_directory_path):
            write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            if context.is_local and quick:
                pass
            else:
                write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            if not context.is_local or always:
                write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            if not context.is_local:
                write("noisy.parquet")
            check("noisy.parquet")
        """,
        """
        NOISY = "noisy.parquet"

        def run(context, prediction_directory_path):
            if not context.is_local:
                _write(NOISY)
            read(NOISY)
        """,
        """
        def run(context, prediction_directory_path):
            if not context.is_local:
                _noisy()
            _noisy()

        def _noisy():
            write("noisy.parquet")
        """,
        """
        def run(context, prediction_directory_path):
            if context.is_local:
                write("noisy.parquet")
        """,
        "def run(context:\n",
    ],
    ids=["unconditional", "and-else", "or", "also-outside", "constant-also-outside", "helper-also-outside", "local-only", "syntax-error"],
)
def test_a_file_the_runner_may_write_locally_is_not_the_platform_s(source: str) -> None:
    assert not platform_only(source, "noisy.parquet")


def test_the_real_benchmark_runner_writes_the_noisy_prediction_only_on_the_platform() -> None:
    from crunch.runner.platform_files import runner_strings

    strings = runner_strings(benchmark_file("runner.py"))
    assert strings.writes_only_on_platform("prediction.noisy.parquet")
    for name in ("prediction.parquet", "prediction.determinism.parquet", "X_test.noisy.parquet"):
        assert not strings.writes_only_on_platform(name), name


# -- score_locally's rule ------------------------------------------------------------------------------

RUNNER = """
import os

def run(context, prediction_directory_path):
    if not context.is_local:
        write(os.path.join(prediction_directory_path, "noisy.txt"))
    write(os.path.join(prediction_directory_path, "prediction.txt"))
    write(os.path.join(prediction_directory_path, "extra.txt"))
"""

SCORING = """
import os

import crunch.unstructured


class ParticipantVisibleError(Exception):
    pass


def _read(folder, name):
    with open(os.path.join(folder, name)) as file:
        return file.read()


def check(prediction_directory_path, data_directory_path):
    if _read(prediction_directory_path, "prediction.txt") == "bad":
        raise ParticipantVisibleError("the prediction is bad")
    for name in CHECK_READS:  # "data/x": x in the data folder; else in the prediction folder
        if name.startswith("data/"):
            _read(data_directory_path, name[len("data/"):])
        else:
            _read(prediction_directory_path, name)


def score(prediction_directory_path, data_directory_path, target_and_metrics):
    for name in SCORE_READS:
        _read(prediction_directory_path, name)
    value = float(_read(data_directory_path, "truth.txt"))
    (target, metrics), = target_and_metrics
    return {metric.id: crunch.unstructured.ScoredMetric(value) for metric in metrics}
"""


def local_score(
    tmp_path: Path,
    check_reads: List[str],
    score_reads: Optional[List[str]] = None,
    prediction: str = "fine",
    local: bool = True,
    release: Optional[List[str]] = None,
    truth: bool = True,
) -> Tuple[Any, List[str]]:
    """``score_locally`` on a prediction folder holding ``prediction.txt`` (``extra.txt`` and
    ``noisy.txt`` missing), a data folder holding ``truth.reduced.txt``: its result and the
    lines it said."""
    from crunch.data.competition_code import load_module
    from crunch.runner.local_score import metrics_from_cache, score_locally
    from crunch.runner.platform_files import LocalRun

    (tmp_path / "scoring.py").write_text(f"CHECK_READS = {check_reads!r}\nSCORE_READS = {score_reads or []!r}\n" + SCORING)
    (tmp_path / "runner.py").write_text(RUNNER)
    prediction_dir = tmp_path / "prediction"
    prediction_dir.mkdir(exist_ok=True)
    (prediction_dir / "prediction.txt").write_text(prediction)
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    if truth:
        (data_dir / "truth.reduced.txt").write_text("0.75")
    metrics = metrics_from_cache([{"id": 1, "name": "accuracy", "target": {"id": 9, "name": "label"}}])
    said: List[str] = []
    local_run = LocalRun.of(str(prediction_dir), str(tmp_path / "runner.py")) if local else None
    results = score_locally(
        load_module(tmp_path / "scoring.py", "test"),
        metrics,
        data_dir,
        str(prediction_dir),
        said.append,
        tmp_path / ".crunchdao",
        local_run=local_run,
        release_names=(lambda: release),
    )
    return results, said


def test_a_check_on_a_prediction_only_the_platform_s_runner_writes_is_skipped_and_the_score_runs(tmp_path: Path) -> None:
    results, said = local_score(tmp_path, ["noisy.txt"])
    assert {key: value.value for key, value in results.items()} == {1: 0.75}
    assert said == [
        "the competition's scoring.py check: skipped, it reads prediction/noisy.txt, which runner.py writes only on the platform",
        "local score: label accuracy = 0.75",
    ]


def test_a_score_on_a_prediction_only_the_platform_s_runner_writes_is_skipped(tmp_path: Path) -> None:
    results, said = local_score(tmp_path, [], score_reads=["noisy.txt"])
    assert results is None
    assert said == [
        "the competition's scoring.py check: passed",
        "local score skipped: the competition's scoring.py reads prediction/noisy.txt, which runner.py writes only on the platform",
    ]


def test_a_check_on_platform_only_data_is_skipped_and_the_score_runs(tmp_path: Path) -> None:
    results, said = local_score(tmp_path, ["data/top_results.txt"], release=["truth.reduced.txt"])
    assert {key: value.value for key, value in results.items()} == {1: 0.75}
    assert said[0] == "the competition's scoring.py check: skipped, it reads data/top_results.txt, which only the platform has"


def test_a_missing_file_of_the_data_release_is_an_error_that_says_to_download(tmp_path: Path) -> None:
    from crunch.exceptions import WorkspaceError

    with pytest.raises(WorkspaceError, match=r"check reads data/top_results\.txt, and data/top_results\.txt of the data release is missing .* `crunch download`$"):
        local_score(tmp_path, ["data/top_results.txt"], release=["truth.reduced.txt", "top_results.txt"])
    shutil.rmtree(tmp_path / "data")
    with pytest.raises(WorkspaceError, match=r"score\(\) reads data/truth\.txt, and data/truth\.reduced\.txt of the data release is missing"):
        local_score(tmp_path, [], release=["truth.reduced.txt"], truth=False)


def test_a_check_on_a_prediction_file_the_local_run_should_have_written_fails(tmp_path: Path) -> None:
    from crunch.exceptions import PredictionError

    with pytest.raises(PredictionError, match=r"^the competition's scoring.py check failed: FileNotFoundError: .*extra\.txt"):
        local_score(tmp_path, ["extra.txt"])  # runner.py writes it on every run
    with pytest.raises(PredictionError, match=r"check failed: FileNotFoundError: .*unknown\.txt"):
        local_score(tmp_path, ["unknown.txt"])  # runner.py never names it


def test_after_a_run_on_the_platform_s_side_no_prediction_file_is_skipped(tmp_path: Path) -> None:
    from crunch.exceptions import PredictionError

    with pytest.raises(PredictionError, match=r"check failed: FileNotFoundError: .*noisy\.txt"):
        local_score(tmp_path, ["noisy.txt"], local=False)


def test_another_os_error_on_a_platform_only_file_fails(tmp_path: Path) -> None:
    from crunch.exceptions import PredictionError

    (tmp_path / "prediction").mkdir()
    (tmp_path / "prediction" / "noisy.txt").mkdir()  # there, but not a file
    with pytest.raises(PredictionError, match=r"check failed: IsADirectoryError"):
        local_score(tmp_path, ["noisy.txt"])


def test_a_check_that_rejects_the_prediction_before_the_platform_only_file_fails(tmp_path: Path) -> None:
    from crunch.exceptions import PredictionError

    with pytest.raises(PredictionError, match=r"check rejected the prediction: the prediction is bad$"):
        local_score(tmp_path, ["noisy.txt"], prediction="bad")


# -- end to end: crunch test ---------------------------------------------------------------------------


def load_data_module(folder: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, folder / "data.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def host(hub: Hub, name: str, code: Path, data: Path, metrics: List[str], folder: Path) -> None:
    """Generate the data of fixture ``data`` and host it on ``hub`` as ``name`` with the code ``code``."""
    public, private = folder / f"{name}-public", folder / f"{name}-private"
    load_data_module(data, f"unstructured_checks_data_{name.replace('-', '_')}").generate(public, private)
    options = [value for metric in metrics for value in ("--metric", metric)]
    added = hub.run("hub", "add-competition", name, public, "--root", hub.root, "--unstructured", "--code", code, "--private-data", private, *options)
    assert added.returncode == 0, added.output


def setup(hub: Hub, competition: str, project: str, folder: Path, main: Path) -> Path:
    done = hub.run("setup", competition, project, "ws", "--token", hub.token(competition, project), cwd=folder)
    assert done.returncode == 0, done.output
    workspace = folder / "ws"
    shutil.copyfile(main, workspace / "main.py")
    return workspace


@pytest.fixture(scope="module")
def platform_prediction(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> str:
    fixture = FIXTURES / "platform-prediction"
    metrics = json.loads((fixture / "competition.json").read_text())["metrics"]
    host(shared_hub, "platform-prediction", fixture, fixture, metrics, tmp_path_factory.mktemp("platform-prediction"))
    return "platform-prediction"


@pytest.mark.e2e
def test_crunch_test_skips_a_check_on_a_prediction_only_the_platform_writes(shared_hub: Hub, platform_prediction: str, tmp_path: Path) -> None:
    workspace = setup(shared_hub, platform_prediction, "skips", tmp_path, FIXTURES / platform_prediction / "main.py")
    tested = shared_hub.run("test", cwd=workspace)
    assert tested.returncode == 0, tested.output
    assert NOISY_SKIPPED in tested.stdout.splitlines(), tested.output
    assert "scoring.py check: passed" not in tested.stdout and "error:" not in tested.output
    score_lines = [line for line in tested.stdout.splitlines() if line.startswith("local score: label roc-auc = ")]
    assert len(score_lines) == 1, tested.output
    assert 0.5 < float(score_lines[0].rsplit(" = ", 1)[1]) <= 1.0
    assert sorted(path.name for path in (workspace / "prediction").iterdir()) == ["prediction.parquet"]


@pytest.mark.e2e
def test_crunch_test_still_fails_a_check_on_the_participant_s_prediction(shared_hub: Hub, platform_prediction: str, tmp_path: Path) -> None:
    workspace = setup(shared_hub, platform_prediction, "fails", tmp_path, FIXTURES / platform_prediction / "main.py")
    with open(workspace / "main.py", "a") as file:
        file.write("\n\ndef infer(X_test):\n    return pd.Series(np.nan, index=X_test.index)\n")
    tested = shared_hub.run("test", cwd=workspace)
    assert tested.returncode == 1, tested.output
    errors = [line for line in tested.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: the competition's scoring.py check rejected the prediction: Prediction must not contain NaN or infinite values"], tested.output
    assert "skipped" not in tested.output and "local score:" not in tested.stdout


@pytest.mark.e2e
def test_on_the_platform_s_side_the_fixture_s_check_reads_the_noisy_prediction(shared_hub: Hub, platform_prediction: str, tmp_path: Path) -> None:
    """A cloud run (``is_local`` false) of the same fixture: its runner infers on the noisy test
    set too, its check reads that prediction and passes, its score is on the leaderboard."""
    import re

    workspace = setup(shared_hub, platform_prediction, "cloud", tmp_path, FIXTURES / platform_prediction / "main.py")
    (workspace / "requirements.txt").write_text("")
    pushed = shared_hub.run("push", "-m", "the fixture's participant", cwd=workspace)
    assert pushed.returncode == 0, pushed.output
    created = shared_hub.run("run", "create", cwd=workspace)
    assert created.returncode == 0, created.output
    run_id = re.search(r"run (\d+) created", created.stdout).group(1)
    waited = shared_hub.run("run", "wait", run_id, "--poll-interval", "0.3", cwd=workspace, timeout=300)
    logs = shared_hub.run("run", "logs", run_id, cwd=workspace)
    assert waited.returncode == 0, waited.output + logs.output
    assert "cloud run" in logs.stdout
    assert logs.stdout.count("executing - command=infer") == 2, logs.stdout
    assert "prediction: prediction/prediction.noisy.parquet" in logs.stdout, logs.stdout
    assert "the competition's scoring.py check: passed" in logs.stdout and "skipped" not in logs.stdout, logs.stdout
    assert re.search(r"\[scorer\] score: label roc-auc = [0-9.]+", logs.stdout), logs.stdout


def benchmark_file(name: str) -> str:
    """A file of the real structural-break-open-benchmark's ``scoring/`` from the copy of crunchdao/competitions."""
    repository = competitions_repository()  # a test cannot fetch the public repository (registries only)
    shown = subprocess.run(["git", "-C", str(repository), "show", f"HEAD:{BENCHMARK}{name}"], capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.fail(f"cannot read {BENCHMARK}{name} from {repository} ({shown.stderr.strip()}): point CRUNCH_COMPETITIONS_REPO at a clone of crunchdao/competitions")
    return shown.stdout


@pytest.mark.e2e
def test_crunch_test_passes_on_the_real_structural_break_open_benchmark(shared_hub: Hub, tmp_path: Path) -> None:
    from peers import QUICKSTARTER_LIBRARIES, kernel_libraries

    code = tmp_path / "code"
    (code / "scoring").mkdir(parents=True)
    for name in ("runner.py", "scoring.py"):
        (code / "scoring" / name).write_text(benchmark_file(name))
    generator = FIXTURES / "generator-inference"  # the structural-break shape: series by (id, time), a boolean structural_breakpoint
    host(shared_hub, "structural-break-open-benchmark", code, generator, ["structural_breakpoint:roc-auc"], tmp_path)
    workspace = setup(shared_hub, "structural-break-open-benchmark", "real", tmp_path, generator / "main.py")
    # its scoring.py imports scikit-learn (and what it imports), not dependencies of crunch
    env = shared_hub.env(PYTHONPATH=str(kernel_libraries(*QUICKSTARTER_LIBRARIES)))
    tested = shared_hub.run("test", cwd=workspace, env=env, timeout=300)
    assert tested.returncode == 0, tested.output
    assert NOISY_SKIPPED in tested.stdout.splitlines(), tested.output
    assert "determinism check: passed" in tested.stdout
    score_lines = [line for line in tested.stdout.splitlines() if line.startswith("local score: structural_breakpoint roc-auc = ")]
    assert len(score_lines) == 1, tested.output
    assert 0.0 <= float(score_lines[0].rsplit(" = ", 1)[1]) <= 1.0
    assert sorted(path.name for path in (workspace / "prediction").iterdir()) == ["prediction.parquet"]
