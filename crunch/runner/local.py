"""A local test in a workspace: find the data and metadata, run the loop, check, write, report.

Shared by ``crunch test`` (functions from main.py) and the notebook tools (functions from the
notebook's ``__main__``).
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional

from ..api.models import Check, Competition, CompetitionFormat, DataRelease
from ..core.console import Console
from ..core.fsutil import ensure_folder, write_bytes_atomic
from ..exceptions import CorruptCacheError, NetworkError, WorkspaceError
from ..project.settings import Settings
from ..project.workspace import CACHE_CHECKS, CACHE_COMPETITION, CACHE_DATA_RELEASE, Workspace
from .checks import CheckFailure, default_checks, read_checks, run_checks
from .loader import FramePredicate
from .loop import DataPaths, Loop, LoopOptions
from .memory import peak_rss_bytes
from .report import Report
from .session import model_directory

if TYPE_CHECKING:  # pragma: no cover
    import pandas

PREDICTION_FILE = "prediction.parquet"
REQUIRED_FILES = ("X_train", "y_train", "X_test")


@dataclass
class TestOptions:
    model_directory: Optional[str] = None
    force_first_train: bool = True
    train_frequency: int = 1
    round_number: Any = "@current"
    has_gpu: bool = False
    determinism_check: bool = True
    checks: bool = True


@dataclass
class Outcome:
    prediction: "pandas.DataFrame"
    report: Report
    prediction_path: Optional[Path] = None
    failures: List[CheckFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok


def _explicit_round(round_number: Any) -> bool:
    return round_number not in (None, "", "@current")


def _is_round(workspace: Workspace, round_number: Any) -> bool:
    """The cached release is of round ``round_number`` (a number): no need to ask the hub."""
    number = workspace.cached_round_number()
    return number is not None and str(round_number).strip() == str(number)


def data_file(workspace: Workspace, release: DataRelease, key: str) -> Optional[Path]:
    """The local path of a data file of ``release``, or ``None`` when the release has none."""
    entry = release.data_files.get(key)
    if entry is None or not entry.name or entry.size == -1:
        return None
    return workspace.data_dir / entry.name


def cached_format(workspace: Workspace) -> Optional[CompetitionFormat]:
    """The competition's format as the last download cached it, or ``None`` (a damaged
    ``competition.json`` is a CorruptCacheError naming it)."""
    competition = cached_competition(workspace)
    if competition is not None and competition.raw.get("format") is not None:
        return competition.format
    return None


def _missing(workspace: Workspace, release: DataRelease) -> List[str]:
    """The keys of the needed files that are not in data/: X_train, y_train and X_test, or
    every file of the release for a competition that runs its own code."""
    if cached_format(workspace) is CompetitionFormat.UNSTRUCTURED:
        keys: Any = [key for key, entry in release.data_files.items() if entry.available]
    else:
        keys = REQUIRED_FILES
    missing = []
    for key in keys:
        path = data_file(workspace, release, key)
        if path is None or not path.is_file():
            missing.append(key)
    return missing


def cached_release(workspace: Workspace) -> Optional[DataRelease]:
    """The cached data release (``None`` when absent; a CorruptCacheError when damaged)."""
    return workspace.load_cache(CACHE_DATA_RELEASE, DataRelease.read)


def cached_competition(workspace: Workspace) -> Optional[Competition]:
    return workspace.load_cache(CACHE_COMPETITION, Competition.read)


def cached_checks(workspace: Workspace) -> Optional[List[Check]]:
    """The competition's checks, ``None`` when absent or empty."""
    return workspace.load_cache(CACHE_CHECKS, read_checks)


def _check_caches(workspace: Workspace) -> None:
    """A CorruptCacheError for the first damaged metadata cache of ``workspace``."""
    from ..data import whitelist

    cached_competition(workspace)
    cached_checks(workspace)
    workspace.cached_round_number()
    whitelist.cached(workspace)


def ensure_release(
    workspace: Workspace,
    settings: Optional[Settings],
    console: Console,
    round_number: Any = "@current",
) -> DataRelease:
    """The cached data release, downloading the data and metadata first when they are missing
    (or when another round is asked for). A damaged cache is fetched again; when the hub cannot
    be reached, it is reported (naming the file)."""
    damaged: Optional[CorruptCacheError] = None
    try:
        release = cached_release(workspace)
        _check_caches(workspace)
    except CorruptCacheError as error:
        release, damaged = None, error
    missing = _missing(workspace, release) if release is not None else ["metadata"]
    if damaged is not None or missing or (_explicit_round(round_number) and not _is_round(workspace, round_number)):
        if damaged is not None:
            name = getattr(damaged.path, "name", "a metadata file")
            console.warn(f"the cached {name} is damaged: fetching the metadata again from the hub")
        try:
            release = _download(workspace, settings, console, round_number, missing)
        except NetworkError as error:
            if damaged is not None:
                raise CorruptCacheError(f"{damaged.message} (the hub cannot be reached: {error.message})") from None
            raise
    assert release is not None
    still = _missing(workspace, release)
    if still:
        names = ", ".join(still)
        raise WorkspaceError(f"the data files {names} are missing from {workspace.data_dir}: run `crunch download`")
    return release


