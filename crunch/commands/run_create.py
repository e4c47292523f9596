"""``crunch run create``: ask the hub to run a submission in the cloud."""

from __future__ import annotations

from typing import Optional, Union

from ..api.runs import create_run, runtime_options
from ..console import Console
from ..display import human_duration
from ..exceptions import ConfigurationError, CrunchError
from ..project_context import open_project
from ..settings import Settings
from ..submissions import find_submission, parse_identifier


class ComputeQuotaError(CrunchError):
    """The project has no compute time left today."""


def run(
    *,
    settings: Settings,
    console: Console,
    submission: Union[str, int] = "@last",
    train_frequency: Optional[int] = None,
    force_first_train: Optional[bool] = None,
    runtime: Optional[str] = None,
) -> int:
    context = open_project(settings)
    found = find_submission(context, parse_identifier(submission))
    options = runtime_options(context.client, context.where, found.number)
    available = [o for o in options if o.status == "AVAILABLE"]
    names = ", ".join(o.name for o in available) or "none"
    chosen = next((o for o in options if o.name == runtime), None) if runtime else (available[0] if available else None)
    if chosen is None or chosen.status != "AVAILABLE":
        what = f"the runtime {runtime!r} is not available" if runtime else "no runtime is available"
        raise ConfigurationError(f"{what} for submission #{found.number}: available: {names}")
    if chosen.quota_seconds <= 0:
        raise ComputeQuotaError(
            f"the compute time of {context.label} is spent for today ({chosen.name}): wait until it resets (`crunch quota` shows it)"
        )
    frequency = 1 if train_frequency is None else train_frequency
    force = (found.model is None) if force_first_train is None else force_first_train
    if found.model is None and force_first_train is False:
        console.warn(f"submission #{found.number} has no model files: its run trains first anyway")
        force = True
    created = create_run(
        context.client, context.where, submission_id=found.id, train_frequency=frequency, force_first_train=force, runtime=chosen.name
    )
    console.result(
        f"run {created.id} created: submission #{found.number} on {chosen.name}, train every {frequency} moon(s), "
        f"force first train {'yes' if force else 'no'} ({human_duration(chosen.quota_seconds)} of compute left today)"
    )
    console.print(f"follow it: `crunch run logs {created.id} --follow`; wait for it: `crunch run wait {created.id}`")
    return created.id
