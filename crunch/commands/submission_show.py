"""``crunch submission show N|@last``: a submission, its files and its model."""

from __future__ import annotations

from typing import Any, Dict, Union

from ..core.console import Console
from ..core.display import as_json, human_size, local_time, table
from ..project.context import open_project
from ..project.settings import Settings
from ..submission.lookup import find_submission, parse_identifier


def run(*, settings: Settings, console: Console, submission: Union[str, int], json_output: bool = False) -> Dict[str, Any]:
    identifier = parse_identifier(submission)
    context = open_project(settings)
    found = find_submission(context, identifier)
    files = context.client.submission_files(*context.where, found.number)
    models = context.client.model_files(*context.where, found.model.id) if found.model is not None else []
    if json_output:
        answer = {
            **found.raw,
            "files": [{"name": f.name, "size": f.size} for f in files],
            "modelFiles": [{"name": f.name, "size": f.size} for f in models],
        }
        console.result(as_json(answer))
        return answer
    for line in (
        f"submission #{found.number} of {context.label}",
        f"  message     {found.message or '-'}",
        f"  created     {local_time(found.created_at)}",
        f"  size        {human_size(found.total_size)}",
        f"  main file   {found.main_file_path}",
        "",
    ):
        console.result(line)
    rows = [(f.name + ("  (main file)" if f.name == found.main_file_path else ""), human_size(f.size)) for f in files]
    for line in table(["code file", "size"], rows, right=(1,)):
        console.result(line)
    console.result("")
    if found.model is None:
        console.result("no model files")
    else:
        folder = f"{found.model_directory_path.rstrip('/')}/" if found.model_directory_path else ""
        rows = [(f"{folder}{f.name}", human_size(f.size)) for f in models]
        for line in table(["model file", "size"], rows, right=(1,)):
            console.result(line)
    return {"submission": found, "files": files, "model_files": models}
