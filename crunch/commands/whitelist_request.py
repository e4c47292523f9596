"""``crunch whitelist request``: ask for a library to be added to the whitelist of the libraries
the platform installs; the platform's team reviews it."""

from __future__ import annotations

from typing import Any, Dict, Optional

from ..core.console import Console
from ..core.display import as_json, visible
from ..exceptions import ConfigurationError
from ..project.context import open_project
from ..project.settings import Settings

#: ``--gpu`` as crunch-cli 13.0.1 names it -> what the hub is sent
GPU_REQUIREMENTS = {"unknown": None, "useless": "OPTIONAL", "useful": "RECOMMENDED", "required": "REQUIRED"}


def run(
    *,
    settings: Settings,
    console: Console,
    name: Optional[str] = None,
    alias: Optional[str] = None,
    language: Optional[str] = None,
    gpu: Optional[str] = None,
    additional_details: Optional[str] = None,
    json_output: bool = False,
) -> Dict[str, Any]:
    name = (name or "").strip() or None
    alias = (alias or "").strip() or None
    if name is None and alias is None:
        raise ConfigurationError("give the library's --name (as published on PyPI or CRAN), the --alias it is imported by, or both")
    if gpu is not None and gpu.lower() not in GPU_REQUIREMENTS:
        raise ConfigurationError(f"--gpu {gpu!r}: give one of {', '.join(GPU_REQUIREMENTS)}")
    context = open_project(settings)
    competition = context.client.get_competition(context.info.competition_name)
    made = context.client.request_library(
        competition.id,
        name=name,
        alias=alias,
        language=language.upper() if language else None,
        gpu_requirement=GPU_REQUIREMENTS[gpu.lower()] if gpu else None,
        additional_details=additional_details,
    )
    said = {"id": made.id, "verdict": made.verdict, "name": made.name or name, "alias": made.alias or alias, "language": made.language}
    if json_output:
        console.result(as_json(said))
        return said
    what = visible(made.name or made.alias or name or alias or "", lines=False)
    console.result(f"request #{made.id} made for {what} ({made.verdict.lower()})")
    console.print("the platform's team reviews library requests and answers by e-mail")
    return said
