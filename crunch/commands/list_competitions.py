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
    found = Client(settings.api_base_url, api_key=settings.api_key).list_competitions(filters)
    competitions = [c.raw for c in sorted(found, key=lambda c: c.name)]
    if json_output:
        console.result(as_json(competitions))
        return competitions
    if not competitions:
        filtered = any(v is not None for v in filters.values())
        console.result("no competition matches these filters" if filtered else "no competitions on this hub")
        return competitions
    rows = [
        (str(c["name"]), str(c.get("format") or "-"), str(c.get("status") or "-"), local_time(c.get("end") if isinstance(c.get("end"), str) else None, default="-"), str(c.get("displayName") or ""))
        for c in competitions
    ]
    for line in table(["name", "format", "status", "ends", "title"], rows):
        console.result(line)
    return competitions
