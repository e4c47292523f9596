"""``crunch convert NOTEBOOK [SCRIPT]``: the notebook as the script the platform runs."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import List, Optional, Tuple

from ..core.console import Console
from ..core.fsutil import default_mode
from ..exceptions import ConversionError, CrunchError, NothingToDoError, UnsafePathError
from ..project.settings import Settings

WHITELIST_TIMEOUT = (2.0, 5.0)


def run(
    *,
    settings: Settings,
    console: Console,
    notebook: str,
    script: str = "main.py",
    overwrite: bool = False,
    requirements: bool = False,
    embedded_files: bool = False,
    no_freeze: bool = False,
    verbose: bool = False,
) -> None:
    from ..convert import convert_notebook
    from ..convert.requirements import requirements_txt, resolve
    from ..core.fsutil import is_within
    from ..core.packages import is_stdlib

    script_path = Path(script)
    folder = script_path.parent

    conversion = convert_notebook(notebook, whitelist=[], freeze=not no_freeze, verbose=verbose)

    outputs: List[Tuple[Path, str]] = [(script_path, conversion.script)]
    labels = ["the script"]
    fallback_reason = None
    if requirements:
        if any(not is_stdlib(module) for module in conversion.modules):
            # the names need the competition's whitelist: asked only when there is something to name
            whitelist, fallback_reason = _whitelist(settings, folder)
            conversion.requirements = resolve(conversion.modules, whitelist, freeze=not no_freeze)
            conversion.requirements_txt = requirements_txt(conversion.requirements)
        outputs.append((folder / "requirements.txt", conversion.requirements_txt))
        labels.append("requirements.txt")
    if embedded_files:
        for relative, content in conversion.embedded_files.items():
            target = folder / relative
            if not is_within(target, folder if str(folder) else "."):
                raise UnsafePathError(f"embedded file `{relative}` would be written outside {folder.resolve()}")
            outputs.append((target, content))
            labels.append(f"the embedded file `{relative}`")

    from ..convert.outputs import check_outputs
    from ..project.workspace import find_root

    check_outputs(
        [(path, text, label) for (path, text), label in zip(outputs, labels)],
        reserved=[(Path(notebook), "the notebook")],
        workspace=find_root(Path(os.path.abspath(folder))),
    )

    existing = [path for path, _ in outputs if path.exists()]
    if existing and not overwrite:
        names = ", ".join(str(path) for path in existing)
        if not _interactive():
            raise ConversionError(f"{names} already exist{'s' if len(existing) == 1 else ''}: add --overwrite to replace {'it' if len(existing) == 1 else 'them'}")
        import click

        if not click.confirm(f"replace {names}?", default=False, err=True):
            raise NothingToDoError(f"nothing written: {names} kept")

    if verbose:
        for decision in conversion.cells:
            console.print(str(decision))
            for detail in decision.details:
                console.print(f"    {detail}")
    for warning in conversion.warnings:
        console.warn(warning)
    if fallback_reason:
        console.warn(fallback_reason)

    _write_all(outputs)

    lines = conversion.script.count("\n")
    converted = sum(1 for cell in conversion.cells if cell.action == "converted")
    console.print(f"converted {converted} code cell(s) of {notebook} into {script_path} ({lines} line(s))")
    if requirements:
        console.print(f"wrote {folder / 'requirements.txt'}: {len(conversion.requirements)} requirement(s)")
        for requirement in conversion.requirements:
            console.print(f"    {requirement.line()}")
    if embedded_files:
        for relative in conversion.embedded_files:
            console.print(f"wrote embedded file {folder / relative}")
    elif conversion.embedded_files:
        console.print(f"{len(conversion.embedded_files)} embedded file(s) not written (add --embedded-files)")


def _interactive() -> bool:
    from ..core.platforms import can_ask

    return can_ask()


def _whitelist(settings: Settings, folder: Path) -> Tuple[Optional[list], Optional[str]]:
    """The competition's whitelist: the hub's (short timeout), else the cached one; with the
    reason when there is none (the installed distributions give the names then)."""
    from ..project.workspace import Workspace, find_root

    root = find_root(folder.resolve())
    if root is None:
        return None, "not inside a crunch workspace: requirement names come from the installed distributions"
    from ..api.client import Backoff, Client
    from ..data import whitelist as whitelist_module

    workspace = Workspace(root)
    try:
        project = workspace.project()
        hub = settings.for_workspace(project.api_base_url, project.web_base_url)
    except CrunchError:
        hub = settings
    try:
        client = Client(hub.api_base_url, timeout=WHITELIST_TIMEOUT, backoff=Backoff(retries=0))
        libraries = whitelist_module.load(workspace, client)
    except (CrunchError, OSError, ValueError):
        libraries = whitelist_module.cached(workspace)
    if libraries is None:
        return None, "the hub is unreachable and no whitelist is cached: requirement names come from the installed distributions"
    return libraries, None


def _write_all(outputs: List[Tuple[Path, str]]) -> None:
    """Write every file to a temporary file beside it, then rename them all into place."""
    staged: List[Tuple[str, Path]] = []
    try:
        for target, content in outputs:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            staged.append((tmp, target))
            os.chmod(tmp, default_mode())
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as error:
        raise ConversionError(f"cannot write {getattr(error, 'filename', None) or 'the output'}: {error.strerror or error}") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
