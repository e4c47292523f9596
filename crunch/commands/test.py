"""``crunch test``: run the person's ``train()``/``infer()`` on the local data, as the
platform's runner would, check the prediction and print a report (the test itself is
:func:`crunch.runner.workspace_test.test_workspace`)."""

from __future__ import annotations

import time
from typing import Any, Optional

from ..core.console import Console
from ..exceptions import PredictionError
from ..project.context import open_project
from ..project.settings import Settings
from ..project.workspace import Workspace


def run(
    *,
    settings: Settings,
    console: Console,
    main_file: Optional[str] = None,
    model_directory: Optional[str] = None,
    no_force_first_train: bool = False,
    train_frequency: int = 1,
    round_number: Any = "@current",
    gpu: bool = False,
    skip_library_check: bool = False,
    no_determinism_check: bool = False,
    no_checks: bool = False,
) -> bool:
    """Run the local test; True when the code ran and the prediction passed every check."""
    from ..data.whitelist import check_requirements
    from ..project import modeldir
    from ..runner.heap import no_numpy_hugepage_hint
    from ..runner.local import ensure_release
    from ..runner.workspace_test import WorkspaceTestOptions, test_workspace

    started = time.perf_counter()
    no_numpy_hugepage_hint()
    context = open_project(settings)
    workspace, project, settings = context.workspace, context.info, context.settings
    model_directory = modeldir.check(
        workspace.root,
        model_directory or project.model_directory,
        given_as="--model-directory" if model_directory else f"the modelDirectory of {workspace.project_file}",
    )
    release = ensure_release(workspace, settings, console, round_number)
    if not skip_library_check:
        check_requirements(workspace, console)
    options = WorkspaceTestOptions(
        main_file=main_file,
        model_directory=model_directory,
        force_first_train=not no_force_first_train,
        train_frequency=train_frequency,
        round_number=round_number,
        has_gpu=gpu,
        determinism_check=not no_determinism_check,
        checks=not no_checks,
    )
    result = test_workspace(workspace, settings, console, options, started=started, freeze_heap=True, release=release)
    elapsed = time.perf_counter() - started
    for line in result.lines:
        console.result(line)
    report = result.report
    if report is None:  # the competition's own code: its runner and scoring said what they had to
        _record(workspace, elapsed)
        return True
    if not report.valid:
        raise PredictionError(
            f"the prediction is not valid: {len(report.failures)} check failure(s), listed above; "
            "fix infer() and run `crunch test` again"
        )
    if report.deterministic is False:
        raise PredictionError(
            "infer() is not deterministic (see above): give the same output for the same input, "
            "or run `crunch test --no-determinism-check`"
        )
    _record(workspace, elapsed)
    return report.ok


def _record(workspace: Workspace, seconds: float) -> None:
    """The duration of a test that passed, for the quota forecast of `push` and `run create` (a
    failed test writes nothing in the workspace)."""
    from ..submission.forecast import record_test_duration

    record_test_duration(workspace, seconds)
