"""The notebook flow in real kernels (nbclient + ipykernel) against a local hub: Jupyter, and
Colab and Kaggle simulated (their modules faked at the import level, their variables and
folders present).

Each test runs one notebook cell by cell, as a person would: ``!crunch setup ...``, the
loading cell (and a rerun of it), ``load_data()``, the cells defining ``train``/``infer``
(with a marker only the notebook holds), ``test()``, ``!crunch push`` and ``submit()``. Then
it checks the submissions the hub holds (the notebook's own code, not the ``main.py`` setup
wrote), what each output area shows (no cursor moves, no carriage-return storms) and, for
Jupyter, that running setup again keeps the edited notebook.
"""

from __future__ import annotations

import json
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import requests

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.e2e

FAKES: Dict[str, str] = {
    # google/ stays a namespace package, as the real one is
    "google/colab/__init__.py": "",
    "google/colab/_message.py": '''
import json, os


def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    assert request_type == "get_ipynb", request_type
    with open(os.environ["FAKE_COLAB_NOTEBOOK"], encoding="utf-8") as handle:
        return {"ipynb": json.load(handle)}
''',
    "google/colab/userdata.py": '''
import os


class SecretNotFoundError(Exception):
    pass


class NotebookAccessError(Exception):
    pass


def get(key):
    if "FAKE_SECRET_" + key not in os.environ:
        raise SecretNotFoundError(key)
    return os.environ["FAKE_SECRET_" + key]
''',
    "kaggle_session.py": '''
import os


class UserSessionClient:
    def get_exportable_ipynb(self):
        with open(os.environ["FAKE_KAGGLE_NOTEBOOK"], encoding="utf-8") as handle:
            return {"source": None, "sourceNullable": handle.read()}
''',
    "kaggle_secrets.py": '''
import os


class UserSecretsClient:
    def get_secret(self, label):
        if "FAKE_SECRET_" + label not in os.environ:
            raise Exception(f"No user secrets exist for kernel id 1 and label {label}")
        return os.environ["FAKE_SECRET_" + label]
''',
}

TIMESERIES_CODE = '''
import os

import numpy as np
import pandas as pd


def marker():
    return "MARKER"


def train(X_train, y_train, model_directory_path):
    data = X_train.merge(y_train, on=["id", "moon"])
    os.makedirs(model_directory_path, exist_ok=True)
    np.save(os.path.join(model_directory_path, "mean.npy"), np.array([data["target"].mean()]))


def infer(X_test, model_directory_path):
    mean = float(np.load(os.path.join(model_directory_path, "mean.npy"))[0])
    prediction = X_test[["id", "moon"]].copy()
    prediction["prediction"] = np.clip(X_test["feature_0"].to_numpy(dtype=float) * 0.01 + mean, -1, 1)
    return prediction
'''

TABULAR_CODE = '''
import os

import numpy as np
import pandas as pd


def marker():
    return "MARKER"


def train(X_train, y_train, model_directory_path):
    os.makedirs(model_directory_path, exist_ok=True)
    np.save(os.path.join(model_directory_path, "mean.npy"), np.array([y_train["target"].mean()]))


def infer(X_test, model_directory_path):
    mean = float(np.load(os.path.join(model_directory_path, "mean.npy"))[0])
    prediction = X_test[["id"]].copy()
    prediction["prediction"] = np.clip(X_test["feature_0"].to_numpy(dtype=float) * 0.01 + mean, -1, 1)
    return prediction
'''


def make_notebook(cells: List[str]):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])


def kernel_env(hub, tmp_path: Path, **extra: str) -> Dict[str, str]:
    """The kernel's environment: the test venv's ``crunch`` first on PATH, no platform marker
    unless given. Tokens reach the cells through variables (``$SETUP_TOKEN``), so that no
    notebook file holds one (tests/test_zz_secrets.py scans every file)."""
    env = hub.env(**extra)
    for name in list(env):
        if name.startswith(("COLAB_", "KAGGLE_", "VSCODE_", "JPY_SESSION")):
            env.pop(name)
    env.update(extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def install_fakes(tmp_path: Path) -> Path:
    folder = tmp_path / "fakes"
    for relative, text in FAKES.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def execute(notebook, cwd: Path, env: Dict[str, str], allow_errors: bool = False) -> None:
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", allow_errors=allow_errors, resources={"metadata": {"path": str(cwd)}}
    )
    try:
        client.execute(env=env)
    except nbclient.exceptions.CellExecutionError as error:  # every output area, to see why
        areas = "\n".join(f"--- cell {i}\n{shown(cell)}" for i, cell in enumerate(notebook.cells))
        raise AssertionError(f"{error}\n{areas}") from None


