"""``crunch hub token``: print a fresh setup token of the local hub."""

from __future__ import annotations

from typing import Any

from ..core.console import Console
from ..exceptions import CrunchError
from ..project.settings import Settings


def run(*, settings: Settings, console: Console, competition: str, project: str, user: str = "me", root: str = ".crunch-hub", **_: Any) -> str:
    from ..hub.seed import seed_if_needed
    from ..hub.store import HubError, Store, check_name

    for field, value in (("competition", competition), ("project", project), ("user", user)):
        try:
            check_name(field, value)
        except HubError as error:
            raise CrunchError(f"{error.message}: give a {field} name of printable characters") from None
    store = Store(root)
    try:
        seed_if_needed(store)
        token = store.mint_clone_token(competition, project, user)
    except HubError as error:
        names = ", ".join(r["name"] for r in store.competitions())
        raise CrunchError(f"{error.message}: the hub at {root} has {names or 'no competitions'}") from None
    finally:
        store.close()
    console.result(token)
    return token
