"""``crunch status``: the competition and the project of the workspace."""

from __future__ import annotations

from typing import Any, Dict

from ..core.console import Console
from ..core.display import as_json, local_time
from ..project.context import open_project
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, json_output: bool = False) -> Dict[str, Any]:
    context = open_project(settings)
    competition = context.client.get_competition(context.info.competition_name)
    project = context.client.get_project(*context.where)
    raw = competition.raw
    if json_output:
        answer = {"competition": raw, "project": {"id": project.id, "name": project.name, "userId": project.user_id, "createdAt": project.created_at}}
        console.result(as_json(answer))
        return answer
    lines = [
        "competition",
        f"  name            {competition.name}",
        f"  display name    {competition.display_name}",
        f"  format          {competition.format.value}",
        f"  status          {competition.status or '-'}",
        f"  starts          {local_time(raw.get('start'))}",
        f"  ends            {local_time(raw.get('end'), default='no end date')}",
    ]
    if raw.get("documentationUrl"):
        lines.append(f"  documentation   {raw['documentationUrl']}")
    if raw.get("teamBased"):
        lines.append(f"  teams           up to {raw.get('maxTeamSize')} members")
    lines += [
        "",
        "project",
        f"  name            {project.name}",
        f"  user            {project.user_id}",
        f"  created         {local_time(project.created_at)}",
        f"  hub             {context.settings.api_base_url}",
        f"  workspace       {context.workspace.root}",
    ]
    for line in lines:
        console.result(line)
    return {"competition": raw, "project": project}
