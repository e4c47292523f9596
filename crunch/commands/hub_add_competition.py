"""``crunch hub add-competition``: host a folder of parquet files as a competition."""

from __future__ import annotations

from typing import Any, Sequence

from ..console import Console
from ..exceptions import CrunchError
from ..settings import Settings


def run(
    *,
    settings: Settings,
    console: Console,
    name: str,
    data_dir: str,
    root: str = ".crunch-hub",
    timeseries: bool = False,
    embargo: int = 0,
    id_column: str = "id",
    moon_column: str = "moon",
    targets: Sequence[str] = (),
    **_: Any,
) -> dict:
    from ..hub.seed import host_folder, seed_if_needed
    from ..hub.store import HubError, Store

    if not name or "/" in name or name.startswith("."):
        raise CrunchError(f"{name!r} cannot be a competition name: use letters, digits and dashes")
    store = Store(root)
    try:
        seed_if_needed(store)
        summary = host_folder(
            store,
            name,
            data_dir,
            timeseries=timeseries,
            embargo=embargo,
            id_column=id_column,
            moon_column=moon_column,
            targets=targets,
        )
    except (ValueError, HubError) as error:
        raise CrunchError(f"cannot host {data_dir}: {error}") from None
    finally:
        store.close()
    kind = f"TIMESERIES, {len(summary['testKeys'])} test moon(s)" if timeseries else "regular"
    console.result(f"hosted {name} ({kind}, {summary['features']} feature(s)): {', '.join(summary['files'])}")
    return summary
