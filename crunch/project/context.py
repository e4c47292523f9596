"""The workspace a project command runs in, with a client of its hub and its project record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .settings import Settings
from .workspace import ProjectInfo, Workspace, hub_client, hub_settings


@dataclass
class ProjectContext:
    workspace: Workspace
    info: ProjectInfo
    settings: Settings  # the workspace's hub, unless an option or variable chose one
    client: Any  # crunch.api.Client with the push token (or the API key)

    @property
    def where(self) -> tuple:
        """(competition, user id, project name): the path of the project's calls."""
        return (self.info.competition_name, self.info.user_id, self.info.project_name)

    @property
    def label(self) -> str:
        return f"{self.info.competition_name}/{self.info.project_name}"


def open_project(settings: Settings) -> ProjectContext:
    """The workspace around the current folder, its project and a client of its hub."""
    workspace = Workspace.find()
    info = workspace.project()
    return ProjectContext(workspace, info, hub_settings(workspace, settings), hub_client(workspace, settings))
