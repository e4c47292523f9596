"""``crunch download``: the data release cached and its files fetched (see :mod:`crunch.data.download`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from ..api.models import DataRelease
from ..core.console import Console
from ..data.download import ensure_data
from ..exceptions import NoDataYetError, NothingToDoError
from ..project.settings import Settings
from ..project.workspace import DATA_DIR, Workspace

if TYPE_CHECKING:
    from ..transfer.ranges import ConnectionsValue


def run(
    *,
    settings: Settings,
    console: Console,
    force: bool = False,
    round_number: Any = "@current",
    size_variant: Optional[str] = None,
    connections: ConnectionsValue = None,
) -> Optional[DataRelease]:
    from ..transfer.ranges import connections_setting

    connections = connections_setting(connections)
    workspace = Workspace.find()
    try:
        release = ensure_data(
            workspace, settings, console, round_number=round_number, size_variant=size_variant, force=force, connections=connections
        )
    except NoDataYetError as error:
        raise NothingToDoError(f"{error.message} (nothing to download)") from None
    files: List[str] = [f.name for f in release.data_files.values() if f.available]
    number = workspace.cached_round_number()
    console.print(f"data of round {number if number is not None else round_number} is ready in {DATA_DIR}/ ({len(files)} file(s))")
    return release
