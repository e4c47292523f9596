"""The competition's library whitelist: from the hub when reachable, cached in the workspace.

It maps an imported module to the distribution the platform installs for it
(``sklearn`` -> ``scikit-learn``), and tells which requirements the platform knows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

from ..api.models import Library
from ..api.models import library_index as module_index  # noqa: F401 - the name callers use
from ..core.fsutil import read_text
from ..exceptions import UserCodeError
from ..project.workspace import CACHE_LIBRARIES, Workspace

if TYPE_CHECKING:
    from ..core.console import Console


def cached(workspace: Optional[Workspace]) -> Optional[List[Library]]:
    """The whitelist cached in ``workspace``, or ``None`` (a damaged cache is a
    :class:`~crunch.exceptions.CorruptCacheError` naming the file)."""
    if workspace is None:
        return None
    return workspace.load_cache(CACHE_LIBRARIES, lambda node: [Library.read(item) for item in node.items()])


def refresh(workspace: Optional[Workspace], client: "object") -> List[Library]:
    """Fetch the whitelist from the hub (``client.list_libraries``) and cache it."""
    libraries = client.list_libraries()  # type: ignore[attr-defined]
    if workspace is not None:
        workspace.write_cache(
            CACHE_LIBRARIES,
            [library.to_dict() for library in libraries],
        )
    return libraries


def load(workspace: Optional[Workspace], client: "object" = None) -> Optional[List[Library]]:
    """The whitelist: fetched when a client is given and the hub answers, else the cache.

    Returns ``None`` when neither is available (the caller falls back to the installed
    distributions and says so).
    """
    if client is not None:
        from ..exceptions import CrunchError

        try:
            return refresh(workspace, client)
        except CrunchError:
            pass
    return cached(workspace)




REQUIREMENTS_FILE = "requirements.txt"


def check_requirements(workspace: Workspace, console: "Console") -> List[str]:
    """Warn about requirements the competition's whitelist does not know; return their names."""
    path = workspace.root / REQUIREMENTS_FILE
    if not path.exists() or path.is_dir():
        return []
    from packaging.utils import canonicalize_name


    libraries = cached(workspace)
    if libraries is None:
        console.warn(f"the competition's library whitelist is not cached: {REQUIREMENTS_FILE} not checked (`crunch download` caches it)")
        return []
    known = {canonicalize_name(name) for library in libraries for name in [library.name, *library.aliases]}
    from ..code.freeze import requirement_names

    try:
        text = read_text(path, errors="replace")
    except OSError as error:
        raise UserCodeError(f"cannot read {path}: {error.strerror or error}") from None
    names, unreadable = requirement_names(text)
    for line in unreadable:
        console.warn(f"{REQUIREMENTS_FILE}: cannot read the line `{line}`")
    unknown = [name for name in names if canonicalize_name(name) not in known]
    for name in unknown:
        console.warn(f"{REQUIREMENTS_FILE}: `{name}` is not in the competition's whitelist: the platform will not install it")
    return unknown

