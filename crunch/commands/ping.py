"""``crunch ping``: is the hub reachable, and at which URL."""

from __future__ import annotations

import time

from ..api import Client
from ..core.console import Console
from ..project.settings import Settings


def run(*, settings: Settings, console: Console) -> float:
    client = Client(settings.api_base_url, api_key=settings.api_key)
    start = time.perf_counter()
    competitions = client.list_competitions()
    elapsed = time.perf_counter() - start
    console.result(
        f"hub at {settings.api_base_url} ({settings.environment}) answered in {elapsed * 1000:.0f} ms: "
        f"{len(competitions)} competition(s)"
    )
    return elapsed
