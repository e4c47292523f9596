"""``crunch submission list``: the project's submissions, newest first."""

from __future__ import annotations

from typing import Any, List, Optional

from ..core.console import Console
from ..core.display import as_json, human_size, local_time, table
from ..project.context import open_project
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, limit: Optional[int] = 10, json_output: bool = False) -> List[Any]:
    context = open_project(settings)
    submissions = sorted(context.client.list_submissions(*context.where), key=lambda s: s.number or 0, reverse=True)
    shown = submissions if limit is None else submissions[:limit]
    if json_output:
        console.result(as_json([s.raw for s in shown]))
        return shown
    if not submissions:
        console.result(f"{context.label} has no submission yet: `crunch push` sends one")
        return shown
    rows = [
        (
            s.number,
            _short(s.message),
            human_size(s.total_size),
            human_size(s.model.total_size) if s.model is not None else "-",
            local_time(s.created_at),
        )
        for s in shown
    ]
    for line in table(["#", "message", "size", "model", "created"], rows, right=(0, 2, 3)):
        console.result(line)
    if len(shown) < len(submissions):
        console.print(f"\n{len(shown)} of {len(submissions)} shown: --limit N or --all for more")
    return shown


def _short(message: str, width: int = 50) -> str:
    text = " ".join(message.split())
    return text if len(text) <= width else text[: width - 3] + "..."
