"""``crunch leaderboard``: the project's rank and metrics on the competition's leaderboard."""

from __future__ import annotations

from typing import Any, List

from ..core.console import Console
from ..core.display import as_json, table
from ..project.context import open_project
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, json_output: bool = False) -> List[Any]:
    context = open_project(settings)
    standing = context.client.leaderboard_standing(*context.where)
    if json_output:
        answer = [
            {
                "target": t.name,
                "displayName": t.display_name,
                "rank": t.rank.current,
                "previousRank": t.rank.previous,
                "metrics": {name: {"current": m.current, "previous": m.previous} for name, m in t.metrics.items()},
            }
            for t in standing
        ]
        console.result(as_json(answer))
        return answer
    if not standing:
        console.result(f"{context.label} is not on the leaderboard yet: its scores appear after a run of a submission is scored")
        return standing
    competition = context.client.get_competition(context.info.competition_name)
    names = {m.name: m.display_name for m in context.client.get_metrics(competition.id if competition.id is not None else competition.name)}
    rows = []
    for target in standing:
        rows.append((target.display_name, "rank", target.rank.unit.format(target.rank.current), target.rank.unit.format(target.rank.previous)))
        for name, metric in target.metrics.items():
            rows.append(("", names.get(name, name), metric.unit.format(metric.current), metric.unit.format(metric.previous)))
    for line in table(["target", "measure", "now", "before"], rows, right=(2, 3)):
        console.result(line)
    return standing
