"""Which platform crunch runs on (crunch/core/platforms.py), and what follows: progress display,
files left out of a push, secrets behind ``--token @api-key``, the notebook a platform holds."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import types

import pytest

from crunch.core import platforms
from crunch.core.console import Console, LineBar, NullBar
from crunch.core.secrets import redact
from crunch.exceptions import ConfigurationError

PIPE = {"PAGER": "cat", "CLICOLOR": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline", "TERM": "xterm-color"}


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_machine(monkeypatch):
    """No platform of the machine running the tests leaks into these."""
    for name in ("google.colab", "google.colab.userdata", "google.colab._message", "kaggle_secrets", "kaggle_session", "IPython"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for name in list(__import__("os").environ):
        if name.startswith(("COLAB_", "KAGGLE_", "VSCODE_", "JPY_")) or name in ("PAGER", "CLICOLOR", "MPLBACKEND"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}, "kaggle"),
        ({"KAGGLE_KERNEL_RUN_TYPE": "Interactive", "COLAB_GPU": "0"}, "kaggle"),
        ({"COLAB_GPU": "0"}, "colab"),
        ({"COLAB_RELEASE_TAG": "release-colab-20250101"}, "colab"),
        ({"VSCODE_PID": "123", "JPY_PARENT_PID": "1"}, "vscode"),
        ({"JPY_SESSION_NAME": "/home/me/analysis.ipynb"}, "jupyter"),
        ({}, None),
    ],
)
def test_platform_markers(environ, name):
    assert platforms.platform_name(environ) == name


def test_colab_from_its_imported_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert platforms.platform_name({}) == "colab"


def started(*arguments: str) -> subprocess.Popen:
    """A process whose command line holds ``arguments``, once it runs (not while it forks)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)", *arguments], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_jupyterlab_is_told_from_the_server_that_started_the_kernel():
    for arguments, name in ((("jupyter-lab", "--no-browser"), "jupyterlab"), (("jupyter-notebook",), "jupyter")):
        server = started(*arguments)
        try:
            assert platforms.platform_name({"JPY_PARENT_PID": str(server.pid)}) == name
        finally:
            server.kill()
            server.wait()


def fake_ipython(monkeypatch, class_name: str = "ZMQInteractiveShell", namespace=None):
    base = type(class_name, (), {})
    shell = type("Shell", (base,), {})()  # Colab's shell derives from ipykernel's
    shell.user_ns = namespace or {}
    module = types.ModuleType("IPython")
    module.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", module)


def test_a_kernel_is_a_zmq_shell_but_not_a_qt_console(monkeypatch):
    assert not platforms.in_kernel({})
    fake_ipython(monkeypatch)
    assert platforms.in_kernel({})
    assert not platforms.in_kernel({"QT_API": "pyqt5"}) and not platforms.in_kernel({"SPYDER_ARGS": "[]"})
    fake_ipython(monkeypatch, "TerminalInteractiveShell")
    assert not platforms.in_kernel({})


def test_vscode_from_the_kernels_namespace(monkeypatch):
    fake_ipython(monkeypatch, namespace={"__vsc_ipynb_file__": "/notebooks/a.ipynb"})
    assert platforms.platform_name({}) == "vscode"
    assert platforms.notebook_path_hint({}) == "/notebooks/a.ipynb"
    assert platforms.notebook_path_hint({"JPY_SESSION_NAME": "/x/b.ipynb"}) == "/notebooks/a.ipynb"


