"""Which platform crunch runs on: a notebook kernel (Jupyter, JupyterLab, VS Code, Colab,
Kaggle), the ``!crunch ...`` pipe of a notebook cell, a terminal, or none of them.

One answer for the progress display (a widget in a kernel, plain lines in a ``!`` pipe, bars
in a terminal, nothing otherwise), the files a push leaves out (Colab's ``sample_data/`` and
``.config/``, Kaggle's ``.virtual_documents/``), the secrets behind ``--token @api-key`` and
where a notebook is found when it is not on disk.

The markers are those the platforms set and the public client and tqdm read:

- Kaggle: ``KAGGLE_KERNEL_RUN_TYPE`` (also ``KAGGLE_URL_BASE``);
- Colab: ``COLAB_GPU`` or ``COLAB_RELEASE_TAG``, or ``google.colab`` imported;
- VS Code: ``VSCODE_PID``/``VSCODE_CWD``, or ``__vsc_ipynb_file__`` in the kernel's namespace;
- Jupyter and JupyterLab: ``JPY_PARENT_PID``/``JPY_SESSION_NAME`` (the server's process tells
  which one, on Linux);
- a kernel: IPython's shell is a ``ZMQInteractiveShell`` (Colab's shell derives from it), not
  a Qt console or Spyder (``QT_API``, ``SPYDER*``), as tqdm decides;
- the ``!`` pipe of a cell: a child of a kernel, which sets ``PAGER=cat`` and ``CLICOLOR=1``
  for its commands, with the inline plotting backend or one of the platform markers. The
  pipe is a pseudo-terminal, so ``isatty()`` alone cannot tell it from a terminal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

COLAB = "colab"
KAGGLE = "kaggle"
VSCODE = "vscode"
JUPYTERLAB = "jupyterlab"
JUPYTER = "jupyter"

DISPLAY_NAMES = {COLAB: "Colab", KAGGLE: "Kaggle", VSCODE: "VS Code", JUPYTERLAB: "JupyterLab", JUPYTER: "Jupyter"}

KAGGLE_MARKERS = ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_URL_BASE")
COLAB_MARKERS = ("COLAB_GPU", "COLAB_RELEASE_TAG")
VSCODE_MARKERS = ("VSCODE_PID", "VSCODE_CWD")
JUPYTER_MARKERS = ("JPY_PARENT_PID", "JPY_SESSION_NAME")

#: Folders a platform puts in the working directory, never sent by a push (gitignore patterns).
PLATFORM_FOLDERS: Dict[str, Tuple[str, ...]] = {
    COLAB: ("/.config/", "/sample_data/"),
    KAGGLE: ("/.virtual_documents/",),
}

WIDGET = "widget"
LINES = "lines"
BAR = "bar"
NONE = "none"


@dataclass(frozen=True)
class Platform:
    """``name``: colab, kaggle, vscode, jupyterlab, jupyter, or None (a plain machine);
    ``kernel``: this process is a notebook kernel; ``pipe``: this process is a command of a
    notebook cell (``!crunch ...``), its output shown in the cell; ``terminal``: its output is
    a terminal a person looks at."""

    name: Optional[str] = None
    kernel: bool = False
    pipe: bool = False
    terminal: bool = False

    @property
    def display_name(self) -> str:
        return DISPLAY_NAMES.get(self.name or "", "a terminal" if self.terminal else "this machine")

    @property
    def notebook(self) -> bool:
        """Inside a notebook: the kernel itself or one of its cells' commands."""
        return self.kernel or self.pipe

    @property
    def progress(self) -> str:
        """How progress is shown: ``widget`` (a kernel), ``lines`` (plain lines, no cursor
        moves: a cell's ``!`` pipe), ``bar`` (a terminal) or ``none``."""
        if self.kernel:
            return WIDGET
        if self.pipe:
            return LINES
        if self.terminal:
            return BAR
        return NONE

    @property
    def hidden_folders(self) -> Tuple[str, ...]:
        return PLATFORM_FOLDERS.get(self.name or "", ())


def _has(environ: Mapping[str, str], names: Tuple[str, ...]) -> bool:
    return any(environ.get(name) for name in names)


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        return ipython.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return None


