"""Score a local prediction with the competition's own ``scoring.py`` (``check()`` then ``score()``).

``scoring.py`` reads the platform's file names (``y_test.parquet``, ``y.parquet``...) while a
workspace holds the local truth under reduced names (``y_test.reduced.parquet``,
``X_test_reduced.pickle``...). Scoring runs on a *view* of ``data/``: a temporary folder of links
where every data file stands under its own name and, when the platform's name is not there, a
reduced file stands under it too; in a JSON file of splits, a ``*_cloud`` list is replaced by its
``*_local`` counterpart.

A ``check()`` or ``score()`` may still need what a local run cannot have. It is then skipped,
with one line naming the file (the check skipped, the score still runs; the score skipped, nothing
is scored), never a failure. That is the case only when the error it raised, or one of the
errors that led to it, is a :class:`FileNotFoundError` naming a file that is absent and is:

* in the data view: a file the workspace's ``data/`` does not hold (under that name or as a
  reduced file standing for it) and that the cached data release does not list: the platform's
  alone. A file the release lists but the workspace lacks is an error saying to download again;
* in the prediction folder, after a local run (``is_local`` true) of the competition's runner:
  a file the run did not leave there and that ``runner.py`` names only in code that runs when
  ``is_local`` is false (:mod:`.platform_files` reads that from its source). A prediction file
  the runner names elsewhere, or not at all, is one the local run should have had.

Anything else stays what it was: a ``check()`` that rejects the prediction, or fails on
another error (another ``OSError`` included), is an error (exit 1); so is a ``score()`` that
fails. See docs/unstructured-checks.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Collection, Dict, Iterator, List, Optional

from ..data.competition_code import CompetitionCodeError
from ..exceptions import PredictionError, WorkspaceError
from .platform_files import LocalRun, missing_under

_REDUCED = re.compile(r"^(?P<stem>.+?)[._]reduced(?P<rest>(\..+)?)$")


def platform_name(name: str) -> Optional[str]:
    """``y_test.reduced.parquet`` -> ``y_test.parquet``, ``X_test_reduced.pickle`` -> ``X_test.pickle``."""
    match = _REDUCED.match(name)
    if not match:
        return None
    return match.group("stem") + (match.group("rest") or "")


def _local_splits(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    changed = dict(data)
    for key in data:
        if isinstance(key, str) and key.endswith("_local"):
            cloud = key[: -len("_local")] + "_cloud"
            if cloud in data:
                changed[cloud] = data[key]
    return changed


@contextmanager
def data_view(data_dir: Path, parent: Optional[Path] = None) -> Iterator[Path]:
    """A temporary folder (in ``parent``, by default the system's) showing ``data_dir`` with the
    local truth under the platform's names."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    view = Path(tempfile.mkdtemp(prefix="score-view-", dir=str(parent) if parent is not None else None))
    try:
        names = {entry.name for entry in data_dir.iterdir()} if data_dir.is_dir() else set()
        for name in sorted(names):
            source = data_dir / name
            if name.endswith(".json") and source.is_file():
                try:
                    data = json.loads(source.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    data = None
                changed = _local_splits(data)
                if data is not None and changed != data:
                    (view / name).write_text(json.dumps(changed), encoding="utf-8")
                    continue
            os.symlink(source, view / name)
        for name in sorted(names):
            target = platform_name(name)
            if target and target not in names and not (view / target).exists():
                os.symlink(data_dir / name, view / target)
        yield view
    finally:
        shutil.rmtree(view, ignore_errors=True)


def cached_metrics(workspace: Any) -> List[Any]:
    """``.crunchdao/metrics.json`` read strictly (a CorruptCacheError naming the file and the
    field when damaged; no metric when absent)."""
    from ..api import Metric, Target
    from ..project.workspace import CACHE_METRICS

    def read(node: Any) -> List[Any]:
        targets: Dict[Any, Any] = {}
        metrics = []
        for item in node.items([]):
            owner = item["target"]
            key = None if owner.missing else owner["id"].identifier(None)
            if key not in targets:
                targets[key] = Target.from_dict({}) if owner.missing else Target.read(owner)
            metrics.append(Metric.read(item, targets[key]))
        return metrics

    return workspace.load_cache(CACHE_METRICS, read, default=[])


def metrics_from_cache(raw: Any) -> List[Any]:
    from ..api import Metric, Target

    targets: Dict[Any, Any] = {}
    metrics = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        target_raw = item.get("target") if isinstance(item.get("target"), dict) else {}
        key = target_raw.get("id")
        if key not in targets:
            targets[key] = Target.from_dict(target_raw)
        metrics.append(Metric.from_dict(item, targets[key]))
    return metrics


def _missing_platform_file(error: BaseException, view: Path) -> Optional[str]:
    """The file of the view that ``error`` (or its causes) says is missing, if any (pandas and
    pyarrow name it in ``filename`` or only in the message)."""
    return missing_under(error, str(view))


def _unavailable(
    error: BaseException,
    view: Path,
    data_dir: Path,
    local_run: Optional[LocalRun],
    release_names: Optional[Callable[[], Optional[Collection[str]]]],
    what: str,
) -> Optional[str]:
    """``"reads <file>, which ..."`` when ``error`` is on a file the local run cannot have (the
    rule of this module), else ``None``. Raises a WorkspaceError for a file of the data release
    that the workspace lacks."""
    name = missing_under(error, str(view))
    if name is not None:
        if os.path.lexists(view / name) or os.path.lexists(data_dir / name):
            return None
        listed = release_names() if release_names is not None else None
        for release_name in listed or ():
            if release_name == name or platform_name(release_name) == name:
                raise WorkspaceError(
                    f"{what} reads data/{name}, and data/{release_name} of the data release is missing from the workspace: "
                    "run `crunch download`"
                ) from error
        return f"reads data/{name}, which only the platform has"
    if local_run is None:
        return None
    name = missing_under(error, local_run.prediction_dir)
    if name is None or os.path.lexists(os.path.join(local_run.prediction_dir, name)):
        return None
    if not local_run.runner.writes_only_on_platform(name):
        return None
    folder = Path(local_run.prediction_dir).name or "prediction"
    return f"reads {folder}/{name}, which {local_run.runner_file} writes only on the platform"


def _message(error: BaseException) -> str:
    text = str(error).strip()
    return text if text else type(error).__name__


def score_locally(
    scoring: types.ModuleType,
    metrics: List[Any],
    data_dir: Path,
    prediction_dir: str,
    say: Callable[[str], None],
    scratch: Optional[Path] = None,
    *,
    local_run: Optional[LocalRun] = None,
    release_names: Optional[Callable[[], Optional[Collection[str]]]] = None,
) -> Optional[Dict[Any, Any]]:
    """Run ``check()`` then ``score()``; print each metric; ``None`` when the score is skipped.

    ``local_run``: the local run that wrote the prediction (``None`` after a run on the
    platform's side: no prediction file is then the platform's alone); ``release_names``: the
    names of the cached data release's files (``None``: unknown). Raises
    :class:`PredictionError` when ``check()`` rejects the prediction or fails on anything but a
    file only the platform has (the rule in this module's docstring).
    """
    from ..api import PhaseType
    from ..unstructured.utils import group_metrics_by_target
    from ..utils import smart_call

    file = Path(scoring.__file__ or "scoring.py").name
    groups = group_metrics_by_target([metric for metric in metrics if metric.target is not None])
    with data_view(data_dir, scratch) as view:
        values = {
            "phase_type": PhaseType.SUBMISSION,
            "chain_height": 1,
            "prediction_directory_path": prediction_dir,
            "data_directory_path": str(view),
            "target_names": list(dict.fromkeys(target.name for target, _ in groups if target is not None)),
            "target_and_metrics": groups,
        }
        check = getattr(scoring, "check", None)
        if callable(check):
            try:
                smart_call(check, values)
            except Exception as error:
                reason = _unavailable(error, view, data_dir, local_run, release_names, f"the competition's {file} check")
                if reason is not None:
                    say(f"the competition's {file} check: skipped, it {reason}")
                elif type(error).__name__ == "ParticipantVisibleError":
                    raise PredictionError(f"the competition's {file} check rejected the prediction: {_message(error)}") from error
                else:
                    raise PredictionError(f"the competition's {file} check failed: {type(error).__name__}: {_message(error)}") from error
            else:
                say(f"the competition's {file} check: passed")
        score = getattr(scoring, "score", None)
        if not callable(score):
            say(f"local score skipped: the competition's {file} has no score()")
            return None
        if not metrics:
            say("local score skipped: the competition's metrics are not cached (`crunch download` caches them)")
            return None
        try:
            results = smart_call(score, values)
        except Exception as error:
            reason = _unavailable(error, view, data_dir, local_run, release_names, f"the competition's {file} score()")
            if reason is not None:
                say(f"local score skipped: the competition's {file} {reason}")
                return None
            if type(error).__name__ == "ParticipantVisibleError":
                raise PredictionError(f"the competition's {file} could not score the prediction: {_message(error)}") from error
            raise CompetitionCodeError(f"the competition's {file} score() raised {type(error).__name__}: {_message(error)}") from error
    if not isinstance(results, dict):
        raise CompetitionCodeError(f"the competition's {file} score() returned a {type(results).__name__}, not a dict of metric ids")
    by_id = {metric.id: metric for metric in metrics}
    for metric_id, scored in results.items():
        metric = by_id.get(metric_id)
        value = getattr(scored, "value", scored)
        name = metric.name if metric is not None else f"metric {metric_id}"
        if metric is not None and isinstance(value, (int, float)) and metric.unit is not None and (metric.unit.prefix or metric.unit.suffix or metric.unit.scale):
            shown = metric.unit.format_value(float(value))
        else:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        target = metric.target.name if metric is not None and metric.target is not None else "?"
        say(f"local score: {target} {name} = {shown}")
    return results
