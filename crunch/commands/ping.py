"""``crunch ping``: is the hub reachable, and at which URL."""

from __future__ import annotations

import time

from ..api import Client
from ..api.client import optional_call
from ..core.console import Console
from ..project.settings import Settings


def run(*, settings: Settings, console: Console) -> float:
    client = Client(settings.api_base_url, api_key=settings.api_key)
    start = time.perf_counter()
    competitions = optional_call(client.list_competitions, None, "the competition listing", "it answered all the same", console.print)
    elapsed = time.perf_counter() - start
    counted = f": {len(competitions)} competition(s)" if competitions is not None else ""
    console.result(f"hub at {settings.api_base_url} ({settings.environment}) answered in {elapsed * 1000:.0f} ms{counted}")
    return elapsed
