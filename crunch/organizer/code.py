"""A competition's own file, read from the competitions source and loaded.

The source is the one of ``crunch test`` (``--competitions``, ``CRUNCH_COMPETITIONS_SOURCE``, the
hub of our own, else the platform's): an organizer points it at the folder holding
``competitions/<name>/scoring/`` (``local://DIR``) to try the files before they are hosted.
"""

from __future__ import annotations

import tempfile
import types
from pathlib import Path
from typing import Optional, Tuple

from ..data.competition_code import (
    CompetitionCodeError,
    Location,
    choose_source,
    fetch,
    load_module,
    relative_path,
)

#: the files of ``competitions/<name>/scoring/`` the organizer's commands run
FILES = ("scoring", "submission", "leaderboard", "reward")


def load_file(competition: str, file: str, explicit_source: Optional[str], api_base_url: Optional[str]) -> Tuple[types.ModuleType, str]:
    """``file`` (``scoring``, ``submission``, ``leaderboard``, ``reward``) of ``competition``,
    loaded, and where it was read from. A source that has no such file is a
    :class:`CompetitionCodeError` naming where it looked."""
    source, _explicit = choose_source(explicit_source, api_base_url)
    try:
        location, text = fetch(competition, file, source)
    except CompetitionCodeError as error:
        raise CompetitionCodeError(
            f"{error.message}; the organizer's commands read competitions/{competition}/scoring/{file}.py "
            "from --competitions (local://DIR for a folder holding competitions/<name>/scoring/)"
        ) from None
    return _load(location, text, competition, file), location.address


def _load(location: Location, text: str, competition: str, file: str) -> types.ModuleType:
    if location.kind == "local":
        return load_module(Path(location.address), f"from {location.address}")
    # a file read over the network is executed from a copy, so that tracebacks show its lines
    with tempfile.TemporaryDirectory(prefix="organizer-code-") as scratch:
        path = Path(scratch) / relative_path(competition, file)
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        module = load_module(path, f"from {location.address}")
    module.__file__ = location.address
    return module
