"""``crunch run list``: the project's cloud runs, newest first."""

from __future__ import annotations

from typing import Any, List, Optional

from ..core.console import Console
from ..core.display import as_json, table
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import run_rows


def run(*, settings: Settings, console: Console, limit: Optional[int] = 10, json_output: bool = False) -> List[Any]:
    context = open_project(settings)
    runs = sorted(context.client.list_runs(*context.where), key=lambda r: r.id, reverse=True)
    shown = runs if limit is None else runs[:limit]
    if json_output:
        console.result(as_json([r.raw for r in shown]))
        return shown
    if not runs:
        console.result(f"{context.label} has no run yet: `crunch run create` runs the last submission")
        return shown
    for line in table(["run", "status", "submission", "duration", "created", "score"], run_rows(shown), right=(0, 3, 5)):
        console.result(line)
    if len(shown) < len(runs):
        console.print(f"\n{len(shown)} of {len(runs)} shown: --limit N or --all for more")
    return shown
