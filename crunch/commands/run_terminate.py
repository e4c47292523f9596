"""``crunch run terminate N``: stop a cloud run that is queued or running."""

from __future__ import annotations

from typing import Union

from ..core.console import Console
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import fetch_run, parse_run_id, terminate


def run(*, settings: Settings, console: Console, run_id: Union[str, int]) -> bool:
    number = parse_run_id(run_id)
    context = open_project(settings)
    found = fetch_run(context, number)
    if not found.running:
        console.result(f"run {number} already ended: {found.status_text()}")
        return False
    terminate(context, number)
    console.result(f"run {number}: termination asked; `crunch run wait {number}` waits until it stopped")
    return True