def in_kernel(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether this process is a notebook kernel (Jupyter, JupyterLab, VS Code, Colab, Kaggle)."""
    env = os.environ if environ is None else environ
    shell = _shell()
    if shell is None:
        return False
    if any(name == "QT_API" or name.startswith("SPYDER") for name in env):
        return False
    names = {klass.__name__ for klass in type(shell).__mro__}
    return "ZMQInteractiveShell" in names and not any("qt" in n.lower() or "spyder" in n.lower() for n in names - {"ZMQInteractiveShell"})


def _jupyter_flavour(environ: Mapping[str, str]) -> str:
    """JupyterLab or the classic notebook, from the command line of the server that started
    the kernel (Linux); Jupyter when it cannot be told."""
    pid = (environ.get("JPY_PARENT_PID") or "").strip()
    if pid.isdigit():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").lower()
        except OSError:
            command = ""
        if "jupyter-lab" in command or " lab" in command or "jupyterlab" in command:
            return JUPYTERLAB
    return JUPYTER


def platform_name(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """colab, kaggle, vscode, jupyterlab, jupyter, or None."""
    env = os.environ if environ is None else environ
    if _has(env, KAGGLE_MARKERS):
        return KAGGLE
    if _has(env, COLAB_MARKERS) or "google.colab" in sys.modules:
        return COLAB
    shell = _shell()
    namespace = getattr(shell, "user_ns", None) or {}
    if _has(env, VSCODE_MARKERS) or "__vsc_ipynb_file__" in namespace:
        return VSCODE
    if _has(env, JUPYTER_MARKERS):
        return _jupyter_flavour(env)
    return None


def under_kernel_pipe(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether this process runs as the ``!`` command of a notebook cell.

    A kernel gives its commands ``PAGER=cat`` and ``CLICOLOR=1`` (ipykernel's shell, which
    Colab's derives from); with the inline plotting backend the kernel also set, or a
    notebook platform's marker, that is a cell's output, not a terminal.
    """
    env = os.environ if environ is None else environ
    if env.get("PAGER") != "cat" or env.get("CLICOLOR") != "1":
        return False
    inline = "matplotlib_inline" in (env.get("MPLBACKEND") or "")
    return inline or _has(env, KAGGLE_MARKERS + COLAB_MARKERS + JUPYTER_MARKERS + VSCODE_MARKERS)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def can_ask(environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether a question can be asked on standard input: a terminal, and not the ``!`` pipe of
    a notebook cell (a pseudo-terminal whose input Jupyter never forwards: a prompt would wait
    forever)."""
    return _isatty(sys.stdin) and not under_kernel_pipe(environ)


def detect(environ: Optional[Mapping[str, str]] = None, stream: Any = None) -> Platform:
    """Where this process runs; ``stream`` is the output progress goes to (default stderr)."""
    env = os.environ if environ is None else environ
    kernel = in_kernel(env)
    pipe = not kernel and under_kernel_pipe(env)
    terminal = not kernel and not pipe and _isatty(sys.stderr if stream is None else stream)
    name = platform_name(env)
    return Platform(name=name, kernel=kernel, pipe=pipe, terminal=terminal)


# -- secrets ---------------------------------------------------------------------------------


def secret(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The secret ``name``: the variable of that name, then Colab's ``google.colab.userdata``,
    then Kaggle's ``kaggle_secrets.UserSecretsClient`` (on those platforms only). None when it
    is nowhere; an error that says what to do when the platform refuses it."""
    from ..exceptions import ConfigurationError

    env = os.environ if environ is None else environ
    value = (env.get(name) or "").strip()
    if value:
        return value
    where = platform_name(env)
    if where == COLAB:
        try:
            from google.colab import userdata  # type: ignore[import-not-found]
        except ImportError:
            return None
        try:
            value = userdata.get(name)
        except Exception as error:
            kind = type(error).__name__
            if kind == "SecretNotFoundError":
                return None
            if kind == "NotebookAccessError":
                raise ConfigurationError(
                    f"this notebook may not read the Colab secret {name}: give it access in Secrets (the key icon "
                    "on the left) and run the cell again"
                ) from None
            raise ConfigurationError(
                f"Colab did not give the secret {name} ({kind}): run the cell again, or set it with "
                f"`%env {name}=...` in a cell before this one"
            ) from None
        return (value or "").strip() or None
    if where == KAGGLE:
        try:
            from kaggle_secrets import UserSecretsClient  # type: ignore[import-not-found]
        except ImportError:
            return None
        try:
            value = UserSecretsClient().get_secret(name)
        except Exception:
            raise ConfigurationError(
                f"Kaggle did not give the secret {name}: attach it to this notebook with Add-ons > Secrets, "
                "then run the cell again"
            ) from None
        return (value or "").strip() or None
    return None


def secret_sources(name: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """Where :func:`secret` looks for ``name`` here, for messages."""
    where = platform_name(os.environ if environ is None else environ)
    if where == COLAB:
        return f"the {name} variable or Colab's Secrets (the key icon on the left, with notebook access)"
    if where == KAGGLE:
        return f"the {name} variable or Kaggle's Secrets (Add-ons > Secrets, attached to this notebook)"
    return f"the {name} variable (or, in Colab and Kaggle, a secret of that name)"


# -- the notebook itself ---------------------------------------------------------------------


class NotebookUnavailable(Exception):
    """The platform did not give the notebook (the reason, for a person)."""


def platform_notebook(environ: Optional[Mapping[str, str]] = None) -> Optional[Dict[str, Any]]:
    """The open notebook as Colab or Kaggle hold it (it is not on disk there): Colab answers
    ``get_ipynb`` through its kernel messaging (``google.colab._message``), Kaggle through
    its session (``kaggle_session.UserSessionClient().get_exportable_ipynb()``). None on
    other platforms; :class:`NotebookUnavailable` when the platform does not answer."""
    import json

    where = platform_name(environ)
    if where == COLAB:
        try:
            from google.colab import _message  # type: ignore[import-not-found]
        except ImportError as error:
            raise NotebookUnavailable(f"Colab's kernel messaging cannot be imported ({error})") from None
        try:
            answer = _message.blocking_request("get_ipynb", request="", timeout_sec=10)
        except Exception as error:
            raise NotebookUnavailable(f"Colab did not give the notebook ({type(error).__name__}: {error})") from None
        if not isinstance(answer, dict):
            raise NotebookUnavailable("Colab did not answer the request for the notebook")
        if answer.get("error"):
            raise NotebookUnavailable(f"Colab refused to give the notebook: {answer['error']}")
        notebook = answer.get("ipynb")
    elif where == KAGGLE:
        try:
            from kaggle_session import UserSessionClient  # type: ignore[import-not-found]
        except ImportError as error:
            raise NotebookUnavailable(f"Kaggle's session client cannot be imported ({error})") from None
        try:
            answer = UserSessionClient().get_exportable_ipynb()
        except Exception as error:
            raise NotebookUnavailable(f"Kaggle did not give the notebook ({type(error).__name__}: {error})") from None
        source = answer.get("sourceNullable") if isinstance(answer, dict) else None
        if not source:
            raise NotebookUnavailable("Kaggle's session gave no notebook source")
        try:
            notebook = json.loads(source)
        except ValueError as error:
            raise NotebookUnavailable(f"Kaggle's notebook source is not JSON ({error})") from None
    else:
        return None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookUnavailable(f"{DISPLAY_NAMES[where]} gave something that is not a notebook")
    return notebook


def notebook_path_hint(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The path of the open notebook when the platform tells it: ``JPY_SESSION_NAME`` (Jupyter
    server 2 and later, for its kernels and their commands), ``__vsc_ipynb_file__`` (VS Code,
    in the kernel's namespace)."""
    env = os.environ if environ is None else environ
    shell = _shell()
    namespace = getattr(shell, "user_ns", None) or {}
    for value in (namespace.get("__vsc_ipynb_file__"), env.get("JPY_SESSION_NAME")):
        if isinstance(value, str) and value.endswith(".ipynb"):
            return value
    return None
