"""``crunch list``: the competitions of the hub."""

from __future__ import annotations

from typing import List

from ..api import Client
from ..api.models import Competition
from ..console import Console
from ..settings import Settings


def run(*, settings: Settings, console: Console) -> List[Competition]:
    competitions = Client(settings.api_base_url, api_key=settings.api_key).list_competitions()
    if not competitions:
        console.result("no competitions on this hub")
        return competitions
    width = max(len(c.name) for c in competitions)
    for competition in sorted(competitions, key=lambda c: c.name):
        status = f"  [{competition.status}]" if competition.status else ""
        console.result(f"{competition.name:<{width}}  {competition.format.value:<10}  {competition.display_name}{status}")
    return competitions
