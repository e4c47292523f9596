"""``crunch run logs N``: the lines a cloud run printed, with their times; ``--follow``
streams them until the run ends."""

from __future__ import annotations

from typing import Optional, Union

from ..core.console import Console
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import LogPrinter, fetch_logs, fetch_run, follow, parse_run_id


def run(
    *,
    settings: Settings,
    console: Console,
    run_id: Union[str, int],
    tail: Optional[int] = None,
    follow_logs: bool = False,
    debug: bool = False,
    poll_interval: float = 2.0,
) -> int:
    number = parse_run_id(run_id)
    context = open_project(settings)
    fetch_run(context, number)  # an unknown run is named before anything is printed
    printer = LogPrinter(console.result, debug)
    logs = fetch_logs(context, number)
    shown = logs[-tail:] if tail else ([] if tail == 0 else logs)
    for log in shown:
        printer(log)
    if not follow_logs:
        return len(shown)
    count = len(shown)
    after = (logs[-1].id if isinstance(logs[-1].id, int) else len(logs) - 1) if logs else None
    for log in follow(context, number, poll_interval, after):
        printer(log)
        count += 1
    ended = fetch_run(context, number)
    console.print(f"run {ended.id} ended: {ended.status_text()}" + (f" ({ended.error_message})" if ended.error_message else ""))
    return count
