"""Every name the real competition files (crunchdao/competitions, ``competitions/*/scoring/*.py``)
import from ``crunch`` resolves, and modules shaped like those files load the way the platform loads
them (compiled and executed into a fresh module) and run.

The list below comes from a grep of the 32 files of the repository (commit 97e279e). Left out, on
purpose: ``crunch.runner.unstructured`` (only imported under ``TYPE_CHECKING``) and
``crunch.runner.tracing`` (both belong to the local runner, tested with it), and
``crunch_convert.requirements_txt.NamedRequirement`` (the crunch-convert package of the platform's
environment, not a dependency of crunch: the numinous-shaped test puts a stand-in on the path).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from crunch.api import Metric, PhaseType, SubmissionType, Target
from crunch.unstructured import (
    File,
    ParticipantVisibleError,
    RankableProject,
    RankableProjectMetric,
    RankPass,
    RewardableProject,
    call_function,
)

# (module, names) as written in the real files: `from module import names`, or `import module`
# when names is empty; "attributes" are the dotted names they reach after `import crunch...`.
IMPORTS = [
    ("crunch", []),
    ("crunch.utils", []),
    ("crunch.unstructured", []),
    ("crunch.unstructured.utils", []),
    ("crunch.custom", []),
    ("crunch.api", ["Metric", "PhaseType", "Target", "SubmissionType"]),
    ("crunch.unstructured", [
        "ScoredMetric", "File", "RankableProject", "RankedProject", "RankPass", "RewardableProject",
        "RewardedProject", "ComparedSimilarity",
    ]),
    ("crunch.unstructured.utils", ["delta_message", "truncate", "find_file_by_path", "find_requirement_by_name"]),
    ("crunch.utils", ["Tracer", "smart_call"]),
    ("crunch.container", ["GeneratorWrapper"]),
    ("crunch.external", ["humanfriendly"]),
    ("crunch.__version__", ["__version__"]),
    ("crunch", ["monkey_patches"]),
]
ATTRIBUTES = [
    "crunch.api.Target", "crunch.api.Metric", "crunch.api.PhaseType", "crunch.api.PhaseType.SUBMISSION",
    "crunch.unstructured.ScoredMetric", "crunch.unstructured.ScoredMetricDetail",
    "crunch.unstructured.utils.delta_message", "crunch.utils.Tracer",
    "crunch.custom.ComparedSimilarity", "crunch.custom.RankableProject", "crunch.custom.RankPass",
    "crunch.custom.RankedProject", "crunch.custom.File",
    "crunch.monkey_patches.SHOULD_PRINT_PREFIX_WHEN_POSSIBLE",
]


@pytest.mark.parametrize("module_name, names", IMPORTS, ids=[f"{m}:{','.join(n) or '*'}" for m, n in IMPORTS])
def test_every_import_of_the_real_files_resolves(module_name: str, names: list) -> None:
    # in a fresh interpreter, as the statement the files write
    statement = f"from {module_name} import {', '.join(names)}" if names else f"import {module_name}"
    done = subprocess.run([sys.executable, "-c", statement], capture_output=True, text=True)
    assert done.returncode == 0, f"{statement}: {done.stderr}"


def test_every_dotted_name_resolves_after_a_bare_import_crunch() -> None:
    code = "import crunch\n" + "".join(f"{name}\n" for name in ATTRIBUTES) + "print('ok')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def load(source: str, path: Path) -> types.ModuleType:
    """Load a competition file as the platform does: compile, execute into a fresh module (not in sys.modules)."""
    path.write_text(textwrap.dedent(source))
    module = types.ModuleType(path.name)
    module.__file__ = str(path)
    module.__path__ = [str(path.parent)]  # type: ignore[attr-defined]
    module.__package__ = path.stem
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


# structural-break's scoring.py: bare `import crunch...` and crunch.api names in annotations
STRUCTURAL_BREAK_SCORING = """
import os
import typing

import crunch
import crunch.unstructured
import crunch.utils


class ParticipantVisibleError(Exception):
    pass


tracer = crunch.utils.Tracer(lambda line: None)


def check(prediction_directory_path: str, data_directory_path: str):
    with tracer.log("Check for ids"):
        with open(os.path.join(prediction_directory_path, "ids.txt")) as file:
            predicted = file.read().split()
        difference = crunch.unstructured.utils.delta_message({"1", "2"}, predicted)
        if difference:
            raise ParticipantVisibleError(f"IDs do not match: {difference}")


