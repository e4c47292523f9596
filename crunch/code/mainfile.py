"""Where the code of a workspace is: ``--main-file`` as ``crunch test`` and ``crunch push`` read it,
and, in a notebook workspace, the notebook itself (:func:`locate`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..exceptions import ConfigurationError

DEFAULT = "main.py"
NOTEBOOK = "main.ipynb"


@dataclass(frozen=True)
class MainFile:
    """``script``: the path the platform runs, relative to the root (POSIX); ``notebook``: the
    notebook to convert into it when the script is not there."""

    root: Path
    script: str
    notebook: Optional[Path] = None
    source: Optional["NotebookCode"] = None  # a notebook workspace: the notebook is the code
    removed: Tuple[str, ...] = ()  # files a killed run had converted, removed before resolving

    @property
    def path(self) -> Path:
        return self.root / self.script

    @property
    def exists(self) -> bool:
        return self.path.is_file()


def resolve(root: Path, main_file: Optional[str] = None) -> MainFile:
    """Read ``main_file`` for the workspace at ``root`` (``None``: ``main.py`` at the root).

    A relative path names a file from the current folder when one is there (inside the
    workspace), else from the root; it must lie inside the workspace. A notebook stands for
    the script of its name (``nb.ipynb`` is converted into ``nb.py``). A missing script is
    converted from the notebook of its name beside it, else from the root's ``main.ipynb``.
    """
    from ..project.leftovers import sweep

    removed = tuple(sweep(root))  # a killed push's converted main.py is not the person's
    main = _resolve(root, main_file)
    return MainFile(main.root, main.script, main.notebook, removed=removed) if removed else main


def _resolve(root: Path, main_file: Optional[str]) -> MainFile:
    if not main_file:
        path = root / DEFAULT
    else:
        given = Path(main_file.replace("\\", "/"))
        if given.is_absolute():
            path = given
        else:
            here = Path.cwd() / given
            path = here if here.exists() and _inside(here, root) else root / given
    if not _inside(path, root):
        raise ConfigurationError(f"the main file {main_file} must be inside the workspace ({root}), such as main.py")
    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root))).as_posix()
    if path.suffix == ".ipynb":
        return MainFile(root, str(Path(relative).with_suffix(".py").as_posix()), path if path.is_file() else None)
    if path.is_file():
        return MainFile(root, relative)
    for notebook in (path.with_suffix(".ipynb"), root / NOTEBOOK):
        if notebook.is_file():
            return MainFile(root, relative, notebook)
    return MainFile(root, relative)


def _inside(path: Path, root: Path) -> bool:
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:  # another drive (Windows)
        return False
    return relative != ".." and not relative.startswith("../") and not os.path.isabs(relative)


# -- notebook workspaces ---------------------------------------------------------------------

NOTEBOOK_KEY = "notebook"
"""``project.json`` key set by ``crunch setup --notebook`` / ``setup-notebook``."""

LOCAL_COPY_MARK = ".local-"
"""``name.local-<time>.ipynb``: a notebook setup moved aside (never taken for the code)."""


@dataclass(frozen=True)
class NotebookCode:
    """The notebook that is the code: its JSON, where it came from (for messages) and its
    path when it is on disk."""

    content: Dict[str, Any]
    origin: str
    path: Optional[Path] = None


def is_notebook_workspace(root: Path) -> bool:
    """Whether the workspace at ``root`` was set up for a notebook."""
    import json

    try:
        data = json.loads((root / ".crunchdao" / "project.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get(NOTEBOOK_KEY) is True


def root_notebooks(root: Path) -> List[Path]:
    """The notebooks at the root of the workspace, without the copies setup moved aside."""
    return sorted(p for p in root.glob("*.ipynb") if p.is_file() and LOCAL_COPY_MARK not in p.name)


def _read(path: Path) -> Dict[str, Any]:
    from ..convert import load_notebook

    notebook, _ = load_notebook(path)
    return notebook


def find_notebook(root: Path, naming: str = "--main-file NAME.ipynb") -> NotebookCode:
    """The notebook being worked on, for a notebook workspace at ``root``: the one Colab or
    Kaggle holds (not on disk there), else the one the platform names (Jupyter's
    ``JPY_SESSION_NAME``, VS Code's ``__vsc_ipynb_file__``), else the only notebook at the root.
    ``naming``: how the person names it instead, for the message.
    """
    from ..core import platforms

    unavailable = ""
    try:
        live = platforms.platform_notebook()
    except platforms.NotebookUnavailable as error:
        live, unavailable = None, f" ({error})"
    if live is not None:
        return NotebookCode(live, f"the {platforms.detect().display_name} notebook")
    hint = platforms.notebook_path_hint()
    if hint:
        path = Path(hint) if Path(hint).is_absolute() else root / hint
        if path.is_file():
            return NotebookCode(_read(path), _shown(path, root), path)
    found = root_notebooks(root)
    if len(found) == 1:
        return NotebookCode(_read(found[0]), _shown(found[0], root), found[0])
    what = "several notebooks (" + ", ".join(p.name for p in found) + ")" if found else "no notebook"
    here = platforms.detect()
    from_kernel = (
        '; or run crunch.load_notebook().submit("message") in a cell: the kernel reads the notebook from '
        + here.display_name
        if here.name in (platforms.COLAB, platforms.KAGGLE) and not here.kernel
        else ""
    )
    raise ConfigurationError(
        f"cannot tell which notebook is your code: {root} holds {what}{unavailable}; give it with "
        f"{naming}, or download the notebook (.ipynb) into the workspace and run the command again{from_kernel}"
    )


def _shown(path: Path, root: Path) -> str:
    return os.path.relpath(path, root) if _inside(path, root) else str(path)


def locate(root: Path, main_file: Optional[str] = None) -> MainFile:
    """Where the participant's code is. In a notebook workspace (and with no ``main_file``)
    the notebook is the code: its conversion is the script that is run and sent, whatever
    ``main.py`` holds. Otherwise as :func:`resolve` reads ``main_file``."""
    if main_file or not is_notebook_workspace(root):
        main = resolve(root, main_file)
        if main_file and main.notebook is not None and is_notebook_workspace(root):
            return MainFile(root, main.script, main.notebook, NotebookCode(_read(main.notebook), _shown(main.notebook, root), main.notebook))
        return main
    code = find_notebook(root)
    return MainFile(root, DEFAULT, code.path, code)
