"""``crunch doctor``: before a push, what the cloud would object to in the workspace, each
finding with its fix (the checks are :mod:`crunch.doctor.checks`). False when something blocks."""

from __future__ import annotations

from typing import Optional

from ..core.console import Console
from ..core.display import as_json
from ..project.context import open_project
from ..project.settings import Settings

MARK = {"error": "error  ", "warning": "warning", "info": "info   "}


def run(
    *,
    settings: Settings,
    console: Console,
    main_file: Optional[str] = None,
    model_directory: Optional[str] = None,
    offline: bool = False,
    json_output: bool = False,
) -> bool:
    from ..data import whitelist as whitelist_module
    from ..doctor.checks import ERROR, WARNING, Finding, blocking, run_all
    from ..exceptions import CrunchError

    context = open_project(settings)
    workspace = context.workspace
    notes = []
    libraries = None
    if not offline:
        try:
            libraries = whitelist_module.refresh(workspace, context.client)
        except CrunchError as error:
            notes.append(Finding("whitelist", "info", f"the hub could not give the whitelist ({error}): the cached one is used", "run `crunch doctor` again with the hub reachable"))
    if libraries is None:
        libraries = whitelist_module.cached(workspace)
    findings = notes + run_all(workspace, main_file=main_file, model_directory=model_directory, libraries=libraries, offline=offline)
    blockers = blocking(findings)
    if json_output:
        console.result(as_json({"ok": not blockers, "findings": [finding.to_dict() for finding in findings]}))
        return not blockers
    for finding in findings:
        where = f"{finding.file}{':' + str(finding.line) if finding.line else ''}: " if finding.file else ""
        console.result(f"{MARK.get(finding.severity, finding.severity)} [{finding.check}] {where}{finding.message}")
        if finding.fix and finding.severity in (ERROR, WARNING):
            console.result(f"          fix: {finding.fix}")
    warnings = sum(1 for finding in findings if finding.severity == WARNING)
    if blockers:
        console.result(f"{len(blockers)} problem(s) the cloud would object to, {warnings} warning(s): fix them before `crunch push`")
    else:
        console.result(f"nothing the cloud would object to ({warnings} warning(s))")
    return not blockers
