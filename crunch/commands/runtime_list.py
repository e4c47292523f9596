"""``crunch runtime list``: the runtimes a submission may run on, and which need a request."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from ..api.models import RuntimeDefinition
from ..core.console import Console
from ..core.display import as_json, human_duration, table, visible
from ..exceptions import NeverSubmittedError
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.lookup import LAST, find_submission, parse_identifier


def _gpu(definition: Optional[RuntimeDefinition]) -> str:
    if definition is None or not definition.gpu_model:
        return "none"
    count = f"{definition.gpu_count}x " if definition.gpu_count and definition.gpu_count > 1 else ""
    driver = f" (driver {definition.gpu_driver})" if definition.gpu_driver else ""
    return f"{count}{definition.gpu_model}{driver}"


def _columns(name: str, definition: Optional[RuntimeDefinition]) -> List[str]:
    memory = definition.memory_gb if definition is not None else None
    cores = definition.cpu_cores if definition is not None else None
    return [
        visible(name, lines=False),
        visible(definition.display_name if definition is not None else name, lines=False),
        f"{memory:g} GB" if memory is not None else "-",
        f"{cores} core{'s' if cores != 1 else ''}" if cores is not None else "-",
        visible(_gpu(definition), lines=False),
    ]


def run(*, settings: Settings, console: Console, submission: Union[str, int] = LAST, json_output: bool = False) -> List[Dict[str, Any]]:
    context = open_project(settings)
    identifier = parse_identifier(submission)
    try:
        found = find_submission(context, identifier)
    except NeverSubmittedError:
        if identifier != LAST:
            raise
        found = None
    if found is None:  # no submission yet: the competition's runtimes, without their status
        definitions = context.client.runtime_definitions(context.info.competition_name)
        listed = [{**d.to_dict(), "status": None} for d in definitions]
        if json_output:
            console.result(as_json(listed))
            return listed
        for line in table(["runtime", "display name", "memory", "cpu", "gpu"], [_columns(d.name, d) for d in definitions]):
            console.result(line)
        console.print(f"\n{context.label} has not submitted yet: which runtimes it may use is known after its first `crunch push`")
        return listed
    options = context.client.runtime_options(*context.where, found.number)
    listed = [
        {
            **(o.definition.to_dict() if o.definition is not None else {"name": o.name}),
            "status": o.status,
            "recommended": o.recommended,
            "quotaSeconds": o.quota_seconds,
        }
        for o in options
    ]
    if json_output:
        console.result(as_json(listed))
        return listed
    if not options:
        console.result(f"the hub offers no runtime to submission #{found.number}")
        return listed
    rows = [[*_columns(o.name, o.definition), visible(o.status.lower(), lines=False)] for o in options]
    console.result(f"runtimes of submission #{found.number}:")
    for line in table(["runtime", "display name", "memory", "cpu", "gpu", "status"], rows):
        console.result(line)
    quota = next((o.quota_seconds for o in options if o.status == "AVAILABLE" and o.quota_seconds is not None), None)
    if quota is not None:
        console.print(f"\n{human_duration(quota)} of compute time left today")
    if any(o.status == "REQUESTABLE" for o in options):
        console.print("a requestable runtime can be asked for: `crunch runtime request NAME --justification TEXT`")
    return listed
