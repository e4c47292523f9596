"""``crunch quickstarter apply NAME [--overwrite]``: write a quickstarter's files into the
workspace. An existing file is replaced only with ``--overwrite``; nothing is written unless
every file arrived."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import List

from ..core.console import Console
from ..core.fsutil import ensure_folder
from ..exceptions import ConfigurationError, UnsafePathError
from ..project.context import open_project
from ..project.settings import Settings
from ..project.workspace import DOT_DIR
from ..submission.quickstarters import find_quickstarter


def run(*, settings: Settings, console: Console, name: str, overwrite: bool = False) -> List[str]:
    from ..transfer.download import Downloader, Remote, safe_relative_path

    context = open_project(settings)
    root = context.workspace.root
    quickstarter = find_quickstarter(context, name)
    names = []
    for file in quickstarter.files or []:
        relative = safe_relative_path(file.name, "quickstarter file")
        if relative.parts[0] == DOT_DIR:
            raise UnsafePathError(f"refusing the quickstarter file path {file.name!r}: it would write into {DOT_DIR}/")
        names.append(str(relative))
    from ..transfer.names import check_distinct, check_targets

    advice = "tell the competition's organizers"
    check_distinct([(file.name, n) for file, n in zip(quickstarter.files or [], names)], f"the quickstarter {quickstarter.name}", advice)
    check_targets(names, [root, context.workspace.dot_dir / "quickstarter-xxxxxxxx"], "quickstarter file", f"nothing was written; {advice}")
    existing = [n for n in names if (root / n).exists()]
    if existing and not overwrite:
        raise ConfigurationError(f"{', '.join(existing)} already exist(s): add --overwrite to replace them; nothing was written")
    if any((root / n).is_dir() for n in existing):
        raise ConfigurationError("a folder stands where a quickstarter file goes: nothing was written")
    staging = Path(tempfile.mkdtemp(prefix="quickstarter-", dir=context.workspace.dot_dir))
    try:
        remotes = [Remote(n, f.url) for n, f in zip(names, quickstarter.files or [])]
        if remotes:
            Downloader(console=console).fetch_all(remotes, staging, force=True)
        for n in names:
            ensure_folder((root / n).parent)  # a file in the way: one line naming it
            os.replace(staging / n, root / n)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    console.result(f"quickstarter {quickstarter.name} applied: {', '.join(names) or 'no files'}")
    if quickstarter.notebook and names:
        console.print(f"it is a notebook: `crunch test` and `crunch push` convert {names[0]} when main.py is missing")
    return names
