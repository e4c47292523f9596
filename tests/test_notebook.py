"""``crunch.load_notebook()``: load_data() and test() from a notebook's ``__main__``."""

from __future__ import annotations

import io
import sys
import traceback
import types
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from test_runner_support import make_workspace

import crunch
from crunch.core.console import Console
from crunch.notebook import NotebookTools

CODE = '''
import pandas as pd

STATE = {}


def train(X_train, y_train):
    STATE["mean"] = float(y_train["target"].mean())


def infer(X_test, moon):
    if moon == FAIL_AT:
        return X_test["missing"]
    return pd.DataFrame({"id": X_test["id"], "moon": X_test["moon"], "prediction": X_test["feature_0"] + STATE["mean"]})
'''


@pytest.fixture
def ws(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_workspace(tmp_path, main=None)
    return tmp_path


def user_module(root: Path, fail_at=None) -> types.ModuleType:
    path = root / "nbcode.py"
    path.write_text(CODE.replace("FAIL_AT", repr(fail_at)))
    module = types.ModuleType("nbcode")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


def tools(out: io.StringIO) -> NotebookTools:
    loaded = crunch.load_notebook()
    loaded.console = Console(stream=out, err=out)
    return loaded


def test_load_data(ws):
    X_train, y_train, X_test = crunch.load_notebook(quiet=True).load_data()
    assert X_train.shape == (240, 5) and y_train.shape == (240, 3) and X_test.shape == (80, 5)
    assert isinstance(X_train, pd.DataFrame) and crunch.load_notebook().is_inside_runner is False


def test_test_runs_main_and_returns_the_prediction(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", user_module(ws))
    out = io.StringIO()
    notebook = tools(out)
    prediction = notebook.test(determinism_check=True)
    assert list(prediction.columns) == ["id", "moon", "prediction"] and len(prediction) == 80
    assert "prediction is valid" in out.getvalue() and notebook.last_report.ok
    assert (ws / "prediction" / "prediction.parquet").is_file()


def test_an_error_in_the_notebook_is_raised_with_its_own_frames(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", user_module(ws, fail_at=13))
    with pytest.raises(KeyError) as info:
        tools(io.StringIO()).test()
    frames = traceback.extract_tb(info.value.__traceback__)
    files = [Path(frame.filename).name for frame in frames]
    assert files[-1] == "nbcode.py" and all("runner" not in f for f in files)
    shown = {"test_notebook.py", "notebook/__init__.py", "nbcode.py"}  # the call, the notebook API's entry, the notebook
    assert all(Path(frame.filename).name in shown or "/".join(Path(frame.filename).parts[-2:]) in shown for frame in frames), files


def test_missing_functions(ws, monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    with pytest.raises(crunch.exceptions.UserCodeError, match="no `train` function in the notebook"):
        tools(io.StringIO()).test(raise_abort=True)


def test_a_refusal_is_one_readable_line_by_default(ws, monkeypatch):
    module = user_module(ws)
    module.infer = lambda X_test: [1, 2, 3]  # a list: the runner cannot use it
    monkeypatch.setitem(sys.modules, "__main__", module)
    out = io.StringIO()
    assert tools(out).test() is None
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("error: ") and "infer" in last and "Traceback" not in out.getvalue()
    with pytest.raises(crunch.exceptions.CrunchError):
        tools(io.StringIO()).test(raise_abort=True)


def test_the_call_forms_of_crunch_cli(ws, monkeypatch):
    module = user_module(ws)
    monkeypatch.setitem(sys.modules, "nbcode", module)
    loaded = crunch.load_notebook("nbcode")  # load_notebook(__name__), positional
    again = loaded.load_notebook("nbcode")  # the loading cell run again on what it returned
    assert isinstance(again, NotebookTools) and again.is_inside_runner is False
    assert again.__version__ == crunch.__version__  # other names are the package's
    out = io.StringIO()
    again.console = Console(stream=out, err=out)
    X_train, _, _ = again.load_data("@current")  # force=True is run against a hub in test_notebook_kernels.py
    assert len(X_train) == 240
    prediction = again.test(no_determinism_check=True, raise_abort=True, skip_whitelisted_library_scan=True)
    assert len(prediction) == 80 and "determinism" not in out.getvalue().split("prediction")[-1]
    with pytest.raises(crunch.exceptions.ConfigurationError, match="no module named 'absent'"):
        crunch.load_notebook("absent")


def test_a_notebook_through_a_kernel(ws):
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import crunch\ncrunch_tools = crunch.load_notebook()",
        "X_train, y_train, X_test = crunch_tools.load_data()\nprint(X_train.shape)",
        CODE.replace("FAIL_AT", "None"),
        "prediction = crunch_tools.test()\nprint('rows', len(prediction), crunch.is_inside_runner)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ws)}})
    client.execute()
    outputs = [
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    ]
    text = "".join(outputs)
    assert "(240, 5)" in text and "prediction is valid" in text and "rows 80 False" in text


def test_submit_without_a_notebook_says_how_to_name_it(ws, monkeypatch):
    for name in ("JPY_SESSION_NAME", "COLAB_GPU", "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)
    out = io.StringIO()
    assert tools(out).submit("no notebook here") is None
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("error: cannot tell which notebook is your code") and 'notebook_file_name="NAME.ipynb"' in last
    with pytest.raises(crunch.exceptions.ConfigurationError):
        tools(io.StringIO()).submit("no notebook here", raise_error=True)


def test_the_notebook_model_directory_is_refused_where_push_would_refuse_it(tmp_path, monkeypatch):
    from crunch.exceptions import CrunchError
    from crunch.notebook import _relative_model_directory

    root = tmp_path / "ws"
    (root / ".crunchdao").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "models").mkdir()
    (root / "secrets").symlink_to(root / ".crunchdao")
    workspace = types.SimpleNamespace(root=root)
    monkeypatch.chdir(root)
    assert _relative_model_directory(workspace, "models") == "models"
    assert _relative_model_directory(workspace, str(root / "models")) == "models"
    for bad in (".crunchdao", "secrets", "data", str(tmp_path), "../elsewhere"):
        with pytest.raises(CrunchError, match="model_directory_path"):
            _relative_model_directory(workspace, bad)