def score(
    prediction_directory_path: str,
    target_and_metrics: typing.List[typing.Tuple[crunch.api.Target, typing.List[crunch.api.Metric]]],
):
    metric = target_and_metrics[0][1][0]
    assert metric.name == "roc-auc", "missing roc-auc metric"
    return {metric.id: crunch.unstructured.ScoredMetric(0.75, [])}
"""

# datacrunch-2's scoring.py: from-imports, PhaseType comparisons and chain heights
DATACRUNCH_2_SCORING = """
from typing import List, Tuple

import crunch
import crunch.unstructured
from crunch.api import Metric, PhaseType, Target
from crunch.unstructured import ScoredMetric
from crunch.unstructured.utils import delta_message
from crunch.utils import Tracer

tracer = Tracer(lambda line: None)


def check(phase_type: PhaseType, chain_height: int):
    if phase_type == PhaseType.SUBMISSION and chain_height < phase_type.first_chain_height():
        raise ValueError("too early")


def score(target_and_metrics: List[Tuple[Target, List[Metric]]], target_names: List[str]):
    scores = {}
    for target, metrics in tracer.loop(target_and_metrics, lambda pair: f"target {pair[0].name}"):
        for metric in metrics:
            scores[metric.id] = ScoredMetric(value=float(len(target.name)))
            scores[metric.id].details.append(crunch.unstructured.ScoredMetricDetail("all", 1.0, True))
    return scores
"""

# broad-obesity-2's submission.py: humanfriendly, File.text and find_file_by_path
BROAD_OBESITY_SUBMISSION = """
from typing import List

import crunch.utils
from crunch.external import humanfriendly
from crunch.unstructured import File
from crunch.unstructured.utils import find_file_by_path


class ParticipantVisibleError(Exception):
    pass


tracer = crunch.utils.Tracer(lambda line: None)


def check(submission_files: List[File], model_files: List[File]):
    with tracer.log("Finding report file"):
        report = find_file_by_path(submission_files, "REPORT.md")
        if report is None:
            raise ParticipantVisibleError("Missing `REPORT.md` file.")
    max_size = 100
    if report.size > max_size:
        raise ParticipantVisibleError(
            f"`{report.path}` is too big, maximum is {humanfriendly.format_size(max_size)} "
            f"but file is {humanfriendly.format_size(report.size)}."
        )
    if "TODO" in report.text:
        raise ParticipantVisibleError(f"`{report.path}` still holds a TODO.")
"""

# numinous's submission.py: crunch-convert's NamedRequirement and find_requirement_by_name
NUMINOUS_SUBMISSION = """
from typing import List, Optional

from crunch.unstructured.utils import find_requirement_by_name
from crunch.utils import Tracer
from crunch_convert.requirements_txt import NamedRequirement


class ParticipantVisibleError(Exception):
    pass


tracer = Tracer(lambda line: None)


def check(python_requirements: Optional[List[NamedRequirement]]):
    with tracer.log("Ensure contains package"):
        if python_requirements is None:
            raise ParticipantVisibleError("Missing or invalid `requirements.txt` file.")
        if find_requirement_by_name(python_requirements, "crunch-numinous") is None:
            raise ParticipantVisibleError("`requirements.txt` file must include the `crunch-numinous` package.")
"""

# datacrunch's submission.py: SubmissionType
DATACRUNCH_SUBMISSION = """
from typing import List

from crunch.api import SubmissionType
from crunch.unstructured import File


class ParticipantVisibleError(Exception):
    pass


def check(submission_type: SubmissionType, submission_files: List[File]):
    if submission_type != SubmissionType.PREDICTION:
        return
    if not submission_files[0].name.lower().endswith((".csv", ".parquet")):
        raise ParticipantVisibleError("Must only submit a .csv or a .parquet file.")
"""

# broad-3's leaderboard.py and datacrunch's: ranks and similarities
LEADERBOARD = """
from typing import List, Tuple

from crunch.api import Metric, Target
from crunch.unstructured import ComparedSimilarity, RankableProject, RankedProject, RankPass
from crunch.utils import Tracer

tracer = Tracer(lambda line: None)


