"""``--main-file`` as ``crunch test`` and ``crunch push`` both read it."""

from __future__ import annotations

import pytest

from crunch.code.mainfile import resolve
from crunch.exceptions import ConfigurationError


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    return path


def test_the_script_itself(root):
    touch(root / "main.py")
    main = resolve(root)
    assert (main.script, main.notebook, main.exists) == ("main.py", None, True)


def test_a_missing_script_comes_from_main_ipynb(root):
    notebook = touch(root / "main.ipynb")
    main = resolve(root, "main.py")
    assert (main.script, main.notebook, main.exists) == ("main.py", notebook, False)


def test_a_notebook_stands_for_the_script_of_its_name(root):
    notebook = touch(root / "work" / "analysis.ipynb")
    main = resolve(root, "work/analysis.ipynb")
    assert (main.script, main.notebook) == ("work/analysis.py", notebook)


def test_the_notebook_beside_a_missing_script_comes_first(root):
    touch(root / "main.ipynb")
    beside = touch(root / "entry.ipynb")
    assert resolve(root, "entry.py").notebook == beside


def test_nothing_there(root):
    main = resolve(root, "nope.py")
    assert (main.script, main.notebook, main.exists) == ("nope.py", None, False)


def test_relative_to_the_current_folder_then_to_the_root(root, monkeypatch):
    touch(root / "sub" / "entry.py")
    touch(root / "main.py")
    monkeypatch.chdir(root / "sub")
    assert resolve(root, "entry.py").script == "sub/entry.py"
    assert resolve(root, "main.py").script == "main.py"  # not in sub/: the root's
    assert resolve(root, str(root / "sub" / "entry.py")).script == "sub/entry.py"


def test_without_a_main_file_it_is_the_root_main_py_wherever_one_stands(root, monkeypatch):
    touch(root / "main.py")
    touch(root / "sub" / "main.py")
    monkeypatch.chdir(root / "sub")
    assert resolve(root).script == "main.py"
    assert resolve(root, None).path == root / "main.py"
    assert resolve(root, "main.py").script == "sub/main.py"  # named: from where one stands


@pytest.mark.parametrize("value", ["../main.py", "/etc/passwd", "sub/../../x.py"])
def test_outside_the_workspace_is_refused(root, value):
    with pytest.raises(ConfigurationError, match="must be inside the workspace"):
        resolve(root, value)


# -- files a killed run left -------------------------------------------------------------------


def _dead_pid() -> int:
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_files_of_a_killed_run_are_removed_before_resolving(root):
    import json

    from crunch.project.leftovers import record, sweep

    (root / ".crunchdao").mkdir(exist_ok=True)
    touch(root / "main.ipynb")
    (root / "main.py").write_text("converted\n")
    (root / "extra.txt").write_text("embedded\n")
    record(root, [root / "main.py", root / "extra.txt"])
    [path] = list((root / ".crunchdao").glob("temporary-*.json"))
    assert sweep(root) == []  # this process is alive: its files are its own
    data = json.loads(path.read_text())
    data["pid"] = _dead_pid()
    path.unlink()
    (root / ".crunchdao" / f"temporary-{data['pid']}.json").write_text(json.dumps(data))
    (root / "extra.txt").write_text("edited by the person since\n")
    main = resolve(root)
    assert main.removed == ("main.py",) and main.notebook == root / "main.ipynb"
    assert not (root / "main.py").exists()
    assert (root / "extra.txt").read_text() == "edited by the person since\n"  # theirs now: kept
    assert not list((root / ".crunchdao").glob("temporary-*.json"))


# -- notebook workspaces: the notebook is the code ---------------------------------------------


def notebook_workspace(root, notebook=True):
    import json

    (root / ".crunchdao").mkdir(exist_ok=True)
    (root / ".crunchdao" / "project.json").write_text(json.dumps({"competitionName": "demo", "projectName": "p", "userId": 1, "notebook": notebook}))
    return root


def save_notebook(path, source="x = 1"):
    import nbformat

    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


@pytest.fixture
def plain(monkeypatch):
    import sys

    for name in ("JPY_SESSION_NAME", "COLAB_GPU", "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_URL_BASE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("google.colab", "kaggle_session", "IPython"):
        monkeypatch.delitem(sys.modules, name, raising=False)


def test_in_a_notebook_workspace_the_notebook_is_the_code_not_main_py(root, plain):
    from crunch.code.mainfile import locate

    notebook_workspace(root)
    touch(root / "main.py")  # what setup wrote: not the code
    notebook = save_notebook(root / "analysis.ipynb", "def marker(): return 1")
    save_notebook(root / "analysis.local-20260101-120000.ipynb")  # a copy setup moved aside
    main = locate(root)
    assert (main.script, main.notebook, main.source.origin) == ("main.py", notebook, "analysis.ipynb")
    assert "marker" in str(main.source.content["cells"][0]["source"])


def test_the_notebook_the_platform_names_wins(root, plain, monkeypatch):
    from crunch.code.mainfile import locate

    notebook_workspace(root)
    save_notebook(root / "a.ipynb")
    chosen = save_notebook(root / "b.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(chosen))
    assert locate(root).source.path == chosen


@pytest.mark.parametrize("names", [(), ("a.ipynb", "b.ipynb")])
def test_no_notebook_or_several_say_how_to_fix_it(root, plain, names):
    from crunch.code.mainfile import locate

    notebook_workspace(root)
    touch(root / "main.py")
    for name in names:
        save_notebook(root / name)
    with pytest.raises(ConfigurationError) as info:
        locate(root)
    message = str(info.value)
    assert "--main-file NAME.ipynb" in message and "download the notebook (.ipynb) into the workspace" in message
    assert ("no notebook" in message) if not names else ("a.ipynb, b.ipynb" in message)


def test_main_file_given_and_other_workspaces_read_as_before(root, plain):
    from crunch.code.mainfile import locate

    notebook_workspace(root)
    save_notebook(root / "a.ipynb")
    chosen = save_notebook(root / "b.ipynb")
    main = locate(root, "b.ipynb")
    assert (main.script, main.source.path) == ("b.py", chosen)
    notebook_workspace(root, notebook=False)
    touch(root / "main.py")
    assert locate(root).source is None and locate(root).script == "main.py"


def test_in_a_colab_pipe_without_the_notebook_the_kernel_is_suggested(root, plain, monkeypatch):
    from crunch.code.mainfile import locate

    notebook_workspace(root)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-test")  # google.colab cannot be imported here
    with pytest.raises(ConfigurationError) as info:
        locate(root)
    message = str(info.value)
    assert "Colab's kernel messaging cannot be imported" in message
    assert 'crunch.load_notebook().submit("message") in a cell: the kernel reads the notebook from Colab' in message
