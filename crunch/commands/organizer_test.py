"""``crunch organizer COMPETITION test ...``: a competition's own files run on local files.

``scoring check|score`` (a prediction folder against a data folder), ``submission check`` (a
workspace's files), ``leaderboard rank|compare`` and ``reward compute-bounties`` (projects from a
scores file or the hub's leaderboard). The competition, its targets and metrics come from the hub;
its files from the competitions source (``--competitions local://DIR`` for files not hosted yet).
A verdict against the input, or a file that fails, is one ``error:`` line (exit 1).
"""

from __future__ import annotations

import random
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..api import Client
from ..core.console import Console
from ..core.display import table
from ..exceptions import CrunchError, ParticipantVisibleError
from ..project.settings import Settings

DEFAULT_MODEL_DIRECTORY = "resources"


class _Organizer:
    """The competition as the hub describes it, and its files as the source has them."""

    def __init__(self, settings: Settings, console: Console, competition: str) -> None:
        self.settings = settings
        self.console = console
        self.client = Client(settings.api_base_url, api_key=settings.api_key)
        found = self.client.get_competition(competition)
        self.name = found.name or competition

    def load(self, file: str) -> types.ModuleType:
        from ..organizer.code import load_file

        module, location = load_file(self.name, file, self.settings.competitions_source, self.settings.api_base_url)
        self.console.print(f"organizer: {file}.py of {self.name} from {location}")
        return module

    def target(self, name: Optional[str]) -> Tuple[Any, List[Any]]:
        from ..organizer import OrganizerError

        targets = self.client.get_targets(self.name)
        if name is None:
            chosen = next((target for target in targets if target.primary), None)
            if chosen is None:
                raise OrganizerError(f"{self.name} has no primary target: name one with --target-name ({_names(targets)})")
        else:
            chosen = next((target for target in targets if target.name == name), None)
            if chosen is None:
                raise OrganizerError(f"{self.name} has no target {name!r}: its targets are {_names(targets)}")
        return chosen, list(chosen.metrics)


def _names(targets: Sequence[Any]) -> str:
    return ", ".join(target.name for target in targets) or "none"


def _phase(phase_type: str, chain_height: Optional[int]) -> Tuple[Any, int]:
    from ..api import PhaseType

    phase = PhaseType[phase_type.upper()]
    return phase, chain_height if chain_height is not None else phase.first_chain_height()


def _rejected(what: str, error: ParticipantVisibleError) -> CrunchError:
    return CrunchError(f"{what}: {error.message}")


def scoring_check(organizer: _Organizer, data_directory: str, prediction_directory: str, phase_type: str, chain_height: Optional[int]) -> None:
    from ..organizer.calls import check_prediction, scoring_values

    scoring = organizer.load("scoring")
    phase, height = _phase(phase_type, chain_height)
    values = scoring_values(phase, height, organizer.client.get_metrics(organizer.name), prediction_directory, data_directory)
    try:
        check_prediction(scoring, values)
    except ParticipantVisibleError as error:
        raise _rejected("the prediction is not valid", error) from error
    organizer.console.result(f"the prediction is valid ({phase.name}, chain height {height})")


def scoring_score(organizer: _Organizer, data_directory: str, prediction_directory: str, phase_type: str, chain_height: Optional[int]) -> Dict[Any, Any]:
    from ..organizer.calls import score_prediction, scoring_values

    scoring = organizer.load("scoring")
    phase, height = _phase(phase_type, chain_height)
    metrics = organizer.client.get_metrics(organizer.name)
    values = scoring_values(phase, height, metrics, prediction_directory, data_directory)
    try:
        results = score_prediction(scoring, values, metrics)
    except ParticipantVisibleError as error:
        raise _rejected("the prediction cannot be scored", error) from error
    by_id = {metric.id: metric for metric in metrics}
    rows = []
    for metric_id, scored in results.items():
        metric = by_id[metric_id]
        details = " ".join(f"{detail.key}={detail.value}" for detail in scored.details)
        rows.append((metric.target.name if metric.target is not None else "-", metric.name, str(scored.value), details))
    organizer.console.result(f"the prediction is scored ({phase.name}, chain height {height})")
    for line in table(["target", "metric", "score", "details"], rows, right=(2,)):
        organizer.console.result(line)
    return results


def submission_check(organizer: _Organizer, submission_type: str, root_directory: str, model_directory: str) -> None:
    from ..api import SubmissionType
    from ..code.files import check_model_directory, list_code_files, list_model_files
    from ..organizer.calls import check_submission
    from ..unstructured import File

    submission = organizer.load("submission")
    kind = SubmissionType[submission_type.upper()]
    code = [File.from_local(str(item.source), item.path) for item in list_code_files(root_directory, model_directory)]
    prefix = check_model_directory(root_directory, model_directory) + "/"  # model files are named inside it
    model = [
        File.from_local(str(item.source), item.path[len(prefix):] if item.path.startswith(prefix) else item.path)
        for item in list_model_files(root_directory, model_directory)
    ]
    try:
        check_submission(submission, kind, code, model)
    except ParticipantVisibleError as error:
        raise _rejected("the submission is not valid", error) from error
    organizer.console.result(f"the submission is valid ({kind.name}: {len(code)} code file(s), {len(model)} model file(s))")


