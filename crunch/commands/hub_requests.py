"""``crunch hub requests``: the library and runtime requests made to a local hub."""

from __future__ import annotations

from typing import Any, Dict, List

from ..core.console import Console
from ..core.display import as_json, table, visible
from ..project.settings import Settings


def request_record(kind: str, row: Any) -> Dict[str, Any]:
    """A request of the hub's store as ``hub requests`` and ``hub accept|reject`` show it."""
    if kind == "library":
        what = " / ".join(n for n in (row["name"], row["alias"]) if n) + f" ({row['language'].lower()}"
        what += f", gpu {row['gpu_requirement'].lower()})" if row["gpu_requirement"] else ")"
        detail = row["additional_details"]
    else:
        what = f"{row['definition']} for submission #{row['submission_number']} (project id {row['project_id']})"
        detail = row["justification"]
    return {"kind": kind, "id": row["id"], "what": what, "detail": detail, "verdict": row["verdict"], "reason": row["verdict_reason"]}


def run(*, settings: Settings, console: Console, root: str = ".crunch-hub", all_: bool = False, json_output: bool = False) -> List[Dict[str, Any]]:
    from ..hub.requests import KINDS, list_requests, open_store

    store = open_store(root)
    try:
        records = [request_record(kind, row) for kind in KINDS for row in list_requests(store, kind)]
    finally:
        store.close()
    if not all_:
        records = [r for r in records if r["verdict"] == "PENDING"]
    if json_output:
        console.result(as_json(records))
        return records
    if not records:
        console.result("no request is waiting" if not all_ else "no request was made")
        return records
    rows = [[r["kind"], r["id"], visible(r["what"], lines=False), r["verdict"].lower(), visible(r["detail"] or "-", lines=False)[:60]] for r in records]
    for line in table(["kind", "id", "request", "verdict", "details"], rows, right=(1,)):
        console.result(line)
    console.print("\ndecide one: `crunch hub accept KIND ID` or `crunch hub reject KIND ID [--reason TEXT]`")
    return records
