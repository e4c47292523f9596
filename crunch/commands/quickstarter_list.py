"""``crunch quickstarter list``: the competition's quickstarters."""

from __future__ import annotations

from typing import Any, List

from ..core.console import Console
from ..core.display import as_json, table
from ..project.context import open_project
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, json_output: bool = False) -> List[Any]:
    context = open_project(settings)
    quickstarters = context.client.list_quickstarters(context.info.competition_name)
    if json_output:
        console.result(as_json([
            {"name": q.name, "title": q.title, "type": q.kind, "language": q.language, "files": [f.name for f in q.files] if q.files is not None else None}
            for q in quickstarters
        ]))
        return quickstarters
    if not quickstarters:
        console.result(f"{context.info.competition_name} has no quickstarter")
        return quickstarters
    rows = [(q.name, q.title, q.kind, q.language.lower()) for q in quickstarters]
    for line in table(["name", "title", "type", "language"], rows):
        console.result(line)
    return quickstarters