def shown(cell) -> str:
    """What the cell's output area shows as text (streams, results, errors)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif output.get("output_type") in ("execute_result", "display_data"):
            parts.append(str(output.get("data", {}).get("text/plain", "")))
        elif output.get("output_type") == "error":
            parts.append("\n".join(output.get("traceback", [])))
    return "".join(parts)


def has_widget(cell) -> bool:
    return any("application/vnd.jupyter.widget-view+json" in output.get("data", {}) for output in cell.get("outputs", []))


def assert_clean(text: str, secret: Optional[str] = None) -> None:
    """No cursor movement: no escape sequence, no carriage return that overwrites a line."""
    assert "\x1b[" not in text, text
    assert not re.search(r"\r(?!\n)", text), repr(text)
    if secret:
        assert secret not in text


def submission_files(hub, competition: str, workspace: Path, number: int, api_key: Optional[str] = None) -> Dict[str, str]:
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token_file = workspace / ".crunchdao" / "token"
    if token_file.exists():
        client = hub.client(push_token=token_file.read_text().strip())
    else:
        client = hub.client(api_key=api_key)
    links = client.clone(competition, project["userId"], project["projectName"], number, include_model=False)
    return {path: requests.get(url, timeout=30).content.decode("utf-8", "replace") for path, url in links.items()}


def test_jupyter_timeseries_flow_submits_the_notebook_and_setup_keeps_edits(hub, tmp_path):
    workspace = tmp_path / "work"
    workspace.mkdir()
    marker = f"jupyter-{uuid.uuid4().hex}"
    token = hub.token("demo", "p1")
    cells = [
        f"!crunch --api-base-url {hub.url} setup-notebook demo $SETUP_TOKEN p1",
        "import crunch\ncrunch_tools = crunch.load_notebook(__name__)",
        "crunch_tools = crunch_tools.load_notebook()",
        "X_train, y_train, X_test = crunch_tools.load_data(force=True)\nprint('shapes', X_train.shape, X_test.shape)",
        TIMESERIES_CODE.replace("MARKER", marker),
        "prediction = crunch_tools.test(no_determinism_check=True, raise_abort=True, skip_whitelisted_library_scan=True)\nprint('rows', len(prediction))",
        "!crunch test --no-determinism-check",
        "!crunch push",  # no message: asking would wait forever on a cell's pipe
        "!crunch push -m 'from the pipe'",
        "crunch_tools.submit('from the kernel')",
    ]
    notebook = make_notebook(cells)
    nbformat.write(notebook, workspace / "analysis.ipynb")  # saved, as Jupyter keeps it
    execute(notebook, workspace, kernel_env(hub, tmp_path, SETUP_TOKEN=token))
    setup, _, _, data, _, tested, piped_test, unasked, piped, submitted = (shown(cell) for cell in notebook.cells)

    assert "workspace for demo/p1 is ready" in setup and "crunch_tools.submit(" in setup
    assert "shapes (6000, 12) (1000, 12)" in data
    assert "prediction is valid" in tested and "rows" in tested
    assert "analysis.ipynb: converted for this test" in piped_test and "prediction is valid" in piped_test
    assert "give the submission's message with -m" in unasked
    assert "submission #1 successfully uploaded" in piped and "converted into main.py" in piped
    assert re.search(r"^push: \d+% \(", piped, re.M)  # progress as plain lines in a cell's ! pipe
    assert "submission #2 successfully uploaded" in submitted and "/submissions/2" in submitted
    assert has_widget(notebook.cells[-1])  # a progress widget in the kernel
    for cell in notebook.cells:
        assert_clean(shown(cell), token)

    quickstarter = (workspace / "main.py").read_text()
    assert marker not in quickstarter  # setup's main.py is not the code
    for number in (1, 2):
        files = submission_files(hub, "demo", workspace, number)
        assert marker in files["main.py"] and files["main.py"] != quickstarter
        assert "crunch-cli==" not in files["requirements.txt"] and "crunch" in files["requirements.original.txt"]

    # the notebook is edited after the submission, then setup runs again
    edited = json.loads((workspace / "analysis.ipynb").read_text())
    edited["cells"].append(nbformat.v4.new_code_cell("# EDITED AFTER SUBMITTING"))
    (workspace / "analysis.ipynb").write_text(json.dumps(edited))
    again = hub.run("setup-notebook", "demo", hub.token("demo", "p1"), "p1", "--no-data", cwd=workspace)
    assert again.returncode == 0, again.output
    kept = [p for p in workspace.glob("analysis.local-*.ipynb")]
    assert len(kept) == 1 and "EDITED AFTER SUBMITTING" in kept[0].read_text()
    assert kept[0].name in again.stdout
    assert "EDITED AFTER SUBMITTING" not in (workspace / "analysis.ipynb").read_text()  # the submission's copy


def test_colab_tabular_flow_with_the_api_key_secret(hub, tmp_path):
    workspace = tmp_path / "content"
    (workspace / "sample_data").mkdir(parents=True)
    (workspace / "sample_data" / "mnist_test.csv").write_text("1,2\n")
    (workspace / ".config").mkdir()
    (workspace / ".config" / "active_config").write_text("default\n")
    marker = f"colab-{uuid.uuid4().hex}"
    hub.token("demo-tabular", "p2")  # the project exists; its setup token is never used
    key = hub.api_key("alice")
    cells = [
        f"!crunch --api-base-url {hub.url} setup --notebook demo-tabular p2 --token @api-key",
        "import crunch\n\ncrunch = crunch.load_notebook()",
        "crunch = crunch.load_notebook()",
        "X_train, y_train, X_test = crunch.load_data()\nprint('shapes', X_train.shape, X_test.shape)",
        TABULAR_CODE.replace("MARKER", marker),
        "crunch.test(no_determinism_check=True)",
        "!crunch push -m 'colab pipe'",
        "crunch.submit('colab kernel')",
    ]
    notebook = make_notebook(cells)
    stored = tmp_path / "drive" / "Untitled0.ipynb"  # Colab keeps it off the machine's disk
    stored.parent.mkdir()
    nbformat.write(notebook, stored)
    env = kernel_env(
        hub, tmp_path,
        COLAB_RELEASE_TAG="release-colab-test", PYTHONPATH=str(install_fakes(tmp_path)),
        FAKE_COLAB_NOTEBOOK=str(stored), FAKE_SECRET_CRUNCH_API_KEY=key,
    )
    execute(notebook, workspace, env)
    setup, _, _, data, _, tested, piped, submitted = (shown(cell) for cell in notebook.cells)

    assert "workspace for demo-tabular/p2 is ready" in setup and not (workspace / ".crunchdao" / "token").exists()
    assert "shapes (2000" in data
    assert "prediction is valid" in tested
    assert "submission #1 successfully uploaded" in piped and "the Colab notebook" in piped
    assert "submission #2 successfully uploaded" in submitted
    for cell in notebook.cells:
        assert_clean(shown(cell), key)
    for number in (1, 2):
        files = submission_files(hub, "demo-tabular", workspace, number, api_key=key)
        assert marker in files["main.py"]
        assert not any(path.startswith(("sample_data/", ".config/")) for path in files)


def test_kaggle_timeseries_flow(hub, tmp_path):
    workspace = tmp_path / "working"
    (workspace / ".virtual_documents").mkdir(parents=True)
    (workspace / ".virtual_documents" / "__notebook_source__.ipynb").write_text("{}")
    marker = f"kaggle-{uuid.uuid4().hex}"
    token = hub.token("demo", "p3")
    cells = [
        f"!crunch --api-base-url {hub.url} setup-notebook demo $SETUP_TOKEN p3 --model-directory models",
        "import crunch\ncrunch_tools = crunch.load_notebook()",
        "X_train, y_train, X_test = crunch_tools.load_data()",
        TIMESERIES_CODE.replace("MARKER", marker),
        "crunch_tools.test()",
        "!crunch push -m 'kaggle pipe'",
        "crunch.submit('kaggle kernel')",
    ]
    notebook = make_notebook(cells)
    source = tmp_path / "kaggle" / "__notebook__.ipynb"
    source.parent.mkdir()
    nbformat.write(notebook, source)
    env = kernel_env(
        hub, tmp_path,
        KAGGLE_KERNEL_RUN_TYPE="Interactive", PYTHONPATH=str(install_fakes(tmp_path)), FAKE_KAGGLE_NOTEBOOK=str(source),
        SETUP_TOKEN=token,
    )
    execute(notebook, workspace, env)
    outputs = [shown(cell) for cell in notebook.cells]

    assert "workspace for demo/p3 is ready" in outputs[0]
    assert json.loads((workspace / ".crunchdao" / "project.json").read_text())["modelDirectory"] == "models"
    assert "prediction is valid" in outputs[4]
    assert "submission #1 successfully uploaded" in outputs[5] and "the Kaggle notebook" in outputs[5]
    assert "submission #2 successfully uploaded" in outputs[6]
    for text in outputs:
        assert_clean(text, token)
    for number in (1, 2):
        files = submission_files(hub, "demo", workspace, number)
        assert marker in files["main.py"]
        assert not any(path.startswith(".virtual_documents/") for path in files)
