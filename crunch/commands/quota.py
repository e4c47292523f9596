"""``crunch quota``: submissions left today, size limits and compute time of the project."""

from __future__ import annotations

from typing import Any, Dict

from ..core.console import Console
from ..core.display import as_json, human_duration, human_size
from ..project.context import open_project
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, json_output: bool = False) -> Dict[str, Any]:
    context = open_project(settings)
    submit = context.client.submit_quota(*context.where)
    compute = context.client.compute_quota(*context.where)
    if json_output:
        answer = {"submit": submit.raw, "compute": compute.raw}
        console.result(as_json(answer))
        return answer
    per_day = submit.submissions_per_day
    left = "none left today: the counter resets at midnight UTC" if per_day.remaining == 0 and not per_day.bypass else f"{per_day.remaining} left today"
    for line in (
        f"submissions today   {per_day.current}/{per_day.maximum} ({left})",
        f"code files          {human_size(submit.code_files)} at most",
        f"model files         {human_size(submit.model_files)} at most",
        f"compute time        {human_duration(compute.remaining)} left of {human_duration(compute.available)} ({human_duration(compute.used)} used)",
        f"running             {'a run is running' if compute.running else 'no run is running'}",
    ):
        console.result(line)
    return {"submit": submit, "compute": compute}
