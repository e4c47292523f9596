"""``crunch test``: run the person's ``train()``/``infer()`` on the local data, as the
platform's runner would, check the prediction and print a report."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

from ..core.console import Console
from ..core.fsutil import read_text
from ..exceptions import PredictionError, UserCodeError, WorkspaceError
from ..project.settings import Settings
from ..project.workspace import DOT_DIR, Workspace

REQUIREMENTS_FILE = "requirements.txt"


CONVERTED_DIR = "converted"  # under .crunchdao/: the scripts converted from notebooks for one run


@contextlib.contextmanager
def main_script(root: Path, main_file: Optional[str], console: Console) -> Iterator[Tuple[Path, Path]]:
    """(the script to import, the folder it runs from): ``main_file``, or a temporary conversion of
    its notebook.

    A conversion is written under ``.crunchdao/converted/`` (fresh for each run, removed after
    it), never at the script's own place: a run stopped by a signal or a crash leaves nothing
    that a later run could take for the person's script.
    """
    from ..code.mainfile import locate

    main = locate(root, main_file)
    if main.removed:
        console.print(f"removed {', '.join(main.removed)}: converted from the notebook by a run that was killed before cleaning up")
    if main.source is not None:  # a notebook workspace: the notebook is the code, whatever main.py holds
        with notebook_script(root, main, console) as path:
            yield path, path.parent
        return
    if main.notebook is None:
        if not main.exists:
            raise UserCodeError(f"{main.script} not found in {root}: write your train() and infer() there, or pass --main-file")
        yield main.path, main.path.parent
        return
    try:
        from ..convert import temporary_script  # type: ignore[attr-defined]
    except ImportError:
        raise WorkspaceError(
            f"{main.notebook.name} needs converting but this crunch cannot: run `crunch convert {main.notebook.name} {main.script}` first"
        ) from None
    console.print(f"converting {main.notebook.name} for this run (your folder gets no {main.script})")
    parent = root / DOT_DIR / CONVERTED_DIR
    with _run_folder(parent, "run-", main.notebook.name, main.script) as folder:
        script = folder / Path(main.script).name
        with temporary_script(root, main.notebook, main_file=main.script, script_path=script, requirements=False):
            yield script, main.path.parent


@contextlib.contextmanager
def _run_folder(parent: Path, prefix: str, notebook: str, script: str) -> Iterator[Path]:
    """A fresh folder under ``parent`` for this run's conversion, locked while the run lasts and
    removed after it (:func:`crunch.project.leftovers.run_folder`): the folders of runs that were killed
    are removed first, those of runs still going in the same workspace are kept."""
    from ..project.leftovers import run_folder

    with contextlib.ExitStack() as stack:
        try:
            folder = stack.enter_context(run_folder(parent, prefix))
        except OSError as error:
            raise WorkspaceError(
                f"cannot write the conversion of {notebook} into {parent}: {error.strerror or error}; "
                f"fix the folder's permissions, or run `crunch convert {notebook} {script}` first"
            ) from None
        yield folder


@contextlib.contextmanager
def notebook_script(root: Path, main: Any, console: Console) -> Iterator[Path]:
    """The notebook's conversion in a temporary folder under ``.crunchdao/converted/`` (the
    workspace's files are not touched), removed afterwards."""
    from ..convert import convert_notebook
    from ..core.fsutil import write_text_atomic

    conversion = convert_notebook(main.source.content, whitelist=None, freeze=False)
    console.print(f"your code is {main.source.origin}: converted for this test")
    name = main.source.path.name if main.source.path is not None else "the notebook"
    with _run_folder(root / DOT_DIR / CONVERTED_DIR, "notebook-", name, main.script) as folder:
        path = folder / Path(main.script).name
        write_text_atomic(path, conversion.script)
        yield path


