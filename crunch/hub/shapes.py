"""The two sets of answer shapes the hub can speak (one setting of a running hub).

``current`` (the default) is what the platform sends today, as crunch-cli 13.0.1 reads it:

- times are ISO 8601 without a zone, in UTC, to the microsecond (``2026-12-08T10:11:12.345678``);
  that client subtracts them from a naive UTC "now";
- a data release's ``columnNames`` is ``{"id", "moon", "side", "input", "output", "targets"}``
  with ``targets`` a list of ``{"id", "name", "side", "input", "output", "filePath"}``;
- ``POST /v1/uploads/{id}/chunks/{n}/confirm`` answers the confirmed chunk;
- ``GET /v2/competitions`` always answers a page (``content``, ``pageNumber``, ``pageSize``...);
- ``GET /v2/competitions/{c}/quickstarters`` lists the quickstarters without their files
  (``GET .../quickstarters/{name}`` has them).

``classic`` is what older platform answers looked like (and what this hub sent before):
times with a ``Z``, to the second; ``columnNames.targets`` an object ``{name: {"input",
"output"}}``; the confirm answers the whole upload (with the chunk's fields on top); the
competition listing a bare list unless ``page``/``size`` is asked for; quickstarters listed
with their files.

The store keeps one form whatever the setting (times as epoch seconds or ``Z`` texts, the
classic column names); only the JSON sent over HTTP changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional, Union

CURRENT = "current"
CLASSIC = "classic"
SHAPES = (CURRENT, CLASSIC)
SHAPES_VARIABLE = "CRUNCH_HUB_SHAPES"  # the shapes of a hub started without saying (crunch hub serve --shapes)


def check_shapes(value: Any) -> str:
    """``value`` when it names a set of shapes; ValueError otherwise."""
    if value not in SHAPES:
        raise ValueError(f"shapes must be {' or '.join(SHAPES)}, not {value!r}")
    return str(value)


def _utc(value: Union[float, int, str]) -> dt.datetime:
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)


def time_text(value: Optional[Union[float, int, str]], shapes: str) -> Optional[str]:
    """A time of the store (epoch seconds, or an ISO text) as the answers of ``shapes`` write it:
    ``current``, UTC without a zone to the microsecond; ``classic``, UTC with ``Z`` to the second
    (an ISO text of the store is sent as it is kept)."""
    if value is None:
        return None
    if shapes == CLASSIC:
        if isinstance(value, str):
            return value
        return _utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")
    return _utc(value).replace(tzinfo=None).isoformat(timespec="microseconds")


def column_names_json(stored: Mapping[str, Any], target_ids: Mapping[str, int], shapes: str) -> Dict[str, Any]:
    """A data release's column names, kept as ``{"id", "moon", "targets": {name: {"input",
    "output"}}}``, in the shape of ``shapes``; ``target_ids``: the competition's target ids by name."""
    if shapes == CLASSIC:
        return dict(stored)
    kept = stored.get("targets") or {}
    if isinstance(kept, list):  # already a list of target objects
        pairs = [(str(t.get("name")), t) for t in kept if isinstance(t, Mapping)]
    else:
        pairs = [(str(name), columns if isinstance(columns, Mapping) else {}) for name, columns in kept.items()]
    targets: List[Dict[str, Any]] = []
    for index, (name, columns) in enumerate(pairs):
        targets.append({
            "id": target_ids.get(name, index + 1),
            "name": name,
            "side": columns.get("side"),
            "input": columns.get("input"),
            "output": columns.get("output"),
            "filePath": columns.get("filePath"),
        })
    single = targets[0] if len(targets) == 1 else None  # one target: its columns are the release's too
    return {
        "id": stored.get("id"),
        "moon": stored.get("moon"),
        "side": stored.get("side"),
        "input": single["input"] if single else None,
        "output": single["output"] if single else None,
        "targets": targets,
    }


__all__ = ["CLASSIC", "CURRENT", "SHAPES", "SHAPES_VARIABLE", "check_shapes", "column_names_json", "time_text"]
