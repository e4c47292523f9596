"""A local test of an UNSTRUCTURED competition in a workspace: the competition's runner.py on the
participant's module, then its scoring.py on the prediction, then the summary.

Shared by ``crunch test`` (main.py loaded as ``user_code``) and the notebook tools (the
notebook's ``__main__``). The caller sets the working directory to the workspace's root.
"""

from __future__ import annotations

import os
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..core.console import Console
from ..core.fsutil import human_size
from ..data.competition_code import CodeCache, CompetitionCodeError, code_file, load_module, workspace_source
from ..project.settings import Settings
from ..project.workspace import Workspace
from .session import Usage, model_directory, relative_or_absolute


@dataclass
class CompetitionOptions:
    model_directory: Optional[str] = None
    force_first_train: bool = True
    train_frequency: int = 1
    has_gpu: bool = False
    determinism_check: bool = True
    score: bool = True
    is_local: bool = True


@dataclass
class CompetitionOutcome:
    lines: List[str]
    deterministic: Optional[bool]
    prediction_files: List[Path] = field(default_factory=list)
    scores: Optional[Dict[Any, Any]] = None


def load_competition_file(workspace: Workspace, settings: Optional[Settings], file: str, console: Console) -> Optional[types.ModuleType]:
    """The competition's ``file`` (``runner``, ``scoring``, ``submission``) loaded, or ``None``
    when its source has none."""
    path = code_file(workspace, settings, file, console)
    if path is None:
        return None
    location = CodeCache(workspace.dot_dir).location(file) or str(path)
    return load_module(path, f"from {location}")


def require_runner(workspace: Workspace, settings: Optional[Settings], console: Console) -> types.ModuleType:
    runner = load_competition_file(workspace, settings, "runner", console)
    if runner is None:
        source, _ = workspace_source(workspace, settings)
        name = workspace.project().competition_name
        raise CompetitionCodeError(
            f"no runner.py for the competition {name} in the competitions source ({source}): "
            "point CRUNCH_COMPETITIONS_SOURCE (or --competitions) at a source that has "
            f"competitions/{name}/scoring/runner.py, then run `crunch download`"
        )
    return runner


def _release_names(workspace: Workspace) -> Optional[List[str]]:
    """The names of the files of the data release cached by ``crunch download`` (``None``: not cached)."""
    from .local import cached_release

    release = cached_release(workspace)
    if release is None:
        return None
    return [data_file.name for data_file in release.data_files.values() if data_file.available]


def _prediction_files(folder: Path) -> List[Path]:
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.rglob("*") if path.is_file())


def run_competition_test(
    workspace: Workspace,
    settings: Optional[Settings],
    console: Console,
    user_module: types.ModuleType,
    user_file: str,
    runner_module: types.ModuleType,
    options: CompetitionOptions,
    *,
    started: Optional[float] = None,
) -> CompetitionOutcome:
    """Run the competition's runner on ``user_module`` and score the prediction locally."""
    from .competition import CompetitionRun, describe_failure

    usage = Usage(started=time.perf_counter() if started is None else started)
    prediction_dir = workspace.prediction_dir
    prediction_dir.mkdir(parents=True, exist_ok=True)

    def write(line: str, error: bool) -> None:
        if error:
            print(line, file=console.err, flush=True)
        else:
            console.print(line)

    run = CompetitionRun(
        root=workspace.root,
        runner_module=runner_module,
        user_module=user_module,
        user_file=user_file,
        model_directory_path=relative_or_absolute(
            model_directory(workspace.root, options.model_directory, workspace.project().model_directory), workspace.root
        ),
        prediction_directory_path=str(prediction_dir),
        train_frequency=options.train_frequency,
        force_first_train=options.force_first_train,
        determinism_check_enabled=options.determinism_check,
        has_gpu=options.has_gpu,
        is_local=options.is_local,
        write=write,
    )
    try:
        run.start()
    except KeyboardInterrupt:
        raise
    except SystemExit as error:  # exit() in the runner or in the participant's code
        raise CompetitionCodeError(
            f"the run stopped with exit({error.code!r}) before writing its prediction: see the messages above"
        ) from error
    except Exception as error:
        if type(error).__name__ == "Abort":  # click.Abort: the runner refused to go on (its messages say why)
            raise CompetitionCodeError("the competition's runner.py aborted the run: see its messages above") from error
        raise describe_failure(error, run, CodeCache(workspace.dot_dir).directory, console.err) from error
    finally:
        run.timings.gather()

    from .timings import limits_of

    lines = ["", *usage.lines(), *run.timings.lines(limits_of(runner_module))]
    files = _prediction_files(prediction_dir)
    for path in files:
        lines.append(f"prediction: {os.path.relpath(path, workspace.root)} ({human_size(path.stat().st_size)})")
    if not files:
        lines.append("prediction: the runner wrote no file in prediction/")
    if run.deterministic is True:
        lines.append("determinism check: passed")
    elif run.deterministic is False:
        lines.append("determinism check: failed")
    outcome = CompetitionOutcome(lines, run.deterministic, files)

    if options.score:
        try:
            scoring = load_competition_file(workspace, settings, "scoring", console)
        except CompetitionCodeError as error:
            missing = error.__cause__
            if not isinstance(missing, ModuleNotFoundError):
                raise
            for line in outcome.lines:
                console.result(line)
            outcome.lines = [
                f"local score skipped: the competition's scoring.py imports {missing.name}, which is not installed "
                f"(install it to score locally)"
            ]
            return outcome
        if scoring is None:
            outcome.lines.append("local score skipped: the competition has no scoring.py")
        else:
            from .local_score import cached_metrics, score_locally
            from .platform_files import LocalRun

            for line in outcome.lines:
                console.result(line)
            outcome.lines = []
            metrics = cached_metrics(workspace)
            # after a local run, a prediction file only the platform's runner writes may be missing
            local_run = LocalRun.of(str(prediction_dir), getattr(runner_module, "__file__", None)) if options.is_local else None
            outcome.scores = score_locally(
                scoring,
                metrics,
                workspace.data_dir,
                str(prediction_dir),
                console.result,
                workspace.dot_dir,
                local_run=local_run,
                release_names=lambda: _release_names(workspace),
            )
    return outcome
