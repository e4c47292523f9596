"""`crunch demo` and the examples/ folder, against the local hub, through the installed executable."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from conftest import Hub, run_crunch

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_demo_runs_the_whole_flow_and_leaves_a_working_workspace(tmp_path):
    started = time.monotonic()
    result = run_crunch("demo", "crunch-demo", cwd=tmp_path, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.output
    assert elapsed < 60
    out = result.stdout
    for step in ("$ crunch setup demo my-project --token ********", "$ cd crunch-demo && crunch test", '$ crunch push -m "demo"'):
        assert step in out
    assert out.index("crunch setup") < out.index("prediction is valid") < out.index("submission #1 successfully uploaded")
    assert "crunch hub serve" in out
    workspace = tmp_path / "crunch-demo"
    assert (workspace / ".crunchdao" / "project.json").is_file()
    # the hub is gone: crunch test runs again from the workspace alone
    again = run_crunch("test", cwd=workspace, timeout=120)
    assert again.returncode == 0, again.output
    assert "prediction is valid" in again.stdout
    # the hub's data stayed in the workspace, which points at the local hub's usual address
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    assert project["apiBaseUrl"] == "http://127.0.0.1:8000/"
    assert (workspace / ".crunch-hub" / "hub.sqlite3").is_file()
    assert "crunch hub serve" in out and 'crunch push -m "again"' in out
    # served again (on a free port here), it takes the next push with the same token
    hub = Hub(workspace / ".crunch-hub")
    try:
        pushed = run_crunch("--api-base-url", hub.url, "push", "-m", "again", cwd=workspace, timeout=120)
        assert pushed.returncode == 0, pushed.output
        assert "submission #2 successfully uploaded" in pushed.stdout
        assert "uploaded .crunch-hub/" not in pushed.stdout  # the hub's own files are never sent
    finally:
        hub.stop()


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "crunch-demo").mkdir()
    (tmp_path / "crunch-demo" / "mine.txt").write_text("keep me")
    result = run_crunch("demo", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "not empty" in result.stderr
    assert (tmp_path / "crunch-demo" / "mine.txt").read_text() == "keep me"


def _workspace(hub, tmp_path: Path, project: str) -> Path:
    token = hub.token("demo", project, user="ex")
    workspace = tmp_path / project
    result = hub.run("setup", "demo", project, str(workspace), "--token", token, "--submission", "scratch")
    assert result.returncode == 0, result.output
    return workspace


def test_quickstart_example_tests_and_pushes(shared_hub, tmp_path):
    workspace = _workspace(shared_hub, tmp_path, "example-script")
    for name in ("main.py", "requirements.txt"):
        shutil.copy(EXAMPLES / "quickstart" / name, workspace / name)
    tested = run_crunch("test", cwd=workspace, timeout=120)
    assert tested.returncode == 0, tested.output
    assert "prediction is valid" in tested.stdout
    assert (workspace / "resources" / "ridge.npz").is_file()
    pushed = run_crunch("push", "-m", "ridge", cwd=workspace, timeout=120)
    assert pushed.returncode == 0, pushed.output
    assert "successfully uploaded" in pushed.stdout
    assert "resources/ridge.npz" in pushed.stdout or "model file" in pushed.stdout


def test_notebook_example_runs_converts_and_pushes(shared_hub, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    workspace = _workspace(shared_hub, tmp_path, "example-notebook")
    (workspace / "main.py").unlink()
    (workspace / "requirements.txt").unlink()  # a notebook workspace: requirements come from the notebook
    shutil.copy(EXAMPLES / "notebook" / "quickstart.ipynb", workspace / "main.ipynb")

    # run it as a person would, cell by cell, in a kernel whose cwd is the workspace
    notebook = nbformat.read(workspace / "main.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workspace)}})
    client.execute()
    outputs = "".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "prediction is valid" in outputs
    assert (workspace / "resources" / "ridge.npz").is_file()

    converted = run_crunch("convert", "main.ipynb", "script.py", "--requirements", "--embedded-files", cwd=workspace)
    assert converted.returncode == 0, converted.output
    script = (workspace / "script.py").read_text()
    assert "ALPHA = 1.0" in script and "#print(" in script and "def train(" in script
    assert "#X_train, y_train, X_test = crunch_tools.load_data()" in script
    assert (workspace / "NOTES.md").read_text().startswith("# Notes")
    requirements = (workspace / "requirements.txt").read_text()
    assert "numpy>=1.21" in requirements.replace(" ", "")
    (workspace / "script.py").unlink()
    (workspace / "NOTES.md").unlink()
    (workspace / "requirements.txt").unlink()

    # push converts main.ipynb on the fly and removes what it wrote
    before = sorted(p.name for p in workspace.iterdir())
    pushed = run_crunch("push", "-m", "notebook", cwd=workspace, timeout=120)
    assert pushed.returncode == 0, pushed.output
    assert sorted(p.name for p in workspace.iterdir()) == before