def _projects(organizer: _Organizer, kind: Any, target: Any, metrics: List[Any], scores_file: Optional[str], from_api: bool, shuffle: bool) -> List[Any]:
    from ..organizer import OrganizerError
    from ..organizer.projects import check_metrics, from_leaderboard, read_scores_file

    if scores_file and from_api:
        raise OrganizerError("give --scores-file FILE or --scores-from-api, not both")
    if scores_file:
        projects = read_scores_file(scores_file, kind)
    elif from_api:
        from urllib.parse import quote

        path = f"/v2/competitions/{quote(organizer.name, safe='')}/leaderboards/@default"
        leaderboard = organizer.client.answer("GET", path, lambda node: node.value)
        projects = from_leaderboard(leaderboard if isinstance(leaderboard, dict) else {}, target, kind)
        if projects is None:
            organizer.console.warn(f"the leaderboard of {organizer.name} has no target {target.name}: no project to use")
            projects = []
    else:
        raise OrganizerError("give the projects: --scores-file FILE (a JSON list of projects) or --scores-from-api")
    check_metrics(projects, target, metrics)
    if shuffle:
        random.shuffle(projects)
    return projects


def leaderboard_rank(organizer: _Organizer, scores_file: Optional[str], scores_from_api: bool, rank_pass: str, target_name: Optional[str], shuffle: bool) -> List[Any]:
    from ..organizer.calls import rank
    from ..unstructured import RankableProject, RankPass

    leaderboard = organizer.load("leaderboard")
    target, metrics = organizer.target(target_name)
    projects = _projects(organizer, RankableProject, target, metrics, scores_file, scores_from_api, shuffle)
    try:
        ranked = rank(leaderboard, target, metrics, projects, RankPass[rank_pass.upper()])
    except ParticipantVisibleError as error:
        raise _rejected("the leaderboard cannot be ranked", error) from error
    used = list(dict.fromkeys(metric.id for project in projects for metric in project.metrics))
    names = {metric.id: metric.name for metric in metrics}
    scores = {project.id: {metric.id: metric.score for metric in project.metrics} for project in projects}
    rows = [
        (str(item.rank), "-" if item.reward_rank is None else str(item.reward_rank), str(item.id), *(str(scores[item.id].get(m)) for m in used))
        for item in ranked
    ]
    organizer.console.result(f"the leaderboard of {target.name} is ranked ({len(ranked)} project(s), pass {rank_pass.upper()})")
    for line in table(["rank", "reward rank", "project", *(names[m] for m in used)], rows, right=tuple(range(len(used) + 3))):
        organizer.console.result(line)
    return ranked


def leaderboard_compare(organizer: _Organizer, prediction_directories: Sequence[Tuple[int, str]], data_directory: str) -> List[Any]:
    from ..organizer.calls import compare, pairs

    by_id = pairs(prediction_directories)
    leaderboard = organizer.load("leaderboard")
    targets = organizer.client.get_targets(organizer.name)
    try:
        similarities = compare(leaderboard, targets, by_id, data_directory)
    except ParticipantVisibleError as error:
        raise _rejected("the predictions cannot be compared", error) from error
    target_names = {target.id: target.name for target in targets}
    rows = [(target_names.get(s.target_id, str(s.target_id)), str(s.left_id), str(s.right_id), str(s.value)) for s in similarities]
    organizer.console.result(f"the predictions are compared ({len(similarities)} similarit{'y' if len(similarities) == 1 else 'ies'})")
    for line in table(["target", "left", "right", "similarity"], rows, right=(1, 2, 3)):
        organizer.console.result(line)
    return similarities


def reward_compute_bounties(organizer: _Organizer, scores_file: Optional[str], scores_from_api: bool, target_name: Optional[str], granted_amount: float, shuffle: bool) -> List[Any]:
    from ..organizer.calls import compute_bounties
    from ..unstructured import RewardableProject

    reward = organizer.load("reward")
    target, metrics = organizer.target(target_name)
    projects = _projects(organizer, RewardableProject, target, metrics, scores_file, scores_from_api, shuffle)
    try:
        rewarded = compute_bounties(reward, target, metrics, projects, granted_amount)
    except ParticipantVisibleError as error:
        raise _rejected("the bounties cannot be computed", error) from error
    distributed = sum(item.amount for item in rewarded if item.amount is not None)
    organizer.console.result(f"the bounties are computed: {distributed:.4f} distributed of {granted_amount:.4f} granted")
    rows = [(str(index), str(item.id), "-" if item.amount is None else f"{item.amount:.4f}") for index, item in enumerate(rewarded)]
    for line in table(["index", "project", "amount"], rows, right=(0, 1, 2)):
        organizer.console.result(line)
    return rewarded


ACTIONS = {
    "scoring check": scoring_check,
    "scoring score": scoring_score,
    "submission check": submission_check,
    "leaderboard rank": leaderboard_rank,
    "leaderboard compare": leaderboard_compare,
    "reward compute-bounties": reward_compute_bounties,
}


def run(*, settings: Settings, console: Console, competition: str, action: str, **options: Any) -> Any:
    organizer = _Organizer(settings, console, competition)
    return ACTIONS[action](organizer, **options)
