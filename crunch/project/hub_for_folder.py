"""The hub to ask when a command may run inside a workspace or outside one: the workspace's
own hub when there is one around the current folder, else the one of the options."""

from __future__ import annotations

from typing import Optional, Tuple

from ..exceptions import CrunchError
from .settings import Settings
from .workspace import Workspace, find_root, hub_settings


def settings_here(settings: Settings) -> Tuple[Settings, Optional[Workspace]]:
    root = find_root()
    if root is None:
        return settings, None
    workspace = Workspace(root)
    try:
        return hub_settings(workspace, settings), workspace
    except CrunchError:  # a damaged project.json does not stop a command that needs no project
        return settings, workspace
