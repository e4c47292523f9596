"""``--main-file`` as ``crunch test`` and ``crunch push`` both read it."""

from __future__ import annotations

import pytest

from crunch.exceptions import ConfigurationError
from crunch.mainfile import resolve


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

    from crunch.leftovers import record, sweep

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
