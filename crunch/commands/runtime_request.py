"""``crunch runtime request NAME``: ask for a runtime that is given on request (a GPU, say) for
one submission; the platform's team reviews it."""

from __future__ import annotations

from typing import Any, Dict, Optional, Union

from ..core.console import Console
from ..core.display import as_json, visible
from ..exceptions import ConfigurationError, CrunchError
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.lookup import LAST, find_submission, parse_identifier


class RuntimeBlockedError(CrunchError):
    """A runtime the project may no longer ask for."""


def run(
    *,
    settings: Settings,
    console: Console,
    runtime: str,
    justification: str,
    submission: Union[str, int] = LAST,
    json_output: bool = False,
) -> Optional[Dict[str, Any]]:
    if not justification.strip():
        raise ConfigurationError("--justification is empty: say why the submission needs this runtime")
    context = open_project(settings)
    found = find_submission(context, parse_identifier(submission))
    options = context.client.runtime_options(*context.where, found.number)
    option = next((o for o in options if o.name == runtime), None)
    shown = visible(runtime, lines=False)
    if option is None:
        names = ", ".join(visible(o.name, lines=False) for o in options) or "none"
        raise ConfigurationError(f"there is no runtime {shown!r} for submission #{found.number}: the runtimes are {names} (`crunch runtime list`)")
    said: Dict[str, Any] = {"runtime": runtime, "submission": found.number, "status": option.status, "request": None}
    if option.status == "BLOCKED":
        raise RuntimeBlockedError(f"the runtime {shown} is blocked for {context.label}: no further request is accepted")
    if option.status in ("AVAILABLE", "REQUESTED"):
        if json_output:
            console.result(as_json(said))
        elif option.status == "AVAILABLE":
            console.result(f"the runtime {shown} is already available to submission #{found.number}: no request needed (`crunch run create --runtime {shown}`)")
        else:
            console.result(f"a request for the runtime {shown} on submission #{found.number} is already waiting for review")
        return said
    project = context.client.get_project(*context.where)
    competition = context.client.get_competition(context.info.competition_name)
    made = context.client.request_runtime_access(
        competition_id=competition.id, project_id=project.id, submission_number=found.number, runtime=runtime, justification=justification
    )
    said.update(status="REQUESTED", request={"id": made.id, "verdict": made.verdict})
    if json_output:
        console.result(as_json(said))
        return said
    console.result(f"request #{made.id} made for the runtime {shown} on submission #{found.number} ({made.verdict.lower()})")
    console.print("the platform's team reviews runtime requests and answers by e-mail; `crunch runtime list` shows the status")
    return said
