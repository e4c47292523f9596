"""Each function of a competition file called with what the platform gives it, its answer checked.

A :class:`crunch.exceptions.ParticipantVisibleError` (the file's own class of that name, turned into
ours) is the competition's verdict on the input and passes through. A function that is missing,
fails on anything else or answers in the wrong shape is an :class:`OrganizerError` naming it.
"""

from __future__ import annotations

import types
from itertools import combinations
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..exceptions import ParticipantVisibleError
from . import OrganizerError


def _function(module: types.ModuleType, name: str) -> Callable[..., Any]:
    function = getattr(module, name, None)
    shown = module.__name__
    if function is None:
        raise OrganizerError(f"the competition's {shown} has no `{name}` function")
    if not callable(function):
        raise OrganizerError(f"`{name}` of the competition's {shown} is not a function")
    return function


def _call(module: types.ModuleType, name: str, values: Dict[str, Any], lazy: Optional[Dict[str, Callable[[], Any]]] = None) -> Any:
    from ..unstructured import call_function

    function = _function(module, name)
    try:
        return call_function(function, values, lazy_values=lazy)
    except ParticipantVisibleError:
        raise
    except KeyboardInterrupt:
        raise
    except Exception as error:
        detail = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {detail[0]}" if detail else type(error).__name__
        raise OrganizerError(f"the competition's {module.__name__} {name}() failed: {message} (--debug shows the traceback)") from error


def scoring_values(phase_type: Any, chain_height: int, metrics: Sequence[Any], prediction_dir: str, data_dir: str) -> Dict[str, Any]:
    """What ``check()`` and ``score()`` of ``scoring.py`` are offered."""
    from ..api.domain import group_metrics_by_target

    groups = group_metrics_by_target([metric for metric in metrics if metric.target is not None])
    return {
        "phase_type": phase_type,
        "chain_height": chain_height,
        "prediction_directory_path": prediction_dir,
        "data_directory_path": data_dir,
        "target_names": list(dict.fromkeys(target.name for target, _ in groups)),
        "target_and_metrics": groups,
    }


def check_prediction(scoring: types.ModuleType, values: Dict[str, Any]) -> None:
    _call(scoring, "check", values)


def score_prediction(scoring: types.ModuleType, values: Dict[str, Any], metrics: Sequence[Any]) -> Dict[Any, Any]:
    """``score()``'s answer: a dict of metric id -> ScoredMetric whose value is a float."""
    from ..unstructured import ScoredMetric

    results = _call(scoring, "score", values)
    file = scoring.__name__
    if not isinstance(results, dict):
        raise OrganizerError(f"the competition's {file} score() returned a {type(results).__name__}, not a dict of metric id -> ScoredMetric")
    known = {metric.id for metric in metrics}
    for metric_id, scored in results.items():
        if metric_id not in known:
            raise OrganizerError(f"the competition's {file} score() gave metric id {metric_id!r}, not one of the competition's ({', '.join(map(str, sorted(known))) or 'none'})")
        if not isinstance(scored, ScoredMetric):
            raise OrganizerError(f"the competition's {file} score() gave a {type(scored).__name__} for metric {metric_id}, not a ScoredMetric")
        if not isinstance(scored.value, float):
            raise OrganizerError(f"the competition's {file} score() gave metric {metric_id} a value of type {type(scored.value).__name__}, not a float")
    return results


def check_submission(submission: types.ModuleType, submission_type: Any, code_files: Sequence[Any], model_files: Sequence[Any]) -> None:
    from ..unstructured.requirements import submission_check_values

    values, lazy = submission_check_values(submission_type, code_files, model_files)
    _call(submission, "check", values, lazy)