def _download(workspace: Workspace, settings: Optional[Settings], console: Console, round_number: Any, missing: List[str]) -> DataRelease:
    try:
        from ..data.download import ensure_data  # type: ignore[attr-defined]
    except ImportError:
        what = "the cached data release" if missing == ["metadata"] else "the data files " + ", ".join(missing)
        raise WorkspaceError(f"{what} not found in {workspace.root}: run `crunch download`") from None
    if settings is None:
        project = workspace.project()
        settings = Settings.resolve().for_workspace(project.api_base_url, project.web_base_url)
    return ensure_data(
        workspace,
        settings,
        console,
        round_number=round_number if round_number not in (None, "") else "@current",
        size_variant=None,
        force=False,
    )


def competition_format(workspace: Workspace, release: DataRelease, console: Console) -> CompetitionFormat:
    cached = cached_format(workspace)
    if cached is not None:
        return cached
    guess = CompetitionFormat.TIMESERIES if release.test_keys else CompetitionFormat.REGULAR
    console.warn(
        f"the competition's format is not cached ({workspace.cache_path(CACHE_COMPETITION)}): "
        f"assuming {guess.value} from the data release; `crunch download` caches it"
    )
    return guess


def run_test(
    workspace: Workspace,
    train: Callable[..., Any],
    infer: Callable[..., Any],
    *,
    release: DataRelease,
    options: TestOptions,
    console: Console,
    is_user_file: FramePredicate,
    user_root: Optional[Path] = None,
    started: Optional[float] = None,
    raise_original: bool = False,
) -> Outcome:
    """Run the loop on the workspace's data, write and check the prediction, build the report."""
    started = time.perf_counter() if started is None else started
    fmt = competition_format(workspace, release, console)
    timeseries = fmt is CompetitionFormat.TIMESERIES

    model_dir = model_directory(workspace.root, options.model_directory, workspace.project().model_directory)
    # written by the run: checked before the person's code runs, not after a long train()
    ensure_folder(workspace.prediction_dir, writable=True)
    cwd = Path.cwd().resolve()
    model_path = os.path.relpath(model_dir, cwd) if model_dir.resolve().is_relative_to(cwd) else str(model_dir)

    y_test = data_file(workspace, release, "y_test")
    paths = DataPaths(
        x_train=data_file(workspace, release, "X_train"),  # type: ignore[arg-type]
        y_train=data_file(workspace, release, "y_train"),  # type: ignore[arg-type]
        x_test=data_file(workspace, release, "X_test"),  # type: ignore[arg-type]
        y_test=y_test if y_test is not None and y_test.is_file() else None,
    )
    example = None
    if options.checks:  # read first: a damaged file stops the test before the person's code runs
        example_path = data_file(workspace, release, "example_prediction")
        if example_path is not None and example_path.is_file():
            from .data import read_example

            example = read_example(example_path)
        else:
            console.warn("example_prediction is missing: ids and moons are not compared (`crunch download` gets it)")
    loop = Loop(
        train,
        infer,
        release,
        paths,
        LoopOptions(
            timeseries=timeseries,
            model_directory_path=model_path,
            force_first_train=options.force_first_train,
            train_frequency=options.train_frequency,
            has_gpu=options.has_gpu,
            determinism_check=options.determinism_check,
        ),
        console,
        is_user_file,
        root=user_root,
        raise_original=raise_original,
    )
    result = loop.run()
    prediction = result.prediction
    del loop

    from pyarrow import ArrowException

    failures: List[CheckFailure] = []
    prediction_path: Optional[Path] = workspace.prediction_dir / PREDICTION_FILE
    try:
        buffer = io.BytesIO()
        prediction.to_parquet(buffer, index=False)
        write_bytes_atomic(prediction_path, buffer.getvalue())
    except (ArrowException, ValueError, TypeError, OverflowError) as error:  # pyarrow refuses some columns (objects, complex numbers)
        failures.append(CheckFailure("PARQUET", f"the prediction cannot be written as parquet: {type(error).__name__}: {error}"))
        prediction_path = None

    checks_run = 0
    if options.checks:
        checks = cached_checks(workspace) or default_checks(timeseries)
        checks_run = len(checks)
        failures.extend(run_checks(checks, prediction, example, release.column_names, timeseries, console.warn))

    shown_path = None
    if prediction_path is not None:
        try:
            shown_path = os.path.relpath(prediction_path, Path.cwd())
        except ValueError:  # another drive on Windows
            shown_path = str(prediction_path)
    report = Report(
        stats=result.stats,
        wall_seconds=time.perf_counter() - started,
        read_seconds=result.read_seconds,
        peak_memory=peak_rss_bytes(),
        prediction_path=shown_path,
        rows=len(prediction),
        failures=failures,
        deterministic=result.deterministic,
        determinism_detail=result.determinism_detail,
        checks_run=checks_run,
    )
    return Outcome(prediction, report, prediction_path, failures)
