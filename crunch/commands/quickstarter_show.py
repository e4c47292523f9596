"""``crunch quickstarter show NAME``: a quickstarter's title, authors and files."""

from __future__ import annotations

from typing import Any

from ..core.console import Console
from ..core.display import as_json
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.quickstarters import find_quickstarter


def run(*, settings: Settings, console: Console, name: str, json_output: bool = False) -> Any:
    context = open_project(settings)
    quickstarter = find_quickstarter(context, name)
    if json_output:
        console.result(as_json({
            "name": quickstarter.name,
            "title": quickstarter.title,
            "type": quickstarter.kind,
            "language": quickstarter.language,
            "authors": [{"name": a.name, "link": a.link} for a in quickstarter.authors],
            "files": [f.name for f in quickstarter.files or []],
        }))
        return quickstarter
    authors = ", ".join(a.name + (f" ({a.link})" if a.link else "") for a in quickstarter.authors) or "-"
    for line in (
        f"quickstarter {quickstarter.name}",
        f"  title      {quickstarter.title}",
        f"  type       {quickstarter.kind}",
        f"  language   {quickstarter.language.lower()}",
        f"  authors    {authors}",
        "  files",
        *(f"    {f.name}" for f in quickstarter.files or []),
    ):
        console.result(line)
    return quickstarter
