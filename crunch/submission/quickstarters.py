"""Finding one quickstarter of the workspace's competition by name."""

from __future__ import annotations

from ..api.models import Quickstarter
from ..exceptions import ApiError, ConfigurationError
from ..project.context import ProjectContext


def find_quickstarter(context: ProjectContext, name: str) -> Quickstarter:
    try:
        return context.client.get_quickstarter(context.info.competition_name, name)
    except ApiError as error:
        if error.status != 404:
            raise
    names = ", ".join(q.name for q in context.client.list_quickstarters(context.info.competition_name)) or "none"
    raise ConfigurationError(f"{context.info.competition_name} has no quickstarter {name!r} (it has: {names})")
