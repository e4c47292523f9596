"""``crunch run show N``: one cloud run: status, times, error, prediction and score."""

from __future__ import annotations

from typing import Any, Union

from ..core.console import Console
from ..core.display import as_json, local_time
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import duration_text, fetch_run, parse_run_id


def run(*, settings: Settings, console: Console, run_id: Union[str, int], json_output: bool = False) -> Any:
    number = parse_run_id(run_id)
    context = open_project(settings)
    found = fetch_run(context, number)
    if json_output:
        console.result(as_json(found.raw))
        return found
    lines = [
        f"run {found.id} of {context.label}",
        f"  status      {found.status_text()}",
        f"  submission  #{found.submission_number}",
        f"  created     {local_time(found.created_at)}",
        f"  started     {local_time(found.started_at)}",
        f"  ended       {local_time(found.ended_at)}",
        f"  duration    {duration_text(found)}",
        f"  exit code   {found.exit_code if found.exit_code is not None else '-'}" + (f" ({found.exit_reason.lower()})" if found.exit_reason else ""),
        f"  error       {found.error_message or '-'}",
    ]
    prediction = found.prediction
    if prediction is not None:
        state = "valid" if prediction.valid else ("invalid: " + (prediction.error or "no message") if prediction.valid is False else "checking")
        lines += [f"  prediction  {state}", f"  score       {prediction.score_text()}"]
    for line in lines:
        console.result(line)
    if found.running:
        console.print(f"\nfollow it: `crunch run logs {found.id} --follow`")
    return found
