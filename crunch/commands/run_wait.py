"""``crunch run wait N``: wait until a cloud run ends; the exit code says how it ended (0
succeeded, 1 failed, 2 still running at --timeout, 3 terminated)."""

from __future__ import annotations

from typing import Optional, Union

from ..core.console import Console
from ..exceptions import CrunchError
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.runs import parse_run_id, wait_for


class RunFailedError(CrunchError):
    """The run ended without success."""


class RunStillRunningError(CrunchError):
    exit_code = 2


class RunTerminatedError(CrunchError):
    exit_code = 3


def run(
    *,
    settings: Settings,
    console: Console,
    run_id: Union[str, int],
    timeout: Optional[float] = None,
    poll_interval: float = 10.0,
) -> str:
    number = parse_run_id(run_id)
    context = open_project(settings)
    ended = wait_for(context, number, poll_interval, timeout)
    if ended.running:
        raise RunStillRunningError(f"run {number} is still {ended.status.lower()} after {timeout:g} s: wait again, or `crunch run logs {number} --follow`")
    if ended.terminated:
        raise RunTerminatedError(f"run {number} was terminated")
    if ended.failed:
        detail = ended.error_message or (ended.prediction.error if ended.prediction is not None else None) or "no message"
        raise RunFailedError(f"run {number} failed: {detail} (`crunch run logs {number}` shows its output)")
    score = ended.prediction.score_text() if ended.prediction is not None else "-"
    console.result(f"run {number} succeeded: score {score}")
    return ended.status_text()
