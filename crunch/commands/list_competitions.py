"""``crunch list``: the competitions of the hub, with crunch-cli 13's filters."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..api import Client
from ..core.console import Console
from ..core.display import as_json, local_time, table
from ..project.settings import Settings


def run(
    *, settings: Settings, console: Console, format_: Optional[str] = None, mode: Optional[str] = None,
    status: Optional[str] = None, continuous: Optional[bool] = None, external: Optional[bool] = None,
    featured: Optional[bool] = None, organizer_name: Optional[str] = None, team_based: Optional[bool] = None,
    json_output: bool = False,
) -> List[Dict[str, Any]]:
    filters = {
        "format": format_.upper() if format_ else None,
        "mode": mode.upper() if mode else None,
        "status": status.upper() if status else None,
        "continuous": continuous,
        "external": external,
        "featured": featured,
        "organizerName": organizer_name,
        "teamBased": team_based,
    }
    found = sorted(Client(settings.api_base_url, api_key=settings.api_key).list_competitions(filters), key=lambda c: c.name)
    competitions = [c.raw for c in found]
    if json_output:
        console.result(as_json(competitions))
        return competitions
    if not competitions:
        filtered = any(v is not None for v in filters.values())
        console.result("no competition matches these filters" if filtered else "no competitions on this hub")
        return competitions
    rows = [
        (
            competition.name or "-",
            str(raw.get("format") or "-"),
            competition.status or "-",
            local_time(raw.get("end") if isinstance(raw.get("end"), str) else None, default="-"),
            competition.display_name if competition.display_name != competition.name else str(raw.get("displayName") or ""),
        )
        for competition, raw in zip(found, competitions)
    ]
    for line in table(["name", "format", "status", "ends", "title"], rows):
        console.result(line)
    return competitions
