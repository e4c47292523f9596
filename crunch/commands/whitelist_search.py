"""``crunch whitelist search QUERY``: the whitelisted libraries whose name or alias holds
QUERY (``*`` stands for any text, as in crunch-cli 13)."""

from __future__ import annotations

from typing import Any, List, Optional

from ..api import Client
from ..core.console import Console
from ..core.display import as_json, table
from ..exceptions import ConfigurationError, CrunchError
from ..project.context import settings_here
from ..project.settings import Settings

GPU = {"OPTIONAL": "useless", "RECOMMENDED": "useful", "REQUIRED": "required", None: "unknown"}


class NoMatch(CrunchError):
    """No library matched: exit 1, so scripts can tell."""


def pattern_of(query: str) -> str:
    """``pand`` -> ``%pand%``; ``*`` is a wildcard (``%`` on the wire), as crunch-cli 13 sends it."""
    text = query.strip()
    if not text:
        raise ConfigurationError("the search query is empty: give a part of a library's name")
    return f"*{text}*".replace("*", "%")


def run(
    *, settings: Settings, console: Console, query: str, language: Optional[str] = None,
    limit: Optional[int] = 10, json_output: bool = False,
) -> List[Any]:
    pattern = pattern_of(query)
    hub, _ = settings_here(settings)
    client = Client(hub.api_base_url, api_key=hub.api_key)
    found = client.list_libraries(pattern, language=language.upper() if language else None, standard=False, limit=limit)
    more = limit is not None and len(found) > limit
    shown = found[:limit] if limit is not None else found
    if json_output:
        console.result(as_json([
            {"name": lib.name, "aliases": lib.aliases, "gpuRequirement": lib.gpu_requirement, "language": lib.language} for lib in shown
        ]))
    elif shown:
        rows = [(lib.name, ", ".join(lib.aliases) or "-", GPU.get(lib.gpu_requirement, str(lib.gpu_requirement).lower()), lib.language.lower()) for lib in shown]
        for line in table(["name", "aliases", "gpu", "language"], rows):
            console.result(line)
        if more:
            console.print(f"\nthe first {limit} shown: --limit N or --all for more")
    if not shown:
        raise NoMatch(f"no whitelisted library matches {query!r}: `crunch whitelist search` takes a part of the name, * for any text")
    return shown