def test_the_pipe_of_a_cell_is_not_a_terminal_though_it_is_a_pty():
    assert platforms.under_kernel_pipe(PIPE)
    assert platforms.under_kernel_pipe({"PAGER": "cat", "CLICOLOR": "1", "COLAB_RELEASE_TAG": "x"})
    assert not platforms.under_kernel_pipe({"PAGER": "cat", "CLICOLOR": "1"})  # a terminal someone configured so
    assert not platforms.under_kernel_pipe({"TERM": "xterm-256color", "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
    assert platforms.detect(PIPE, stream=Tty()).progress == "lines"
    assert platforms.detect({}, stream=Tty()).progress == "bar"
    assert platforms.detect({}, stream=io.StringIO()).progress == "none"


def test_the_console_draws_plain_lines_in_a_pipe(monkeypatch):
    for name, value in PIPE.items():
        monkeypatch.setenv(name, value)
    err = Tty()
    bar = Console(err=err).progress(total=1000, desc="data/X.parquet")
    assert isinstance(bar, LineBar)
    for _ in range(100):
        bar.update(5)  # half of it, in small steps
    bar.close()
    lines = err.getvalue().splitlines()
    assert lines == [f"data/X.parquet: {p}% ({p * 10} B of 1000 B)" for p in (10, 20, 30, 40, 50)] + ["data/X.parquet: 50% (500 B of 1000 B)"]
    assert "\r" not in err.getvalue() and "\x1b" not in err.getvalue()
    assert isinstance(Console(quiet=True, err=Tty()).progress(total=1), NullBar)


def test_plain_lines_every_few_seconds_when_the_total_is_unknown():
    err = io.StringIO()
    bar = LineBar(None, desc="push", unit="B", stream=err)
    now = [0.0]
    bar._clock = lambda: now[0]
    bar._last_time = 0.0
    bar.update(10)
    now[0] = 6.0
    bar.update(10)
    bar.close()
    assert err.getvalue().splitlines() == ["push: 20 B", "push: 20 B"]


def test_a_whole_transfer_ends_without_a_repeated_line():
    err = io.StringIO()
    bar = LineBar(100, desc="main.py", stream=err)
    bar.update(100)
    bar.close()
    assert err.getvalue() == ""


def fake_module(monkeypatch, name: str, **attributes):
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def fake_colab(monkeypatch, get):
    userdata = fake_module(monkeypatch, "google.colab.userdata", get=get)
    fake_module(monkeypatch, "google", __path__=[])
    fake_module(monkeypatch, "google.colab", userdata=userdata, __path__=[])


def test_a_secret_from_the_variable_first_then_colab(monkeypatch):
    fake_colab(monkeypatch, lambda name: {"CRUNCH_API_KEY": "from-colab"}[name])
    assert platforms.secret("CRUNCH_API_KEY", {"CRUNCH_API_KEY": "from-env"}) == "from-env"
    assert platforms.secret("CRUNCH_API_KEY", {"COLAB_GPU": "0"}) == "from-colab"


def test_colab_refusing_the_secret_says_what_to_do(monkeypatch):
    NotebookAccessError = type("NotebookAccessError", (Exception,), {})
    SecretNotFoundError = type("SecretNotFoundError", (Exception,), {})

    def refused(name):
        raise NotebookAccessError(name)

    fake_colab(monkeypatch, refused)
    with pytest.raises(ConfigurationError, match=r"give it access in Secrets \(the key icon"):
        platforms.secret("CRUNCH_API_KEY", {"COLAB_GPU": "0"})

    def missing(name):
        raise SecretNotFoundError(name)

    fake_colab(monkeypatch, missing)
    assert platforms.secret("CRUNCH_API_KEY", {"COLAB_GPU": "0"}) is None


def test_a_secret_from_kaggle(monkeypatch):
    class Client:
        def get_secret(self, label):
            if label != "CRUNCH_API_KEY":
                raise Exception("No user secrets exist")
            return "from-kaggle"

    fake_module(monkeypatch, "kaggle_secrets", UserSecretsClient=Client)
    environ = {"KAGGLE_KERNEL_RUN_TYPE": "Interactive"}
    assert platforms.secret("CRUNCH_API_KEY", environ) == "from-kaggle"
    with pytest.raises(ConfigurationError, match="Add-ons > Secrets"):
        platforms.secret("OTHER", environ)
    assert platforms.secret("CRUNCH_API_KEY", {}) is None  # not on Kaggle: not asked


def test_settings_take_the_key_from_the_platform_only_when_asked(monkeypatch):
    from crunch.project.settings import Settings

    calls = []
    fake_colab(monkeypatch, lambda name: calls.append(name) or "colab-key-0123456789")
    monkeypatch.setenv("COLAB_RELEASE_TAG", "x")
    settings = Settings.resolve(environ={})
    assert settings.api_key is None and calls == []
    assert settings.with_api_key().api_key == "colab-key-0123456789" and calls == ["CRUNCH_API_KEY"]
    assert "colab-key-0123456789" not in redact("key colab-key-0123456789")


def test_the_messages_about_api_key_are_not_masked():
    text = "--token @api-key needs your API key in " + platforms.secret_sources("CRUNCH_API_KEY", {"COLAB_GPU": "0"})
    assert redact(text) == text and "Colab's Secrets" in text
    assert redact("Authorization: API-Key abc123") == "Authorization: API-Key ***"


def test_colab_and_kaggle_give_the_open_notebook(monkeypatch):
    notebook = {"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": [], "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    message = fake_module(monkeypatch, "google.colab._message", blocking_request=lambda kind, request="", timeout_sec=5: {"ipynb": notebook})
    fake_module(monkeypatch, "google", __path__=[])
    fake_module(monkeypatch, "google.colab", _message=message, __path__=[])
    assert platforms.platform_notebook({"COLAB_GPU": "0"}) == notebook
    message.blocking_request = lambda kind, request="", timeout_sec=5: {"error": {"type": "NotFound"}}
    with pytest.raises(platforms.NotebookUnavailable, match="Colab refused"):
        platforms.platform_notebook({"COLAB_GPU": "0"})

    class Session:
        def get_exportable_ipynb(self):
            return {"sourceNullable": json.dumps(notebook)}

    fake_module(monkeypatch, "kaggle_session", UserSessionClient=Session)
    assert platforms.platform_notebook({"KAGGLE_KERNEL_RUN_TYPE": "Batch"}) == notebook
    monkeypatch.delitem(sys.modules, "google.colab")
    assert platforms.platform_notebook({}) is None  # Jupyter, VS Code: the notebook is on disk


def test_platform_folders_are_never_pushed(tmp_path, monkeypatch):
    from crunch.code.files import list_code_files

    for path in ("main.py", ".virtual_documents/a.ipynb", "sample_data/x.csv", ".config/c.json"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    names = lambda: sorted(f.path for f in list_code_files(tmp_path, "resources"))  # noqa: E731
    assert names() == [".config/c.json", "main.py", "sample_data/x.csv"]
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert names() == [".config/c.json", "main.py", "sample_data/x.csv"]
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE")
    monkeypatch.setenv("COLAB_GPU", "0")
    assert names() == ["main.py"]
    assert re.match(r"^Colab$", platforms.Platform(name="colab").display_name)


def test_a_kernel_gets_a_widget_or_plain_lines_without_ipywidgets(monkeypatch):
    import crunch.core.console as console_module

    fake_ipython(monkeypatch)
    assert platforms.detect({}, stream=io.StringIO()).progress == "widget"
    monkeypatch.setattr(console_module, "_widgets", lambda: False)
    err = io.StringIO()
    bar = Console(err=err).progress(total=10, desc="moons", unit="moon")
    assert isinstance(bar, LineBar)
    bar.update(5)
    bar.close()
    assert err.getvalue().splitlines() == ["moons: 50% (5/10 moon)", "moons: 50% (5/10 moon)"]


def test_no_question_is_asked_in_a_cells_pipe(monkeypatch):
    monkeypatch.setattr(sys, "stdin", Tty())
    assert platforms.can_ask({})
    assert not platforms.can_ask(PIPE)  # Jupyter never forwards input to `!` commands
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    assert not platforms.can_ask({})
