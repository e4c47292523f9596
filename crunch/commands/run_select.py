"""``crunch run select N``: choose the run the out-of-sample phase uses (without a choice, the
last successful run is used)."""

from __future__ import annotations

from typing import Union

from ..api.models import Selection
from ..core.console import Console
from ..exceptions import RunNotSuccessfulError
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import fetch_run, parse_run_id


def run(*, settings: Settings, console: Console, run_id: Union[str, int]) -> Selection:
    number = parse_run_id(run_id)
    context = open_project(settings)
    found = fetch_run(context, number)
    if found.running or found.failed:
        state = f"is still {found.status.lower()}" if found.running else f"ended: {found.status_text()}"
        after = f"`crunch run wait {number}` waits for it" if found.running else "`crunch run list` shows the runs that succeeded"
        raise RunNotSuccessfulError(f"run {number} {state}: only a run that succeeded can be selected; {after}", code="RUN_NOT_SUCCESSFUL")
    selection = context.client.select_run(*context.where, number)
    submission = selection.submission_number if selection.submission_number is not None else found.submission_number
    of = f" (submission #{submission})" if submission is not None else ""
    console.result(f"run {selection.run_id if selection.run_id is not None else number} selected for the out-of-sample phase{of}")
    return selection
