"""Which project, which hub: the one place that opens a project for a command, the notebook
or the hub's runs (the workspace around a folder, its project record, the hub it was set up
against unless an option or a variable chose another, and a client of that hub)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Tuple

from ..exceptions import CrunchError
from .settings import Settings
from .workspace import ProjectInfo, Workspace, find_root


@dataclass
class ProjectContext:
    workspace: Workspace
    info: ProjectInfo
    settings: Settings  # the workspace's hub, unless an option or variable chose one
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        """A client of the project's hub with the push token (or the API key), made on first use:
        a command that works offline never needs the token."""
        if self._client is None:
            self._client = _client_of(self.workspace, self.settings)
        return self._client

    @property
    def where(self) -> tuple:
        """(competition, user id, project name): the path of the project's calls."""
        return (self.info.competition_name, self.info.user_id, self.info.project_name)

    @property
    def label(self) -> str:
        return f"{self.info.competition_name}/{self.info.project_name}"


def open_project(settings: Settings, workspace: Optional[Workspace] = None) -> ProjectContext:
    """The workspace around the current folder (or ``workspace``), its project and a client of its hub."""
    workspace = workspace or Workspace.find()
    info = workspace.project()
    return ProjectContext(workspace, info, _for_project(info, settings))


def _for_project(info: ProjectInfo, settings: Settings) -> Settings:
    return settings.for_workspace(info.api_base_url, info.web_base_url)


def hub_settings(workspace: Workspace, settings: Settings) -> Settings:
    """The hub ``workspace`` was set up against, unless an option or variable chose one."""
    return _for_project(workspace.project(), settings)


def hub_client(workspace: Workspace, settings: Settings) -> Any:
    """A client of the workspace's hub with its push token, or the API key when it has none."""
    return _client_of(workspace, hub_settings(workspace, settings))


def _client_of(workspace: Workspace, settings: Settings) -> Any:
    """The client of ``settings`` (already the workspace's hub): the push token, else the API key."""
    from ..api import Client

    if not workspace.token_file.exists():
        settings = settings.with_api_key()
    if workspace.token_file.exists() or not settings.api_key:
        return Client(settings.api_base_url, push_token=workspace.read_token())
    return Client(settings.api_base_url, api_key=settings.api_key)


def settings_here(settings: Settings) -> Tuple[Settings, Optional[Workspace]]:
    """The hub to ask when a command may run inside a workspace or outside one: the workspace's
    own hub when there is one around the current folder, else the one of the options."""
    root = find_root()
    if root is None:
        return settings, None
    workspace = Workspace(root)
    try:
        return hub_settings(workspace, settings), workspace
    except CrunchError:  # a damaged project.json does not stop a command that needs no project
        return settings, workspace
