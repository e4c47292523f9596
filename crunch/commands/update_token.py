"""``crunch update-token``: exchange a fresh setup token for the workspace's push token."""

from __future__ import annotations

from ..api import Client
from ..api.models import Competition
from ..core.console import Console
from ..core.fsutil import check_room
from ..exceptions import ConfigurationError, CorruptCacheError
from ..project.context import open_project
from ..project.settings import Settings
from ..project.workspace import CACHE_COMPETITION, Workspace

TOKEN_ROOM = 64 * 1024  # bytes free below which the setup token is not exchanged


def run(*, settings: Settings, console: Console, token: str) -> Workspace:
    context = open_project(settings)
    workspace, info, settings = context.workspace, context.info, context.settings
    token = (token or "").strip()
    if not token:
        raise ConfigurationError("the setup token is empty: copy it again from the competition's Submit page")
    workspace.check_token_replaceable()  # before the single-use token is spent
    check_room(workspace.dot_dir, TOKEN_ROOM, "the new push token", "the setup token was not used")
    client = Client(settings.api_base_url)
    try:
        cached = workspace.load_cache(CACHE_COMPETITION, Competition.read)
    except CorruptCacheError:
        cached = None  # the hub is asked below
    known = {info.competition_name}
    if cached is not None and cached.name == info.competition_name and cached.id is not None:
        known.add(str(cached.id))
    else:
        competition = client.get_competition(info.competition_name)
        known.update({str(competition.id), competition.name})
    upgraded = client.upgrade_token(token)
    wanted = upgraded.project.competition_id
    if wanted not in (None, "") and str(wanted) not in known:
        raise ConfigurationError(
            f"this setup token is for another competition than {info.competition_name!r}: "
            "copy it from this competition's Submit page (the workspace's token was not changed)"
        )
    workspace.write_token(upgraded.plain)
    name, user_id = upgraded.project.name or info.project_name, upgraded.project.user_id
    if user_id is None:
        user_id = info.user_id
    if (name, str(user_id)) != (info.project_name, str(info.user_id)):
        info.project_name, info.user_id = name, user_id
        workspace.write_project(info)
        console.print(f"the workspace now acts for the project {name!r}")
    console.print("push token updated")
    return workspace
