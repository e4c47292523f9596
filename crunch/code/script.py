"""The script a local test imports: the workspace's main file, or a notebook converted for one
run under ``.crunchdao/converted/`` (never at the script's own place)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Optional, Tuple

from ..core.console import Console
from ..exceptions import UserCodeError, WorkspaceError
from ..project.workspace import DOT_DIR

CONVERTED_DIR = "converted"  # under .crunchdao/: the scripts converted from notebooks for one run


@contextlib.contextmanager
def main_script(root: Path, main_file: Optional[str], console: Console) -> Iterator[Tuple[Path, Path]]:
    """(the script to import, the folder it runs from): ``main_file``, or a temporary conversion of
    its notebook.

    A conversion is written under ``.crunchdao/converted/`` (fresh for each run, removed after
    it), never at the script's own place: a run stopped by a signal or a crash leaves nothing
    that a later run could take for the person's script.
    """
    from .mainfile import locate

    main = locate(root, main_file)
    if main.removed:
        console.print(f"removed {', '.join(main.removed)}: converted from the notebook by a run that was killed before cleaning up")
    if main.source is not None:  # a notebook workspace: the notebook is the code, whatever main.py holds
        with notebook_script(root, main, console) as path:
            yield path, path.parent
        return
    if main.notebook is None:
        if not main.exists:
            raise UserCodeError(f"{main.script} not found in {root}: write your train() and infer() there, or pass --main-file")
        yield main.path, main.path.parent
        return
    try:
        from ..convert import temporary_script  # type: ignore[attr-defined]
    except ImportError:
        raise WorkspaceError(
            f"{main.notebook.name} needs converting but this crunch cannot: run `crunch convert {main.notebook.name} {main.script}` first"
        ) from None
    console.print(f"converting {main.notebook.name} for this run (your folder gets no {main.script})")
    parent = root / DOT_DIR / CONVERTED_DIR
    with _run_folder(parent, "run-", main.notebook.name, main.script) as folder:
        script = folder / Path(main.script).name
        with temporary_script(root, main.notebook, main_file=main.script, script_path=script, requirements=False):
            yield script, main.path.parent


@contextlib.contextmanager
def _run_folder(parent: Path, prefix: str, notebook: str, script: str) -> Iterator[Path]:
    """A fresh folder under ``parent`` for this run's conversion, locked while the run lasts and
    removed after it (:func:`crunch.project.leftovers.run_folder`): the folders of runs that were killed
    are removed first, those of runs still going in the same workspace are kept."""
    from ..project.leftovers import run_folder

    with contextlib.ExitStack() as stack:
        try:
            folder = stack.enter_context(run_folder(parent, prefix))
        except OSError as error:
            raise WorkspaceError(
                f"cannot write the conversion of {notebook} into {parent}: {error.strerror or error}; "
                f"fix the folder's permissions, or run `crunch convert {notebook} {script}` first"
            ) from None
        yield folder


@contextlib.contextmanager
def notebook_script(root: Path, main: Any, console: Console) -> Iterator[Path]:
    """The notebook's conversion in a temporary folder under ``.crunchdao/converted/`` (the
    workspace's files are not touched), removed afterwards."""
    from ..convert import convert_notebook
    from ..core.fsutil import write_text_atomic

    conversion = convert_notebook(main.source.content, whitelist=None, freeze=False)
    console.print(f"your code is {main.source.origin}: converted for this test")
    name = main.source.path.name if main.source.path is not None else "the notebook"
    with _run_folder(root / DOT_DIR / CONVERTED_DIR, "notebook-", name, main.script) as folder:
        path = folder / Path(main.script).name
        write_text_atomic(path, conversion.script)
        yield path
