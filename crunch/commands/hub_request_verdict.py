"""``crunch hub accept|reject KIND ID``: decide a library or runtime request made to a local hub."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ..core.console import Console
from ..core.display import visible
from ..exceptions import CrunchError
from ..project.settings import Settings


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
    from ..hub.requests import decide, open_store
    from ..hub.store import HubError
    from .hub_requests import request_record

    store = open_store(root)
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