def compare(targets: List[Target], combinations):
    return [ComparedSimilarity(left, right, targets[0].id, 0.5) for left, right in combinations]


def rank(target_and_metrics: List[Tuple[Target, List[Metric]]], projects: List[RankableProject], rank_pass: RankPass):
    metric = target_and_metrics[0][1][0]
    ordered = sorted(projects, key=lambda project: (-project.get_metric(metric.id).score, project.id))
    return [
        RankedProject(id=project.id, rank=index, reward_rank=index if rank_pass == RankPass.FINAL and project.rewardable else None)
        for index, project in enumerate(ordered, 1)
    ]
"""

# datacrunch-2's reward.py
REWARD = """
from typing import List

from crunch.api import Metric, Target
from crunch.unstructured import RewardableProject, RewardedProject
from crunch.utils import Tracer


def compute_bounties(metrics: List[Metric], projects: List[RewardableProject], granted_amount: float):
    metric = metrics[0]
    total = sum(project.get_metric(metric.id).score for project in projects)
    return [RewardedProject(id=project.id, amount=granted_amount * project.get_metric(metric.id).score / total) for project in projects]
"""

# broad-2's leaderboard.py and broad-3's submission.py: the legacy crunch.custom names
LEGACY = """
import typing

import crunch
import crunch.custom
import crunch.utils
from crunch.external import humanfriendly


def compare(targets: typing.List[crunch.api.Target], combinations):
    return [crunch.custom.ComparedSimilarity(left, right, targets[0].id, 1.0) for left, right in combinations]


def check(submission_files: typing.List[crunch.custom.File], model_files: typing.List[crunch.custom.File]):
    return [file.path for file in submission_files]
"""

# structural-break-real-time's runner.py: the version gate, as strings
VERSION_GATE = """
import click
from crunch.__version__ import __version__ as CRUNCH_VERSION
from crunch.utils import smart_call


def run(context):
    if CRUNCH_VERSION < "11.7.0":
        raise click.Abort()
    from crunch import monkey_patches
    monkey_patches.SHOULD_PRINT_PREFIX_WHEN_POSSIBLE = "worker:1"
    return smart_call(context, {"command": "infer"})
"""


def _target_and_metrics():
    target = Target(1, "prediction", "Prediction", False, True)
    metric = Metric(11, "roc-auc", "ROC AUC", target=target)
    target.metrics.append(metric)
    return target, metric


def test_structural_break_shaped_scoring(tmp_path: Path) -> None:
    module = load(STRUCTURAL_BREAK_SCORING, tmp_path / "scoring.py")
    target, metric = _target_and_metrics()
    (tmp_path / "ids.txt").write_text("1 2")
    call_function(module.check, {"prediction_directory_path": str(tmp_path), "data_directory_path": "data"})
    scores = call_function(module.score, {"prediction_directory_path": str(tmp_path), "target_and_metrics": [(target, [metric])]})
    assert scores[11].value == 0.75
    (tmp_path / "ids.txt").write_text("1 3")
    with pytest.raises(ParticipantVisibleError, match=r"^IDs do not match: missing \[2\] extras \[3\]$"):
        call_function(module.check, {"prediction_directory_path": str(tmp_path)})


def test_datacrunch_2_shaped_scoring(tmp_path: Path) -> None:
    module = load(DATACRUNCH_2_SCORING, tmp_path / "scoring.py")
    target, metric = _target_and_metrics()
    call_function(module.check, {"phase_type": PhaseType.SUBMISSION, "chain_height": 1})
    with pytest.raises(ValueError, match="too early"):
        call_function(module.check, {"phase_type": PhaseType.SUBMISSION, "chain_height": 0})
    scores = call_function(module.score, {"target_and_metrics": [(target, [metric])], "target_names": ["prediction"]})
    assert scores[11].value == 10.0 and scores[11].details[0].reduced is True


def platform_crunch_convert(folder: Path) -> Path:
    """A stand-in for the platform's crunch-convert package: its NamedRequirement is the class the
    parsed requirements are (numinous's submission.py only imports it for an annotation)."""
    package = folder / "site" / "crunch_convert"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "requirements_txt.py").write_text("from crunch.unstructured.requirements import NamedRequirement\n")
    return package.parent


