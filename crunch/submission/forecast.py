"""What a push or a cloud run will cost of the project's quotas, said before it is spent.

A push spends one of the day's submissions; a run spends compute time, about as long as the last
cloud run lasted (else the last ``crunch test``, whose duration is kept in ``.crunchdao/``). From
the hub's quota answers, :func:`for_push` and :func:`for_run` give the lines to show and whether
the action spends the last of a quota, which :func:`ask_before_spending` asks about (a terminal),
or says it goes on without asking (``--yes``, or no terminal). A hub without the quota calls costs
one line, and the action goes on.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple

from ..api.client import Client, optional_call
from ..core.console import Console
from ..core.display import human_duration
from ..exceptions import CrunchError
from ..project.workspace import Workspace

LAST_TEST_FILE = "last-test.json"
ENDED = ("COMPLETED", "FAILED", "TERMINATED", "CRASHED", "TIMEOUT")


class Declined(CrunchError):
    """The person answered no to spending the last of a quota."""


@dataclass
class Forecast:
    lines: List[str] = field(default_factory=list)
    last: List[str] = field(default_factory=list)  # what would be spent to the end (asked about)


def _duration(seconds: float) -> str:
    """A duration as the forecast says it: tenths of a second under ten seconds."""
    return f"{seconds:.1f}s" if seconds < 10 else human_duration(seconds)


# -- the last local test -----------------------------------------------------------------------


def record_test_duration(workspace: Workspace, seconds: float) -> None:
    """Keep how long the last ``crunch test`` took (a damaged or unwritable file is not an error)."""
    try:
        path = workspace.dot_dir / LAST_TEST_FILE
        path.write_text(json.dumps({"seconds": round(float(seconds), 3), "at": int(time.time())}) + "\n", encoding="utf-8")
    except OSError:
        pass


def last_test_duration(workspace: Workspace) -> Optional[float]:
    try:
        value = json.loads((workspace.dot_dir / LAST_TEST_FILE).read_text(encoding="utf-8")).get("seconds")
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def last_cloud_duration(client: Client, where: Tuple[Any, ...], say: Callable[[str], None]) -> Optional[float]:
    """The duration of the project's latest ended cloud run, from the hub's run list."""
    runs = optional_call(lambda: client.list_runs(*where), None, "the list of runs", "the last cloud run's duration is not known", say)
    ended = [run for run in runs or [] if run.duration is not None and (run.ended_at or run.status in ENDED)]
    if not ended:
        return None

    def key(run: Any) -> Any:
        try:
            return (1, int(run.id))
        except (TypeError, ValueError):
            return (0, str(run.id))

    return float(max(ended, key=key).duration)


def _estimate(workspace: Workspace, client: Client, where: Tuple[Any, ...], say: Callable[[str], None]) -> Tuple[Optional[float], str]:
    cloud = last_cloud_duration(client, where, say)
    if cloud is not None:
        return cloud, "the last cloud run"
    local = last_test_duration(workspace)
    if local is not None:
        return local, "the last `crunch test`"
    return None, ""


# -- the forecasts -----------------------------------------------------------------------------


def for_push(client: Client, where: Tuple[Any, ...], workspace: Workspace, say: Callable[[str], None]) -> Forecast:
    forecast = Forecast()
    instead = "no forecast of what this push costs"
    submit = optional_call(lambda: client.submit_quota(*where), None, "the submission quota", instead, say)
    if submit is not None:
        per_day = submit.submissions_per_day
        if per_day.bypass:
            forecast.lines.append("this push: one submission (this project is not limited today)")
        else:
            left = per_day.remaining
            if left == 0:
                forecast.lines.append(f"this push: no submission left today ({per_day.current}/{per_day.maximum} used): the hub may refuse it")
            else:
                forecast.lines.append(f"this push: one of the {left} submission(s) left today ({per_day.current}/{per_day.maximum} used)")
            if left == 1:
                forecast.last.append("the last submission of the day")
    compute = optional_call(lambda: client.compute_quota(*where), None, "the compute quota", "no forecast of its runs' compute", say)
    if compute is not None:
        estimate, source = _estimate(workspace, client, where, say)
        if estimate is not None:
            forecast.lines.append(
                f"a run of it: about {_duration(estimate)} of compute (as {source}), "
                f"{human_duration(compute.remaining)} left of {human_duration(compute.available)}"
            )
    return forecast


def for_run(client: Client, where: Tuple[Any, ...], workspace: Workspace, say: Callable[[str], None], runtime_remaining: Optional[float] = None) -> Forecast:
    """``runtime_remaining``: the compute left on the chosen runtime, when the hub said it."""
    forecast = Forecast()
    compute = optional_call(lambda: client.compute_quota(*where), None, "the compute quota", "no forecast of what this run costs", say)
    remaining = compute.remaining if compute is not None else runtime_remaining
    if remaining is None:
        return forecast
    estimate, source = _estimate(workspace, client, where, say)
    total = f" of {human_duration(compute.available)}" if compute is not None else ""
    if estimate is None:
        forecast.lines.append(f"this run: {human_duration(remaining)} of compute left{total}; its cost is not known yet (no earlier run, no `crunch test`)")
        return forecast
    forecast.lines.append(f"this run: about {_duration(estimate)} of compute (as {source}), {human_duration(remaining)} left{total}")
    if estimate >= remaining:
        forecast.last.append(f"the last of the compute time ({human_duration(remaining)} left, a run like {source} takes {_duration(estimate)}: it may be cut short)")
    return forecast


def ask_before_spending(forecast: Forecast, console: Console, *, yes: bool, what: str) -> None:
    """Show the forecast; before spending the last of a quota, ask (a terminal), or say why not."""
    for line in forecast.lines:
        console.print(line)
    if not forecast.last:
        return
    spent = " and ".join(forecast.last)
    if yes:
        console.print(f"{what} spends {spent}: going on (--yes)")
        return
    from ..core.platforms import can_ask

    if not can_ask():
        console.print(f"{what} spends {spent}: going on without asking (no terminal to ask on; --yes says so)")
        return
    import click

    if not click.confirm(f"{what} spends {spent}: go on?", default=False, err=True):
        raise Declined(f"{what} not done: it would spend {spent} (answer yes, or give --yes)")
