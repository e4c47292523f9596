"""``crunch test`` in small workspaces: the loop, the checks, user errors, the report."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import types
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from test_runner_support import MAIN_PY, REGULAR_MAIN_PY, make_workspace

from crunch.commands import test as test_command
from crunch.core.console import Console
from crunch.exceptions import PredictionError, UserCodeError, WorkspaceError
from crunch.project.settings import Settings

CRUNCH = str(Path(sys.executable).parent / "crunch")


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def crunch_test(**options):
    out, err = io.StringIO(), io.StringIO()
    console = Console(stream=out, err=err)
    try:
        ok = test_command.run(settings=Settings.resolve(environ={}), console=console, **options)
    except Exception as error:
        error.out, error.err = out.getvalue(), err.getvalue()  # type: ignore[attr-defined]
        raise
    return ok, out.getvalue(), err.getvalue()


def prediction(root: Path) -> pd.DataFrame:
    return pd.read_parquet(root / "prediction" / "prediction.parquet")


# -- the loop -----------------------------------------------------------------------------------

SPY = '''
import json, os
import pandas as pd

LOG = []

def _log(**entry):
    LOG.append(entry)
    with open("calls.json", "w") as handle:
        json.dump(LOG, handle)

def train(X_train, y_train, moon, embargo, has_trained, number_of_features, column_names,
          target_column_name, prediction_column_names, has_gpu, model_directory_path):
    _log(fn="train", moon=moon, x_moons=sorted(set(X_train["moon"].tolist())), y_moons=sorted(set(y_train["moon"].tolist())),
         index=[int(X_train.index[0]), int(X_train.index[-1]), len(X_train)], embargo=embargo, has_trained=has_trained,
         features=number_of_features, target=target_column_name, outputs=prediction_column_names, gpu=has_gpu,
         model=model_directory_path, id_name=column_names.id)

def infer(current_moon, X_test, has_trained):
    _log(fn="infer", moon=current_moon, x_moons=sorted(set(X_test["moon"].tolist())), index=list(X_test.index[:2]) + [len(X_test)],
         has_trained=has_trained)
    return pd.DataFrame({"id": X_test["id"], "moon": X_test["moon"], "prediction": X_test["feature_0"].astype(float)})
'''


def calls(root: Path):
    import json

    return json.loads((root / "calls.json").read_text())


def test_quickstarter_like_code_passes(ws):
    make_workspace(ws)
    ok, out, err = crunch_test()
    assert ok, out + err
    assert "prediction is valid" in out and "train()      4 call(s)" in out and "infer()      5 call(s)" in out
    assert "wall time" in out and "peak memory" in out and "prediction/prediction.parquet (80 rows)" in out
    assert "infer() gave the same output twice" in out
    frame = prediction(ws)
    assert list(frame.columns) == ["id", "moon", "prediction"] and sorted(set(frame["moon"])) == [12, 13, 14, 15]
    assert (ws / "resources" / "model.txt").is_file()
    assert os.environ.get("CRUNCH_INSIDE_RUNNER") is None


def test_train_sees_moons_before_the_embargo_and_infer_the_moon(ws):
    make_workspace(ws, main=SPY, train_moons=8, test_moons=3, embargo=2, rows=5)
    ok, out, err = crunch_test(gpu=True, no_determinism_check=True)
    assert ok, out + err
    log = calls(ws)
    trains = [c for c in log if c["fn"] == "train"]
    infers = [c for c in log if c["fn"] == "infer"]
    assert [c["moon"] for c in trains] == [8, 9, 10] and [c["moon"] for c in infers] == [8, 9, 10]
    for entry in trains:
        assert entry["x_moons"] == list(range(entry["moon"] - 2)) == entry["y_moons"]
        assert entry["index"] == [0, entry["index"][2] - 1, 5 * (entry["moon"] - 2)]
        assert entry["embargo"] == 2 and entry["has_trained"] is True and entry["gpu"] is True
        assert entry["features"] == 3 and entry["target"] == "target" and entry["outputs"] == ["prediction"]
        assert entry["model"] == "resources" and entry["id_name"] == "id"
    # at moon 10 the train rows include test moons 8 (X_test and y_test)
    assert trains[-1]["x_moons"][-1] == 7
    for entry in infers:
        assert entry["x_moons"] == [entry["moon"]] and entry["index"] == [0, 1, 5] and entry["has_trained"] is True


@pytest.mark.parametrize(
    "options, trained",
    [
        ({"train_frequency": 2}, [8, 10]),
        ({"train_frequency": 3}, [8, 9]),
        ({"train_frequency": 0}, [8]),
        ({"train_frequency": 3, "no_force_first_train": True}, [9]),
    ],
)
def test_train_frequency(ws, options, trained):
    make_workspace(ws, main=SPY, train_moons=8, test_moons=4, embargo=0, rows=3)
    (ws / "resources" / "model.bin").write_text("an existing model")
    ok, out, err = crunch_test(no_determinism_check=True, **options)
    assert ok, out + err
    assert [c["moon"] for c in calls(ws) if c["fn"] == "train"] == trained
    assert [c["has_trained"] for c in calls(ws) if c["fn"] == "infer"] == [m in trained for m in range(8, 12)]


def test_loop_falls_back_to_the_moons_of_x_test_and_sorts_unsorted_files(ws):
    make_workspace(ws, main=SPY, train_moons=5, test_moons=3, rows=4, embargo=1, splits=False, shuffle=True)
    ok, out, err = crunch_test(no_determinism_check=True)
    assert ok, out + err
    assert [c["moon"] for c in calls(ws) if c["fn"] == "infer"] == [5, 6, 7]
    assert [c["x_moons"] for c in calls(ws) if c["fn"] == "train"][0] == [0, 1, 2, 3]


def test_regular_competition_trains_once_and_infers_once(ws):
    make_workspace(ws, main=REGULAR_MAIN_PY, timeseries=False)
    ok, out, err = crunch_test(train_frequency=5)
    assert ok, out + err
    assert "train()      1 call(s)" in out and "infer()      2 call(s)" in out
    assert list(prediction(ws).columns) == ["id", "prediction"] and len(prediction(ws)) == 80


MUTATING = '''
import pandas as pd
STATE = {{}}

def train(X_train, y_train):
    {copy_train}
    X_train["feature_0"] *= 1000.0
    y_train["target"] += 1.0
    y_train.drop(index=y_train.index[: len(y_train) // 2], inplace=True)
    STATE["mean"] = float(y_train["target"].mean()) + float(X_train["feature_0"].abs().mean())

def infer(X_test):
    {copy_infer}
    X_test["feature_0"] = X_test["feature_0"] * 2.0 + STATE["mean"]
    X_test.sort_values("feature_1", inplace=True)
    X_test["moon"] += 0
    return X_test[["id", "moon", "feature_0"]].rename(columns={{"feature_0": "prediction"}}).sort_index()
'''


def test_code_that_mutates_its_inputs_gets_the_same_results_as_code_that_copies(ws):
    import warnings

    make_workspace(ws, main=MUTATING.format(copy_train="X_train, y_train = X_train.copy(), y_train.copy()", copy_infer="X_test = X_test.copy()"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok, out, err = crunch_test()
    assert ok, out + err
    copied = prediction(ws)
    (ws / "main.py").write_text(textwrap.dedent(MUTATING.format(copy_train="pass", copy_infer="pass")))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok, out, err = crunch_test()
    assert ok, out + err
    pd.testing.assert_frame_equal(prediction(ws), copied)


# -- the person's errors --------------------------------------------------------------------

FAILING = '''
import pandas as pd


def helper(frame):
    return frame["no_such_column"]


def train(X_train, y_train):
    pass


def infer(X_test, moon):
    if moon == 14:
        helper(X_test)
    return pd.DataFrame({"id": X_test["id"], "moon": X_test["moon"], "prediction": 1.0})
'''


def test_an_exception_shows_only_the_persons_frames_then_one_line(ws):
    make_workspace(ws, main=FAILING)
    with pytest.raises(UserCodeError) as info:
        crunch_test()
    message = str(info.value)
    assert message.startswith("infer() at moon 14 raised KeyError") and "\n" not in message
    err = info.value.err
    assert "Traceback (your code, most recent call last):" in err
    assert 'File "main.py", line 15, in infer' in err and 'File "main.py", line 6, in helper' in err
    assert "crunch" + os.sep + "runner" not in err and "pandas" + os.sep not in err


def test_import_errors_and_missing_functions(ws):
    make_workspace(ws, main="import pandas\n\nraise RuntimeError('bad setup')\n")
    with pytest.raises(UserCodeError, match=r"importing main.py raised RuntimeError: bad setup") as info:
        crunch_test()
    assert 'File "main.py", line 3, in <module>' in info.value.err

    (ws / "main.py").write_text("def train(:\n    pass\n")
    with pytest.raises(UserCodeError, match="importing main.py raised SyntaxError"):
        crunch_test()

    (ws / "main.py").write_text("def train(X_train):\n    pass\n")
    with pytest.raises(UserCodeError, match="main.py has no `infer` function"):
        crunch_test()

    (ws / "main.py").unlink()
    with pytest.raises(UserCodeError, match="main.py not found"):
        crunch_test()


def test_infer_must_return_a_dataframe(ws):
    make_workspace(ws, main="def train():\n    pass\n\ndef infer(X_test):\n    return X_test['id'].tolist()\n")
    with pytest.raises(UserCodeError, match=r"infer\(\) at moon 12 returned list, expected a pandas DataFrame with the columns `id`, `moon`, `prediction`"):
        crunch_test()


def test_non_deterministic_infer_fails_unless_the_check_is_off(ws):
    main = MAIN_PY.replace('"prediction": X_test["feature_0"] * 0.1 + mean,', '"prediction": __import__("numpy").random.random(len(X_test)),')
    make_workspace(ws, main=main)
    with pytest.raises(PredictionError, match=r"infer\(\) is not deterministic") as info:
        crunch_test()
    out = info.value.out  # type: ignore[attr-defined]
    assert "determinism: infer() is not deterministic: column `prediction` differs" in out
    assert "prediction is valid" in out
    ok, out, err = crunch_test(no_determinism_check=True)
    assert ok and "determinism" not in out


def test_a_bad_prediction_fails_with_the_competitions_checks(ws):
    main = MAIN_PY.replace('X_test["feature_0"] * 0.1 + mean', "mean")
    checks = [
        {"function": "COLUMNS_NAME", "scope": "ROOT", "order": 0, "parameters": {}},
        {"function": "CONSTANTS", "scope": "KEY", "order": 1, "parameters": {}},
        {"function": "VALUES_BETWEEN", "scope": "ROOT", "order": 2, "parameters": {"min": 10, "max": 20}},
        {"function": "FUTURE_CHECK", "scope": "ROOT", "order": 3, "parameters": {}},
    ]
    make_workspace(ws, main=main, checks=checks)
    with pytest.raises(PredictionError, match=r"the prediction is not valid: 2 check failure\(s\)") as info:
        crunch_test()
    out, err = info.value.out, info.value.err  # type: ignore[attr-defined]
    assert "check CONSTANTS failed on column `prediction`: constant within 4 of 4 moon(s)" in out
    assert "check VALUES_BETWEEN failed on column `prediction`: 80 value(s) not between 10.0 and 20.0" in out
    assert "prediction is not valid: 2 check failure(s)" in out
    assert err.count("unknown check `FUTURE_CHECK`") == 1
    assert (ws / "prediction" / "prediction.parquet").is_file()


def test_library_check_warns_about_unknown_requirements(ws):
    make_workspace(ws, libraries=["pandas", "scikit-learn"])
    (ws / "requirements.txt").write_text("pandas==2.2\nScikit_Learn>=1\n# a comment\nmystery-lib\n-r other.txt\n")
    ok, out, err = crunch_test()
    assert ok
    assert "`mystery-lib` is not in the competition's whitelist" in err and "pandas" not in err and "Learn" not in err
    ok, out, err = crunch_test(skip_library_check=True)
    assert "mystery-lib" not in err


# -- data and conversion ----------------------------------------------------------------------


def test_missing_data_needs_a_download(ws, monkeypatch):
    workspace = make_workspace(ws)
    (workspace.data_dir / "X_test.parquet").unlink()
    monkeypatch.setitem(sys.modules, "crunch.data.download", types.ModuleType("crunch.data.download"))
    with pytest.raises(WorkspaceError, match=r"X_test .*run `crunch download`"):
        crunch_test()


def replace_ensure_data(monkeypatch, ensure_data) -> None:
    """`crunch test` downloads through ``ensure_data`` instead of the real one."""
    module = types.ModuleType("crunch.data.download")
    module.ensure_data = ensure_data
    monkeypatch.setitem(sys.modules, "crunch.data.download", module)


def test_missing_data_is_downloaded_with_ensure_data(ws, monkeypatch, tmp_path_factory):
    from test_runner_support import write_data

    from crunch.api.models import DataRelease

    workspace = make_workspace(ws)
    (workspace.data_dir / "X_train.parquet").unlink()
    seen = {}

    def ensure_data(workspace_, settings, console, round_number, size_variant=None, force=False):
        seen.update(round_number=round_number, size_variant=size_variant, force=force, url=settings.api_base_url)
        write_data(workspace_.data_dir)
        return DataRelease.from_dict(workspace_.read_cache("data_release.json"))

    replace_ensure_data(monkeypatch, ensure_data)
    ok, out, err = crunch_test(round_number="3")
    assert ok, out + err
    assert seen == {"round_number": "3", "size_variant": None, "force": False, "url": "http://127.0.0.1:9/"}


def test_the_cached_round_is_used_offline_and_another_one_is_downloaded(ws, monkeypatch):
    from crunch.api.models import DataRelease

    workspace = make_workspace(ws)  # every file of the cached release
    workspace.write_cache("round.json", {"number": 1, "id": 1})  # which is of round 1
    asked = []

    def ensure_data(workspace_, settings, console, round_number, size_variant=None, force=False):
        asked.append(round_number)
        return DataRelease.from_dict(workspace_.read_cache("data_release.json"))

    replace_ensure_data(monkeypatch, ensure_data)
    ok, out, err = crunch_test(round_number="1")
    assert ok, out + err
    assert asked == []  # round 1 is the cached one: nothing asked of the hub
    ok, out, err = crunch_test(round_number="2")
    assert asked == ["2"]
    (workspace.dot_dir / "round.json").unlink()  # a cache of an older crunch: the hub is asked
    asked.clear()
    crunch_test(round_number="1")
    assert asked == ["1"]


def test_a_notebook_is_converted_to_a_temporary_script(ws, monkeypatch):
    make_workspace(ws, main=None)
    (ws / "main.ipynb").write_text("{}")
    used = []

    @contextmanager
    def temporary_script(root, notebook_path, main_file="main.py", script_path=None, requirements=True):
        path = Path(script_path)
        path.write_text(textwrap.dedent(MAIN_PY))
        used.append((Path(notebook_path).name, path.relative_to(ws).parts[:2], path.name, requirements))
        try:
            yield object(), [path]
        finally:
            path.unlink()

    module = types.ModuleType("crunch.convert")
    module.temporary_script = temporary_script
    monkeypatch.setitem(sys.modules, "crunch.convert", module)
    ok, out, err = crunch_test()
    assert ok, out + err
    # converted under .crunchdao/, never as the main.py a later run would take for the person's
    assert used == [("main.ipynb", (".crunchdao", "converted"), "main.py", False)]
    assert not (ws / "main.py").exists() and not (ws / ".crunchdao" / "converted").exists()
    assert "converting main.ipynb" in out


# -- the executable ----------------------------------------------------------------------------


def test_the_crunch_executable_exit_codes(ws):
    make_workspace(ws)
    done = subprocess.run([CRUNCH, "test"], cwd=ws, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "prediction is valid" in done.stdout

    (ws / "main.py").write_text(textwrap.dedent(FAILING))
    done = subprocess.run([CRUNCH, "test"], cwd=ws, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: infer() at moon 14 raised KeyError")
    assert "Traceback (most recent call last)" not in done.stderr and 'File "main.py", line 6, in helper' in done.stderr


def test_crunch_help_does_not_import_the_runner():
    code = "import sys; from crunch.cli import main\ntry:\n    main(['test', '--help'])\nexcept SystemExit:\n    pass\nprint(sorted(m for m in ('pandas', 'pyarrow', 'crunch.runner') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_without_y_test_train_sees_x_only_where_y_is_known(ws):
    workspace = make_workspace(ws, main=SPY, train_moons=6, test_moons=4, embargo=1, rows=3)
    (workspace.data_dir / "y_test.parquet").unlink()
    ok, out, err = crunch_test(no_determinism_check=True)
    assert ok, out + err
    trains = [c for c in calls(ws) if c["fn"] == "train"]
    assert [c["moon"] for c in trains] == [6, 7, 8, 9]
    assert [c["x_moons"] for c in trains] == [c["y_moons"] for c in trains]
    assert trains[-1]["x_moons"] == list(range(6))