def check_libraries(workspace: Workspace, console: Console) -> List[str]:
    """Warn about requirements the competition's whitelist does not know; return their names."""
    path = workspace.root / REQUIREMENTS_FILE
    if not path.exists() or path.is_dir():
        return []
    from packaging.utils import canonicalize_name

    from ..data.whitelist import cached

    libraries = cached(workspace)
    if libraries is None:
        console.warn(f"the competition's library whitelist is not cached: {REQUIREMENTS_FILE} not checked (`crunch download` caches it)")
        return []
    known = {canonicalize_name(name) for library in libraries for name in [library.name, *library.aliases]}
    from ..code.freeze import requirement_names

    try:
        text = read_text(path, errors="replace")
    except OSError as error:
        raise UserCodeError(f"cannot read {path}: {error.strerror or error}") from None
    names, unreadable = requirement_names(text)
    for line in unreadable:
        console.warn(f"{REQUIREMENTS_FILE}: cannot read the line `{line}`")
    unknown = [name for name in names if canonicalize_name(name) not in known]
    for name in unknown:
        console.warn(f"{REQUIREMENTS_FILE}: `{name}` is not in the competition's whitelist: the platform will not install it")
    return unknown


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
    from ..runner.competition_test import CompetitionOptions
    from ..runner.family import COMPETITION_CODE, family_of_workspace
    from ..runner.heap import no_numpy_hugepage_hint
    from ..runner.loader import files_under, require_function
    from ..runner.local import TestOptions, ensure_release, run_test
    from ..runner.session import participant_module

    started = time.perf_counter()
    no_numpy_hugepage_hint()
    workspace = Workspace.find()
    project = workspace.project()
    settings = settings.for_workspace(project.api_base_url, project.web_base_url)
    from ..code import modeldir

    model_directory = modeldir.check(
        workspace.root,
        model_directory or project.model_directory,
        given_as="--model-directory" if model_directory else f"the modelDirectory of {workspace.project_file}",
    )
    release = ensure_release(workspace, settings, console, round_number)
    if not skip_library_check:
        check_libraries(workspace, console)

    root = workspace.root
    if family_of_workspace(workspace) == COMPETITION_CODE:
        return _run_competition_code(
            workspace,
            settings,
            console,
            main_file=main_file,
            options=CompetitionOptions(
                model_directory=model_directory,
                force_first_train=not no_force_first_train,
                train_frequency=train_frequency,
                has_gpu=gpu,
                determinism_check=not no_determinism_check,
            ),
            started=started,
        )
    options = TestOptions(
        model_directory=model_directory,
        force_first_train=not no_force_first_train,
        train_frequency=train_frequency,
        round_number=round_number,
        has_gpu=gpu,
        determinism_check=not no_determinism_check,
        checks=not no_checks,
    )
    with main_script(root, main_file, console) as (script, folder), participant_module(root, script, console.err, folder=folder) as module:
        where = script.name
        train = require_function(module, "train", where)
        infer = require_function(module, "infer", where)
        outcome = run_test(
            workspace,
            train,
            infer,
            release=release,
            options=options,
            console=console,
            is_user_file=files_under(root),
            user_root=root,
            started=started,
        )
    lines = outcome.report.lines()
    if no_checks and lines and lines[-1] == "prediction is valid":
        lines[-1] = "prediction not checked (--no-checks)"
    for line in lines:
        console.result(line)
    report = outcome.report
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
    return outcome.ok


def _run_competition_code(
    workspace: Workspace,
    settings: Settings,
    console: Console,
    *,
    main_file: Optional[str],
    options: Any,
    started: float,
) -> bool:
    """An UNSTRUCTURED competition: its runner.py calls the code, its scoring.py scores it."""
    from ..runner.competition import USER_MODULE_NAME
    from ..runner.competition_test import require_runner, run_competition_test
    from ..runner.heap import collector_paused, frozen_heap
    from ..runner.session import participant_module

    root = workspace.root
    with contextlib.ExitStack() as stack:
        with collector_paused():
            runner = require_runner(workspace, settings, console)
            script, folder = stack.enter_context(main_script(root, main_file, console))
            module = stack.enter_context(participant_module(root, script, console.err, USER_MODULE_NAME, folder=folder))
        # The process ends after the test: what was loaded stays out of the collections.
        stack.enter_context(frozen_heap(thaw=False))
        outcome = run_competition_test(workspace, settings, console, module, script.name, runner, options, started=started)
    for line in outcome.lines:
        console.result(line)
    return True
