"""Bad and big inputs, temporary_script, and the `crunch convert` command (in process and e2e)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from convert_helpers import code, dumps, markdown, notebook

from crunch.convert import convert_notebook, temporary_script
from crunch.core.console import Console
from crunch.exceptions import ConversionError, CrunchError
from crunch.project.settings import Settings

CRUNCH = str(Path(sys.executable).with_name("crunch"))


# -- what a notebook can be -------------------------------------------------------------------


def test_a_path_a_json_string_bytes_or_a_dict(tmp_path):
    path = tmp_path / "n.ipynb"
    path.write_text(dumps("import os"))
    for value in (path, str(path), dumps("import os"), dumps("import os").encode(), notebook("import os")):
        assert convert_notebook(value, whitelist=[]).script == "import os\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "invalid JSON at line 1"),
        (b"", "invalid JSON"),
        (bytes(range(256)) * 4, "not a notebook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not a notebook"),
        (b"[1, 2]", "not an object"),
        (b'{"metadata": {}}', "no `cells` list"),
        (b'{"nbformat": 3, "worksheets": [{"cells": []}]}', "nbformat 3"),
        (b'{"worksheets": []}', "nbformat 3"),
        (b'{"nbformat": "four", "cells": []}', "nbformat"),
        (b'{"nbformat": 4, "cells": [1]}', "cell 0"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 5, "metadata": {}}]}', "cell 0"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": ["a", 5], "metadata": {}}]}', "cell 0"),
        (b"[" * 100000, "not a notebook"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(ConversionError) as caught:
        convert_notebook(path, whitelist=[])
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConversionError, match="no such notebook"):
        convert_notebook(tmp_path / "missing.ipynb")
    with pytest.raises(ConversionError, match="folder"):
        convert_notebook(tmp_path)


def test_ten_thousand_cells():
    cells = [f"import m{i % 7}\nx_{i} = {i}" for i in range(10_000)]
    conversion = convert_notebook(notebook(*cells), whitelist=[], freeze=False)
    assert conversion.script.count("\n") == 10_000 * 2 + 9_999 * 2
    assert len(conversion.requirements) == 7


def test_a_50_mb_output_cell_is_not_an_obstacle(tmp_path):
    cell = code("import os\nprint('x' * 50_000_000)")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["x" * 50_000_000]}]
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(notebook(cell)))
    assert path.stat().st_size > 50_000_000
    assert convert_notebook(path, whitelist=[]).script == "import os\n#print('x' * 50_000_000)\n"


def test_only_conversion_errors_escape_for_odd_cells():
    odd = ["\x00", "x = '\ud800'", "(" * 500 + ")" * 500, "\\", "if True:\n\tx = 1\n        y = 2", "def f():\nreturn 1"]
    for source in odd:
        try:
            convert_notebook(notebook(source), whitelist=[])
        except ConversionError as error:
            assert "\n" not in str(error)


# -- temporary_script -------------------------------------------------------------------------


def write_notebook(folder: Path, *cells) -> Path:
    path = folder / "main.ipynb"
    path.write_text(dumps(*cells))
    return path


def test_temporary_script_writes_then_removes_exactly_what_it_made(tmp_path):
    write_notebook(tmp_path, "import requests", markdown("---\nfile: conf/settings.yml\n---\na: 1"), markdown("---\nfile: kept.txt\n---\nnew"))
    (tmp_path / "kept.txt").write_text("mine")
    with temporary_script(tmp_path, "main.ipynb", whitelist=[], freeze=False) as (conversion, created):
        assert (tmp_path / "main.py").read_text() == "import requests\n"
        assert (tmp_path / "requirements.txt").read_text() == "requests\n"
        assert (tmp_path / "conf" / "settings.yml").read_text() == "a: 1"
        assert (tmp_path / "kept.txt").read_text() == "mine"
        assert sorted(p.name for p in created) == ["main.py", "requirements.txt", "settings.yml"]
        assert conversion.embedded_files["kept.txt"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "main.ipynb"]


def test_temporary_script_keeps_the_persons_requirements_and_cleans_up_on_error(tmp_path):
    notebook_path = write_notebook(tmp_path, "import requests")
    (tmp_path / "requirements.txt").write_text("requests==1.0\n")
    with pytest.raises(RuntimeError):
        with temporary_script(tmp_path, notebook_path, main_file="entry.py") as (_, created):
            assert created == [tmp_path / "entry.py"]
            raise RuntimeError("boom")
    assert not (tmp_path / "entry.py").exists()
    assert (tmp_path / "requirements.txt").read_text() == "requests==1.0\n"


def test_temporary_script_refuses_an_existing_main_file_and_bad_notebooks(tmp_path):
    write_notebook(tmp_path, "import os")
    (tmp_path / "main.py").write_text("mine")
    with pytest.raises(ConversionError, match="already exists"):
        with temporary_script(tmp_path, "main.ipynb"):
            pass
    assert (tmp_path / "main.py").read_text() == "mine"
    (tmp_path / "main.py").unlink()
    write_notebook(tmp_path, "def f(:")
    with pytest.raises(ConversionError):
        with temporary_script(tmp_path, "main.ipynb"):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.ipynb"]


# -- the command, in process ------------------------------------------------------------------


def run_command(tmp_path, monkeypatch, **options):
    from crunch.commands import convert as command

    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    settings = Settings.resolve(environ={"API_BASE_URL": "http://127.0.0.1:9/"})
    options.setdefault("script", "main.py")
    defaults = {"overwrite": False, "requirements": False, "embedded_files": False, "no_freeze": False, "verbose": False}
    command.run(settings=settings, console=Console(stream=out, err=err), **{**defaults, **options})
    return out.getvalue(), err.getvalue()


def test_command_writes_script_requirements_and_embedded_files(tmp_path, monkeypatch):
    write_notebook(tmp_path, "import requests # == 2.0\ntry:\n    import x\nexcept ImportError:\n    pass", markdown("---\nfile: docs/a.md\n---\nhello"))
    out, err = run_command(tmp_path, monkeypatch, notebook="main.ipynb", requirements=True, embedded_files=True, verbose=True)
    assert (tmp_path / "main.py").read_text().startswith("import requests # == 2.0\n#try:")
    assert (tmp_path / "requirements.txt").read_text() == "requests==2.0\n"
    assert (tmp_path / "docs" / "a.md").read_text() == "hello"
    assert "cell 0 (id c0, code): converted" in out
    assert "warning: cell 0 (id c0), line 2: found 1 nested import in Try statement" in err
    assert "not inside a crunch workspace" in err


def test_command_refuses_an_existing_script_when_not_interactive(tmp_path, monkeypatch):
    write_notebook(tmp_path, "import os")
    (tmp_path / "main.py").write_text("mine")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(ConversionError, match="--overwrite"):
        run_command(tmp_path, monkeypatch, notebook="main.ipynb")
    assert (tmp_path / "main.py").read_text() == "mine"
    run_command(tmp_path, monkeypatch, notebook="main.ipynb", overwrite=True)
    assert (tmp_path / "main.py").read_text() == "import os\n"


def test_command_asks_when_interactive(tmp_path, monkeypatch):
    import click

    write_notebook(tmp_path, "import os")
    (tmp_path / "main.py").write_text("mine")
    monkeypatch.setattr("crunch.commands.convert._interactive", lambda: True)
    monkeypatch.setattr(click, "confirm", lambda *a, **k: False)
    with pytest.raises(CrunchError) as caught:
        run_command(tmp_path, monkeypatch, notebook="main.ipynb")
    assert caught.value.exit_code == 0
    assert (tmp_path / "main.py").read_text() == "mine"
    monkeypatch.setattr(click, "confirm", lambda *a, **k: True)
    run_command(tmp_path, monkeypatch, notebook="main.ipynb")
    assert (tmp_path / "main.py").read_text() == "import os\n"


def test_command_writes_nothing_when_anything_fails(tmp_path, monkeypatch):
    write_notebook(tmp_path, "import os", markdown("---\nfile: a.md\n---\nx"), markdown("---\nfile: A.md\n---\ny"))
    with pytest.raises(ConversionError):
        run_command(tmp_path, monkeypatch, notebook="main.ipynb", requirements=True, embedded_files=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.ipynb"]


def test_command_in_a_workspace_uses_the_cached_whitelist_when_the_hub_is_down(tmp_path, monkeypatch):
    dot = tmp_path / ".crunchdao"
    dot.mkdir()
    (dot / "project.json").write_text(json.dumps({"competitionName": "c", "projectName": "p", "userId": 1, "apiBaseUrl": "http://127.0.0.1:9/"}))
    (dot / "libraries.json").write_text(json.dumps([{"name": "scikit-learn", "aliases": ["sklearn"], "standard": False, "language": "PYTHON"}]))
    write_notebook(tmp_path, "import sklearn")
    out, err = run_command(tmp_path, monkeypatch, notebook="main.ipynb", requirements=True, no_freeze=True)
    assert (tmp_path / "requirements.txt").read_text() == "scikit-learn\n"
    assert "installed distributions" not in err


# -- end to end, through the installed executable ---------------------------------------------


def crunch(*args, cwd):
    env = {**os.environ, "API_BASE_URL": "http://127.0.0.1:9/"}
    return subprocess.run([CRUNCH, *args], cwd=cwd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)


@pytest.mark.e2e
def test_e2e_convert(tmp_path):
    write_notebook(tmp_path, "x = 1\ndef f():\n    return x", "%time f()\nimport os  # == 1.0")
    done = crunch("convert", "main.ipynb", "--requirements", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "main.py").read_text() == "#x = 1\ndef f():\n    return x\n\n\n#%time f()\nimport os  # == 1.0\n"
    assert (tmp_path / "requirements.txt").read_text() == ""
    again = crunch("convert", "main.ipynb", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == ["error: main.py already exists: add --overwrite to replace it"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "content",
    [b"{oops", b'{"nbformat": 3, "worksheets": []}', os.urandom(2048), dumps("import os", "def f(:").encode(), dumps(markdown("---\nfile: ../x\n---\ny")).encode()],
)
def test_e2e_bad_notebooks_one_error_line_exit_1_no_file(tmp_path, content):
    (tmp_path / "nb.ipynb").write_bytes(content)
    done = crunch("convert", "nb.ipynb", "out.py", "--requirements", "--embedded-files", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]


def test_whitelist_comes_from_the_hub_and_is_cached(tmp_path, monkeypatch):
    import requests_mock

    from crunch.commands.convert import _whitelist

    dot = tmp_path / ".crunchdao"
    dot.mkdir()
    (dot / "project.json").write_text(json.dumps({"competitionName": "c", "projectName": "p", "userId": 1, "apiBaseUrl": "http://hub.test/"}))
    settings = Settings.resolve(environ={})
    with requests_mock.Mocker() as mocker:
        mocker.get("http://hub.test/v2/libraries", json={"content": [{"name": "scikit-learn", "aliases": ["sklearn"], "standard": False, "language": "PYTHON"}]})
        libraries, reason = _whitelist(settings, tmp_path)
    assert reason is None and [lib.name for lib in libraries] == ["scikit-learn"]
    assert json.loads((dot / "libraries.json").read_text())[0]["name"] == "scikit-learn"
    with requests_mock.Mocker() as mocker:
        mocker.get("http://hub.test/v2/libraries", status_code=503)
        libraries, reason = _whitelist(settings, tmp_path)
    assert reason is None and [lib.name for lib in libraries] == ["scikit-learn"]  # the cache
    (dot / "libraries.json").unlink()
    with requests_mock.Mocker() as mocker:
        mocker.get("http://hub.test/v2/libraries", exc=__import__("requests").ConnectionError("down"))
        libraries, reason = _whitelist(settings, tmp_path)
    assert libraries is None and "unreachable" in reason


def test_command_never_writes_over_the_notebook_or_one_output_twice(tmp_path, monkeypatch):
    write_notebook(tmp_path, "import os", markdown("---\nfile: main.py\n---\nclash"))
    with pytest.raises(ConversionError, match="the notebook"):
        run_command(tmp_path, monkeypatch, notebook="main.ipynb", script="main.ipynb", overwrite=True)
    with pytest.raises(ConversionError, match="twice"):
        run_command(tmp_path, monkeypatch, notebook="main.ipynb", embedded_files=True, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.ipynb"]