def test_submission_shaped_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crunch.unstructured.requirements import submission_check_values

    with pytest.raises(ModuleNotFoundError, match="crunch_convert"):  # not a dependency of crunch
        load(NUMINOUS_SUBMISSION, tmp_path / "submission0.py")
    monkeypatch.syspath_prepend(str(platform_crunch_convert(tmp_path)))

    report = tmp_path / "report.md"
    report.write_text("all done")
    files = [File.from_local(str(report), "report.md")]
    module = load(BROAD_OBESITY_SUBMISSION, tmp_path / "submission.py")
    call_function(module.check, {"submission_files": files, "model_files": []})
    report.write_text("TODO: write")
    with pytest.raises(ParticipantVisibleError, match="still holds a TODO"):
        call_function(module.check, {"submission_files": [File.from_local(str(report), "report.md")], "model_files": []})
    report.write_text("x" * 1500)
    with pytest.raises(ParticipantVisibleError, match=r"maximum is 100 bytes but file is 1.5 KB"):
        call_function(module.check, {"submission_files": [File.from_local(str(report), "report.md")], "model_files": []})

    module = load(NUMINOUS_SUBMISSION, tmp_path / "submission2.py")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("crunch-numinous==1.0\n")
    values, lazy = submission_check_values(SubmissionType.CODE, [File.from_local(str(requirements), "requirements.txt")], [])
    call_function(module.check, values, lazy_values=lazy)
    values, lazy = submission_check_values(SubmissionType.CODE, [], [])
    with pytest.raises(ParticipantVisibleError, match="Missing or invalid `requirements.txt` file."):
        call_function(module.check, values, lazy_values=lazy)

    module = load(DATACRUNCH_SUBMISSION, tmp_path / "submission3.py")
    call_function(module.check, {"submission_type": SubmissionType.CODE, "submission_files": [File("main.py", None, 1)]})
    with pytest.raises(ParticipantVisibleError, match="Must only submit"):
        call_function(module.check, {"submission_type": SubmissionType.PREDICTION, "submission_files": [File("main.py", None, 1)]})


def test_leaderboard_and_reward_shaped_modules(tmp_path: Path) -> None:
    target, metric = _target_and_metrics()
    module = load(LEADERBOARD, tmp_path / "leaderboard.py")
    similarities = call_function(module.compare, {"targets": [target], "combinations": [(1, 2)]})
    assert [(s.left_id, s.right_id, s.target_id) for s in similarities] == [(1, 2, 1)]
    projects = [
        RankableProject(1, "a", True, [RankableProjectMetric(11, 0.2)]),
        RankableProject(2, "b", False, [RankableProjectMetric(11, 0.9)]),
    ]
    ranked = call_function(module.rank, {"target_and_metrics": [(target, [metric])], "projects": projects, "rank_pass": RankPass.FINAL})
    assert [(r.id, r.rank, r.reward_rank) for r in ranked] == [(2, 1, None), (1, 2, 2)]

    module = load(REWARD, tmp_path / "reward.py")
    rewardable = [RewardableProject(1, "a", True, [RankableProjectMetric(11, 1.0)]), RewardableProject(2, "b", True, [RankableProjectMetric(11, 3.0)])]
    rewarded = call_function(module.compute_bounties, {"metrics": [metric], "projects": rewardable, "granted_amount": 100.0})
    assert [(r.id, r.amount) for r in rewarded] == [(1, 25.0), (2, 75.0)]


def test_legacy_and_version_gated_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crunch import monkey_patches

    target, _ = _target_and_metrics()
    module = load(LEGACY, tmp_path / "leaderboard.py")
    assert call_function(module.compare, {"targets": [target], "combinations": [(1, 2)]})[0].value == 1.0
    assert call_function(module.check, {"submission_files": [File("a.py", None, 1)], "model_files": []}) == ["a.py"]

    monkeypatch.setattr(monkey_patches, "SHOULD_PRINT_PREFIX_WHEN_POSSIBLE", None)
    module = load(VERSION_GATE, tmp_path / "runner.py")

    def context(command):
        return command

    assert call_function(module.run, {"context": context}) == "infer"
    assert monkey_patches.SHOULD_PRINT_PREFIX_WHEN_POSSIBLE == "worker:1"
    assert "runner.py" not in sys.modules and os.path.basename(module.__file__) == "runner.py"
