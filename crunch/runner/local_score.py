"""Score a local prediction with the competition's own ``scoring.py`` (``check()`` then ``score()``).

``scoring.py`` reads the platform's file names (``y_test.parquet``, ``y.parquet``...) while a
workspace holds the local truth under reduced names (``y_test.reduced.parquet``,
``X_test_reduced.pickle``...). Scoring runs on a *view* of ``data/``: a temporary folder of links
where every data file stands under its own name and, when the platform's name is not there, a
reduced file stands under it too; in a JSON file of splits, a ``*_cloud`` list is replaced by its
``*_local`` counterpart. What the view still lacks is the platform's alone: the score is then
skipped, with the reason. A ``check()`` that rejects the prediction is an error.
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
from typing import Any, Callable, Dict, Iterator, List, Optional

from ..competition_code import CompetitionCodeError
from ..exceptions import PredictionError

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
    from ..workspace import CACHE_METRICS

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
    prefix = str(view) + os.sep
    current: Optional[BaseException] = error
    while current is not None:
        if isinstance(current, FileNotFoundError):
            texts = [str(current.filename)] if current.filename else []
            texts.append(str(current))
            for text in texts:
                at = text.find(prefix)
                if at != -1:
                    rest = re.split(r"[\s'\"]", text[at + len(prefix):], maxsplit=1)[0]
                    return rest or None
        current = current.__cause__ or current.__context__
    return None


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
) -> Optional[Dict[Any, Any]]:
    """Run ``check()`` then ``score()``; print each metric; ``None`` when skipped.

    Raises :class:`PredictionError` when ``check()`` rejects the prediction.
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
                missing = _missing_platform_file(error, view)
                if missing:
                    say(f"local score skipped: the competition's {file} reads data/{missing}, which only the platform has")
                    return None
                if type(error).__name__ == "ParticipantVisibleError":
                    raise PredictionError(f"the competition's {file} check rejected the prediction: {_message(error)}") from error
                raise PredictionError(f"the competition's {file} check failed: {type(error).__name__}: {_message(error)}") from error
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
            missing = _missing_platform_file(error, view)
            if missing:
                say(f"local score skipped: the competition's {file} reads data/{missing}, which only the platform has")
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
