"""Test a workspace: the one entry that ``crunch test``, the notebook's ``test()``,
``crunch test --isolated`` and the hub's run worker call.

It takes the branch between the two families once (:func:`crunch.runner.family.family_of_workspace`):
the classic loop (``train``/``infer`` called by crunch, the prediction checked) or the
competition's own code (its ``runner.py`` calls the participant's code, its ``scoring.py``
checks and scores it). The participant's code is the workspace's main file (a script, or a
notebook converted for the run) unless the caller gives a module already loaded (a notebook's
``__main__``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

from ..core.console import Console
from ..project.settings import Settings
from ..project.workspace import Workspace


@dataclass
class WorkspaceTestOptions:
    """How to test: the options of ``crunch test`` and of the notebook's ``test()``."""

    main_file: Optional[str] = None
    model_directory: Optional[str] = None  # relative to the workspace, already checked
    force_first_train: bool = True
    train_frequency: int = 1
    round_number: Any = "@current"
    has_gpu: bool = False
    determinism_check: bool = True
    checks: bool = True  # the classic loop's prediction checks
    score: bool = True  # the competition's own code: its scoring.py's check and local score
    is_local: bool = True  # the competition's own code: a local run (False: a cloud run of the hub)


@dataclass
class WorkspaceTestResult:
    """What a test gave: the report's ``lines`` to print, and what each family returns."""

    competition_code: bool
    lines: List[str]
    report: Any = None  # classic: crunch.runner.report.Report
    prediction: Any = None  # classic: the prediction frame
    prediction_path: Optional[Path] = None
    prediction_files: List[Path] = field(default_factory=list)  # the competition's own code
    scores: Optional[Dict[Any, Any]] = None


@contextlib.contextmanager
def _workspace_on_path(root: Path, chdir: bool) -> Iterator[None]:
    """The workspace importable (and the current folder, with ``chdir``) while a loaded module runs."""
    folder = str(root)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    previous = os.getcwd() if chdir else None
    if chdir:
        os.chdir(folder)
    try:
        yield
    finally:
        if previous is not None:
            os.chdir(previous)
        if added:
            try:
                sys.path.remove(folder)
            except ValueError:
                pass


def test_workspace(
    workspace: Workspace,
    settings: Optional[Settings],
    console: Console,
    options: WorkspaceTestOptions,
    *,
    module: Optional[types.ModuleType] = None,
    train: Optional[Callable[..., Any]] = None,
    infer: Optional[Callable[..., Any]] = None,
    is_user_file: Optional[Callable[[str], bool]] = None,
    raise_original: bool = False,
    started: Optional[float] = None,
    freeze_heap: bool = False,
    release: Any = None,
) -> WorkspaceTestResult:
    """Test ``workspace`` as the platform's runner would.

    ``module``: the participant's code already loaded (a notebook), else the main file is
    loaded; ``train``/``infer`` replace the module's (classic loop); ``is_user_file`` tells the
    participant's frames in tracebacks; ``raise_original`` raises the participant's own
    exception (the notebook); ``freeze_heap`` keeps what was loaded out of the garbage
    collector's passes, for a process that ends after the test; ``release``: the data release
    when the caller has it (else it is read from the cache, downloaded when missing).
    """
    from .family import COMPETITION_CODE, family_of_workspace
    from .local import ensure_release

    started = time.perf_counter() if started is None else started
    if family_of_workspace(workspace) == COMPETITION_CODE:  # its runner.py reads the data itself
        return _competition_code(workspace, settings, console, options, module, started, freeze_heap)
    if release is None:
        release = ensure_release(workspace, settings, console, options.round_number)
    return _classic(workspace, console, options, release, module, train, infer, is_user_file, raise_original, started)


def _classic(
    workspace: Workspace,
    console: Console,
    options: WorkspaceTestOptions,
    release: Any,
    module: Optional[types.ModuleType],
    train: Optional[Callable[..., Any]],
    infer: Optional[Callable[..., Any]],
    is_user_file: Optional[Callable[[str], bool]],
    raise_original: bool,
    started: float,
) -> WorkspaceTestResult:
    from ..code.script import main_script
    from .loader import files_under, require_function
    from .local import TestOptions, run_test
    from .session import participant_module

    test_options = TestOptions(
        model_directory=options.model_directory,
        force_first_train=options.force_first_train,
        train_frequency=options.train_frequency,
        round_number=options.round_number,
        has_gpu=options.has_gpu,
        determinism_check=options.determinism_check,
        checks=options.checks,
    )
    root = workspace.root
    user_file = is_user_file or files_under(root)

    def run(train_function: Callable[..., Any], infer_function: Callable[..., Any]) -> Any:
        return run_test(
            workspace,
            train_function,
            infer_function,
            release=release,
            options=test_options,
            console=console,
            is_user_file=user_file,
            user_root=root,
            started=started,
            raise_original=raise_original,
        )

    if module is not None:
        with _workspace_on_path(root, chdir=False):
            outcome = run(train or require_function(module, "train", "the notebook"), infer or require_function(module, "infer", "the notebook"))
    else:
        with main_script(root, options.main_file, console) as (script, folder), participant_module(root, script, console.err, folder=folder) as loaded:
            outcome = run(train or require_function(loaded, "train", script.name), infer or require_function(loaded, "infer", script.name))
    lines = outcome.report.lines()
    if not options.checks and lines and lines[-1] == "prediction is valid":
        lines[-1] = "prediction not checked (--no-checks)"
    return WorkspaceTestResult(False, lines, report=outcome.report, prediction=outcome.prediction, prediction_path=outcome.prediction_path)


def _competition_code(
    workspace: Workspace,
    settings: Optional[Settings],
    console: Console,
    options: WorkspaceTestOptions,
    module: Optional[types.ModuleType],
    started: float,
    freeze_heap: bool,
) -> WorkspaceTestResult:
    from ..code.script import main_script
    from .competition import USER_MODULE_NAME
    from .competition_test import CompetitionOptions, require_runner, run_competition_test
    from .heap import collector_paused, frozen_heap
    from .session import participant_module

    competition_options = CompetitionOptions(
        model_directory=options.model_directory,
        force_first_train=options.force_first_train,
        train_frequency=options.train_frequency,
        has_gpu=options.has_gpu,
        determinism_check=options.determinism_check,
        score=options.score,
        is_local=options.is_local,
    )
    root = workspace.root
    with contextlib.ExitStack() as stack:
        with collector_paused():
            runner = require_runner(workspace, settings, console)
            if module is None:
                script, folder = stack.enter_context(main_script(root, options.main_file, console))
                module = stack.enter_context(participant_module(root, script, console.err, USER_MODULE_NAME, folder=folder))
                user_file = script.name
            else:
                stack.enter_context(_workspace_on_path(root, chdir=True))
                user_file = "the notebook"
        if freeze_heap:  # the process ends after the test: what was loaded stays out of the collections
            stack.enter_context(frozen_heap(thaw=False))
        outcome = run_competition_test(workspace, settings, console, module, user_file, runner, competition_options, started=started)
    return WorkspaceTestResult(True, list(outcome.lines), prediction_files=list(outcome.prediction_files), scores=outcome.scores)
