"""Where the code of a workspace is: ``--main-file`` as ``crunch test`` and ``crunch push`` read it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from .exceptions import ConfigurationError

DEFAULT = "main.py"
NOTEBOOK = "main.ipynb"


@dataclass(frozen=True)
class MainFile:
    """``script``: the path the platform runs, relative to the root (POSIX); ``notebook``: the
    notebook to convert into it when the script is not there."""

    root: Path
    script: str
    notebook: Optional[Path] = None
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
    from .leftovers import sweep

    removed = tuple(sweep(root))  # a killed push's converted main.py is not the person's
    main = _resolve(root, main_file)
    return MainFile(main.root, main.script, main.notebook, removed) if removed else main


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
