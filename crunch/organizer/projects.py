"""The projects ``rank()`` and ``compute_bounties()`` receive: from a scores file, or from the
hub's default leaderboard.

A scores file is a JSON list of projects::

    [{"id": 1, "group": "user-alice", "rewardable": true, "metrics": [{"id": 7, "score": 0.42}]}]

``group``: projects of one participant (or team) share it; ``rewardable``: whether the project
may be rewarded; ``metrics``: its score for each metric id of the target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Type

from . import OrganizerError


def _project(item: Any, where: str, kind: Type[Any]) -> Any:
    if not isinstance(item, dict):
        raise OrganizerError(f"{where} is a {type(item).__name__}, not a project object (id, group, rewardable, metrics)")
    missing = [key for key in ("id", "group", "rewardable", "metrics") if key not in item]
    if missing:
        raise OrganizerError(f"{where} has no {', '.join(missing)}: each project needs id, group, rewardable and metrics")
    if not isinstance(item["id"], int) or isinstance(item["id"], bool):
        raise OrganizerError(f"{where}.id is {item['id']!r}, not a project id (an integer)")
    if not isinstance(item["rewardable"], bool):
        raise OrganizerError(f"{where}.rewardable is {item['rewardable']!r}, not true or false")
    if not isinstance(item["metrics"], list):
        raise OrganizerError(f"{where}.metrics is not a list of {{\"id\", \"score\"}}")
    for index, metric in enumerate(item["metrics"]):
        inner = f"{where}.metrics[{index}]"
        if not isinstance(metric, dict) or "id" not in metric or "score" not in metric:
            raise OrganizerError(f"{inner} is not an object with an id and a score")
        score = metric["score"]
        if score is not None and (not isinstance(score, (int, float)) or isinstance(score, bool)):
            raise OrganizerError(f"{inner}.score is {score!r}, not a number")
    return kind.from_dict({**item, "group": str(item["group"])})


def read_scores_file(path: str, kind: Type[Any]) -> List[Any]:
    """The projects of the scores file at ``path`` (``kind``: RankableProject or RewardableProject)."""
    try:
        root = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise OrganizerError(f"cannot read the scores file {path}: {error}") from None
    except ValueError as error:
        raise OrganizerError(f"the scores file {path} is not JSON: {error}") from None
    if not isinstance(root, list):
        raise OrganizerError(f"the scores file {path} holds a {type(root).__name__}, not a list of projects")
    return [_project(item, f"{path}: [{index}]", kind) for index, item in enumerate(root)]


def from_leaderboard(leaderboard: Dict[str, Any], target: Any, kind: Type[Any]) -> Optional[List[Any]]:
    """The projects of ``target`` on the hub's leaderboard answer (``None`` when it has no such
    target). A position is rewardable when it is not a duplicate, not found non-deterministic, not
    out of range and not disqualified (a flag the hub does not send counts as clear)."""
    for entry in leaderboard.get("targets") or []:
        if isinstance(entry, dict) and entry.get("id") == target.id:
            positions = entry.get("positions") or []
            break
    else:
        return None
    projects = []
    for position in positions:
        if not isinstance(position, dict):
            continue
        user = position.get("user") or {}
        team = position.get("team")
        group = f"team-{team.get('name')}" if isinstance(team, dict) else f"user-{user.get('login')}"
        rewardable = (
            position.get("duplicate") is not True
            and position.get("deterministic") is not False
            and position.get("outOfRange") is not True
            and position.get("disqualification") is None
        )
        metrics = [
            {"id": metric.get("metricId"), "score": metric.get("score")}
            for metric in position.get("metrics") or []
            if isinstance(metric, dict)
        ]
        projects.append(kind.from_dict({"id": (position.get("project") or {}).get("id"), "group": group, "rewardable": rewardable, "metrics": metrics}))
    return projects


def check_metrics(projects: Sequence[Any], target: Any, metrics: Sequence[Any]) -> None:
    """Every metric id of the projects is a metric of ``target``."""
    known = {metric.id: metric for metric in metrics}
    for project in projects:
        for metric in project.metrics:
            if metric.id not in known:
                names = ", ".join(f"{m.id} ({m.name})" for m in metrics) or "none"
                raise OrganizerError(f"project {project.id} has a score for metric id {metric.id}, which is not a metric of the target {target.name} (its metrics: {names})")
