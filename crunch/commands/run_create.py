"""``crunch run create``: ask the hub to run a submission in the cloud."""

from __future__ import annotations

from typing import Optional, Union

from ..api.models import Competition
from ..core.console import Console
from ..core.display import human_duration
from ..exceptions import ConfigurationError, CrunchError
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.lookup import find_submission, parse_identifier


class ComputeQuotaError(CrunchError):
    """The project has no compute time left today."""


class HiddenRunOptionError(ConfigurationError):
    """The competition does not let participants choose this run option."""


def _train_frequency(console: Console, competition: Competition, asked: Optional[int]) -> int:
    """The frequency to send: 0 unless asked; an asked one is refused where the competition hides it."""
    if competition.hide_train_frequency:
        if asked is not None:
            raise HiddenRunOptionError(
                f"the competition {competition.name} does not take --train-frequency (its runs use 0): leave the option out"
            )
        return 0
    if asked is None:
        console.print("train frequency: 0 by default (train at the first moon only); `--train-frequency N` trains every N moons")
        return 0
    return asked


def _force_first_train(console: Console, competition: Competition, asked: Optional[bool], number: int, *, has_model: bool) -> Optional[bool]:
    """Whether to train at the first moon: asked, else when the submission has no model files;
    None (the hub decides) where the competition hides the option, which it then refuses."""
    if competition.hide_force_first_train:
        if asked is not None:
            raise HiddenRunOptionError(
                f"the competition {competition.name} does not take --force-first-train (it decides itself): leave the option out"
            )
        return None
    if asked is False and not has_model:
        console.warn(f"submission #{number} has no model files: its run trains first anyway")
        return True
    return (not has_model) if asked is None else asked


def _frequency_text(frequency: int) -> str:
    return "train at the first moon only" if frequency == 0 else f"train every {frequency} moon(s)"


def run(
    *,
    settings: Settings,
    console: Console,
    submission: Union[str, int] = "@last",
    train_frequency: Optional[int] = None,
    force_first_train: Optional[bool] = None,
    runtime: Optional[str] = None,
    yes: bool = False,
) -> int:
    context = open_project(settings)
    found = find_submission(context, parse_identifier(submission))
    options = context.client.runtime_options(*context.where, found.number)
    available = [o for o in options if o.status == "AVAILABLE"]
    names = ", ".join(o.name for o in available) or "none"
    chosen = next((o for o in options if o.name == runtime), None) if runtime else (available[0] if available else None)
    if chosen is None or chosen.status != "AVAILABLE":
        what = f"the runtime {runtime!r} is not available" if runtime else "no runtime is available"
        raise ConfigurationError(f"{what} for submission #{found.number}: available: {names}")
    if chosen.quota_seconds is not None and chosen.quota_seconds <= 0:
        raise ComputeQuotaError(
            f"the compute time of {context.label} is spent for today ({chosen.name}): wait until it resets (`crunch quota` shows it)"
        )
    competition = context.client.get_competition(context.info.competition_name)
    frequency = _train_frequency(console, competition, train_frequency)
    force = _force_first_train(console, competition, force_first_train, found.number, has_model=found.model is not None)
    from ..submission.forecast import ask_before_spending, for_run

    forecast = for_run(context.client, context.where, context.workspace, console.warn, chosen.quota_seconds)
    ask_before_spending(forecast, console, yes=yes, what="this run")
    created = context.client.create_run(
        *context.where, submission_id=found.id, train_frequency=frequency, force_first_train=force, runtime=chosen.name
    )
    force_text = "as the competition decides" if force is None else ("yes" if force else "no")
    console.result(
        f"run {created.id} created: submission #{found.number} on {chosen.name}, {_frequency_text(frequency)}, "
        f"force first train {force_text}" + (f" ({human_duration(chosen.quota_seconds)} of compute left today)" if chosen.quota_seconds is not None else "")
    )
    console.print(f"follow it: `crunch run logs {created.id} --follow`; wait for it: `crunch run wait {created.id}`")
    return created.id
