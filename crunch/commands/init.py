"""``crunch init``: an empty workspace (crunch-cli 13's ``init``): the setup token exchanged,
``.crunchdao/``, the data and the model directory, and no code."""

from __future__ import annotations

from typing import Any, Optional

from ..core.console import Console
from ..project.settings import Settings
from ..project.workspace import Workspace


def run(
    *, settings: Settings, console: Console, competition: str, project: str, token: str, directory: Optional[str] = None,
    force: bool = False, no_data: bool = False, model_directory: Optional[str] = None, **_: Any,
) -> Workspace:
    from . import setup

    return setup.run(
        settings=settings, console=console, competition=competition, project=project, token=token, directory=directory,
        force=force, submission="scratch", no_model=True, no_data=no_data, model_directory=model_directory, empty=True,
    )
