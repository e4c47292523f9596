"""``crunch push``: send the code and the model of the workspace as a new submission (the plan
and the sending are :mod:`crunch.submission.push`)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Dict, Optional

from ..api import Client
from ..api.models import Submission
from ..code.files import check_model_directory
from ..code.mainfile import MainFile
from ..code.mainfile import locate as locate_main_file
from ..core.console import Console
from ..core.fsutil import human_size
from ..data import whitelist as whitelist_module
from ..exceptions import SubmissionError
from ..project.context import open_project
from ..project.settings import Settings
from ..project.workspace import Workspace
from ..submission.push import (
    Plan,
    check_export,
    check_export_not_sent,
    check_message,
    convert_for_push,
    export_plan,
    make_plan,
    notebook_conversion,
    report_freeze,
    send,
)


def _print_plan(plan: Plan, console: Console) -> None:
    console.result(f"code files ({len(plan.code)}, {human_size(plan.code_size)}):")
    for f in plan.code:
        console.result(f"  {f.path}  {human_size(f.size)}")
    console.result(f"model files in {plan.model_directory}/ ({len(plan.model)}, {human_size(plan.model_size)}):")
    for f in plan.model:
        console.result(f"  {plan.model_directory}/{f.path}  {human_size(f.size)}")
    if plan.freeze is not None:
        if plan.freeze.pinned:
            console.result(f"pinned requirements ({len(plan.freeze.pinned)}):")
            for name, version in plan.freeze.pinned:
                console.result(f"  {name}=={version}")
        if plan.freeze.not_installed:
            console.result("not installed here, left unpinned: " + ", ".join(plan.freeze.not_installed))
    total = plan.code_size + plan.model_size
    console.result(f"total: {len(plan.code) + len(plan.model)} files, {human_size(total)}")



def run(
    *,
    settings: Settings,
    console: Console,
    message: Optional[str] = None,
    main_file: Optional[str] = None,
    model_directory: Optional[str] = None,
    no_pip_freeze: bool = False,
    dry: bool = False,
    export: Optional[str] = None,
    overwrite: bool = False,
    start: Optional[Path] = None,
    uploader_options: Optional[Dict[str, Any]] = None,
    code: Optional[MainFile] = None,
    skip_submission_check: bool = False,
    yes: bool = False,
) -> Optional[Submission]:
    """``code``: where the participant's code is, when the caller knows it (the notebook
    ``submit()`` is called from); by default read from ``main_file`` and the workspace."""
    text = check_message(message)
    context = open_project(settings, Workspace.find(start))
    workspace, info, settings = context.workspace, context.info, context.settings
    root = workspace.root
    model_dir = check_model_directory(root, model_directory or info.model_directory)
    if model_directory and not (root / model_dir).is_dir():
        if (root / model_dir).exists():
            raise SubmissionError(f"the model directory {model_directory} is a file, not a folder: give the folder of your model files with --model-directory")
        raise SubmissionError(f"the model directory {model_directory} does not exist in {root}: create it, or give another --model-directory")
    sending = not dry and not export
    export_path = check_export(root, export, overwrite) if export else None

    client: Optional[Client] = None
    where: Any = ()
    if sending:
        client = context.client
        where = context.where

    main = code if code is not None else locate_main_file(root, main_file)
    if main.removed:
        console.print(f"removed {', '.join(main.removed)}: converted from the notebook by a run that was killed before cleaning up")
    conversion: Any = contextlib.nullcontext()
    produced: Optional[Dict[str, bytes]] = None
    if main.source is not None:
        whitelist = whitelist_module.load(workspace, client) if client is not None else whitelist_module.cached(workspace)
        produced = convert_for_push(main, whitelist, console)
    elif main.notebook is not None:
        whitelist = whitelist_module.load(workspace, client) if client is not None else whitelist_module.cached(workspace)
        conversion = notebook_conversion(root, main, no_pip_freeze, whitelist, console)

    with conversion:
        plan = make_plan(
            root,
            main_file=main.script,
            model_directory=model_dir,
            no_pip_freeze=no_pip_freeze,
            console=console,
            produced=produced,
        )
        if export_path is not None:
            check_export_not_sent(plan, export_path)
        for note in plan.notes:
            console.warn(note)
        if not skip_submission_check:
            from ..submission.check import check_submission

            check_submission(workspace, settings, plan, console)
        if dry:
            _print_plan(plan, console)
            console.result("dry run: nothing was sent")
            return None
        if export_path is not None:
            report_freeze(plan.freeze, console)
            try:
                export_plan(plan, export_path)
            except OSError as error:
                raise SubmissionError(
                    f"cannot write {export}: {error.strerror or error}; choose a FILE in a folder you can write to"
                ) from None
            console.result(
                f"wrote {export_path} ({len(plan.code)} code files, {len(plan.model)} model files, "
                f"{human_size(plan.code_size + plan.model_size)} before compression): nothing was sent"
            )
            return None
        assert client is not None
        from ..submission.forecast import ask_before_spending, for_push

        ask_before_spending(for_push(client, where, workspace, console.warn), console, yes=yes, what="this push")
        report_freeze(plan.freeze, console)
        console.print(
            f"pushing {len(plan.code)} code file(s) ({human_size(plan.code_size)}) and {len(plan.model)} model file(s) "
            f"({human_size(plan.model_size)}) to {settings.api_base_url}"
        )
        return send(plan, client, settings, info, text, console, uploader_options or {})