def _same_ids(file: str, function: str, given: Sequence[Any], projects: Sequence[Any]) -> None:
    ids = [item.id for item in given]
    if len(set(ids)) != len(ids):
        duplicated = sorted({str(i) for i in ids if ids.count(i) > 1})
        raise OrganizerError(f"the competition's {file} {function}() gave project ids more than once: {', '.join(duplicated)}")
    expected = {project.id for project in projects}
    if set(ids) != expected:
        from ..unstructured.utils import delta_message

        raise OrganizerError(f"the competition's {file} {function}() did not answer for each project once: {delta_message(expected, ids)}")


def rank(leaderboard: types.ModuleType, target: Any, metrics: Sequence[Any], projects: Sequence[Any], rank_pass: Any) -> List[Any]:
    """``rank()``'s answer: RankedProject objects (or project ids, in rank order), one per
    project, ranks not shared."""
    from ..unstructured import RankedProject

    values = {
        "target": target,
        "metrics": list(metrics),
        "projects": list(projects),
        "rank_pass": rank_pass,
        "target_and_metrics": [(target, list(metrics))],
    }
    answer = _call(leaderboard, "rank", values)
    file = leaderboard.__name__
    if isinstance(answer, list) and answer and all(isinstance(item, int) and not isinstance(item, bool) for item in answer):
        answer = [RankedProject(project_id, number, float(number)) for number, project_id in enumerate(answer, 1)]
    if not isinstance(answer, list) or not all(isinstance(item, RankedProject) for item in answer):
        raise OrganizerError(f"the competition's {file} rank() must return a list of RankedProject, not {_shape(answer)}")
    _same_ids(file, "rank", answer, projects)
    ranks = [item.rank for item in answer]
    if len(set(ranks)) != len(ranks):
        raise OrganizerError(f"the competition's {file} rank() gave one rank to several projects")
    return answer


def compare(leaderboard: types.ModuleType, targets: Sequence[Any], prediction_dirs: Dict[int, str], data_dir: str) -> List[Any]:
    """``compare()``'s answer: ComparedSimilarity objects."""
    from ..unstructured import ComparedSimilarity

    values = {
        "targets": list(targets),
        "prediction_directory_path_by_id": dict(prediction_dirs),
        "combinations": list(combinations(sorted(prediction_dirs), 2)),
        "data_directory_path": data_dir,
    }
    answer = _call(leaderboard, "compare", values)
    if not isinstance(answer, list) or not all(isinstance(item, ComparedSimilarity) for item in answer):
        raise OrganizerError(f"the competition's {leaderboard.__name__} compare() must return a list of ComparedSimilarity, not {_shape(answer)}")
    return answer


def compute_bounties(reward: types.ModuleType, target: Any, metrics: Sequence[Any], projects: Sequence[Any], granted_amount: float) -> List[Any]:
    """``compute_bounties()``'s answer: one RewardedProject per project."""
    from ..unstructured import RewardedProject

    values = {
        "target": target,
        "metrics": list(metrics),
        "projects": list(projects),
        "granted_amount": granted_amount,
        "target_and_metrics": [(target, list(metrics))],
    }
    answer = _call(reward, "compute_bounties", values)
    file = reward.__name__
    if not isinstance(answer, list) or not all(isinstance(item, RewardedProject) for item in answer):
        raise OrganizerError(f"the competition's {file} compute_bounties() must return a list of RewardedProject, not {_shape(answer)}")
    _same_ids(file, "compute_bounties", answer, projects)
    return answer


def _shape(value: Any) -> str:
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a list of {', '.join(kinds)}" if kinds else "an empty list"
    return f"a {type(value).__name__}"


def pairs(prediction_dirs: Sequence[Tuple[int, str]]) -> Dict[int, str]:
    """``--prediction-directory ID DIR`` pairs as a dict; an id given twice is refused."""
    found: Dict[int, str] = {}
    for prediction_id, folder in prediction_dirs:
        if prediction_id in found:
            raise OrganizerError(f"--prediction-directory {prediction_id} is given more than once: give each prediction id once")
        found[prediction_id] = folder
    return found
