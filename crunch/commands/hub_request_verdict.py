"""``crunch hub accept|reject KIND ID``: decide a library or runtime request made to a local hub."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

from ..core.console import Console
from ..core.display import visible
from ..exceptions import ConfigurationError, CrunchError
from ..project.settings import Settings


def open_hub_store(root: str) -> Any:
    """The store of the hub at ``root``; a folder that holds no hub is refused (not created)."""
    from ..hub.requests import ensure_request_schema
    from ..hub.store import Store

    if not os.path.isdir(root):
        raise ConfigurationError(f"there is no hub at {root}: give its folder with --root (the one of `crunch hub serve --root`)")
    store = Store(root)
    ensure_request_schema(store)
    return store


def run(
    *,
    settings: Settings,
    console: Console,
    kind: str,
    request_id: int,
    accept: bool,
    reason: Optional[str] = None,
    block: bool = False,
    root: str = ".crunch-hub",
) -> Dict[str, Any]:
    from ..hub.requests import decide
    from ..hub.store import HubError
    from .hub_requests import request_record

    store = open_hub_store(root)
    try:
        row = decide(store, kind, request_id, accept, reason, block)
    except HubError as error:
        raise CrunchError(error.message) from None
    finally:
        store.close()
    record = request_record(kind, row)
    done = "accepted" if accept else "rejected"
    effect = ""
    if accept:
        effect = ": the library is whitelisted" if kind == "library" else ": the runtime is available to that submission"
    elif block:
        effect = ": further requests of that runtime by the project are refused"
    console.result(f"{kind} request #{row['id']} ({visible(record['what'], lines=False)}) {done}{effect}")
    return record
