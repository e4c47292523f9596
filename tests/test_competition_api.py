"""The competition-code API (crunch.utils, crunch.container, crunch.api domain names,
crunch.unstructured, crunch.custom, crunch.external.humanfriendly, crunch.monkey_patches, the
version): the semantics the real competition files rely on."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from crunch import utils as crunch_utils
from crunch.api import Metric, PhaseType, SubmissionType, Target, Unit
from crunch.container import GeneratorWrapper
from crunch.exceptions import CrunchError
from crunch.unstructured import (
    ComparedSimilarity,
    File,
    ParticipantVisibleError,
    RankableProject,
    RankableProjectMetric,
    RankedProject,
    RankPass,
    RewardableProject,
    RewardedProject,
    ScoredMetric,
    ScoredMetricDetail,
    call_function,
)
from crunch.unstructured.utils import (
    delta_message,
    find_file_by_path,
    find_requirement_by_name,
    group_metrics_by_target,
    truncate,
)
from crunch.utils import LazyValue, Tracer, smart_call


@pytest.fixture(autouse=True)
def _fresh_smart_call_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crunch_utils, "_logged_messages", set())


# -- smart_call ---------------------------------------------------------------------------------


def test_smart_call_passes_only_the_names_the_signature_asks_for() -> None:
    def train(X_train, y_train, model_directory_path):
        return (X_train, y_train, model_directory_path)

    values = {"X_train": 1, "y_train": 2, "model_directory_path": "resources", "unused": 4}
    assert smart_call(train, values) == (1, 2, "resources")


def test_smart_call_specific_values_override_the_defaults() -> None:
    def infer(X_test, id_column_name):
        return X_test, id_column_name

    assert smart_call(infer, {"X_test": "a", "id_column_name": "id"}, {"X_test": "b"}) == ("b", "id")


def test_smart_call_gives_none_to_an_unknown_name_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    def infer(X_test, embargo):
        return X_test, embargo

    with caplog.at_level(logging.DEBUG):
        assert smart_call(infer, {"X_test": 1}) == (1, None)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["infer: unknown parameter: embargo"]


def test_smart_call_keeps_defaults_and_skips_star_parameters(caplog: pytest.LogCaptureFixture) -> None:
    def infer(X_test, verbose=3, *args, **kwargs):
        return X_test, verbose, args, kwargs

    with caplog.at_level(logging.WARNING):
        assert smart_call(infer, {"X_test": 1, "verbose": 0, "args": 9, "kwargs": 9}) == (1, 3, (), {})
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == [
        "infer: skip param with default value: verbose=3",
        "infer: unsupported parameter: *args",
        "infer: unsupported parameter: **kwargs",
    ]


def test_smart_call_warns_once_per_message_and_not_when_log_is_false(caplog: pytest.LogCaptureFixture) -> None:
    def train(missing):
        return missing

    with caplog.at_level(logging.WARNING):
        smart_call(train, {}, log=False)
        assert caplog.records == []
        smart_call(train, {})
        smart_call(train, {})
    assert [r.getMessage() for r in caplog.records] == ["train: unknown parameter: missing"]


def test_smart_call_uses_the_given_logger(caplog: pytest.LogCaptureFixture) -> None:
    def train(missing):
        return missing

    with caplog.at_level(logging.WARNING):
        smart_call(train, {}, logger=logging.getLogger("competition"))
    assert [r.name for r in caplog.records] == ["competition"]


def test_smart_call_resolves_lazy_values_only_when_asked() -> None:
    built = []

    def factory() -> str:
        built.append(1)
        return "frame"

    def infer(X_test):
        return X_test

    def other(y):
        return y

    lazy = LazyValue(factory)
    assert smart_call(other, {"X_test": lazy, "y": 2}) == 2
    assert built == []
    assert smart_call(infer, {"X_test": lazy}) == "frame"
    assert smart_call(infer, {"X_test": lazy}) == "frame"
    assert built == [1]


def test_smart_call_keyword_only_parameters_are_passed() -> None:
    def run(*, context, tracer=None):
        return context, tracer

    assert smart_call(run, {"context": "c", "tracer": "t"}) == ("c", None)


# -- Tracer ---------------------------------------------------------------------------------------

LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\s*) (.*)$")


def test_tracer_prints_nested_timed_steps() -> None:
    lines: list = []
    tracer = Tracer(lines.append)
    with tracer.log("load") as value:
        assert value is True
        with tracer.log("parse"):
            pass
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m.group(2), m.group(3)) for m in parsed][0] == ("", "load")
    assert parsed[1].group(2) == "  " and parsed[1].group(3) == "parse"
    assert parsed[2].group(2) == "  " and re.fullmatch(r"parse took \d+:\d\d:\d\d(\.\d+)?", parsed[2].group(3))
    assert parsed[3].group(2) == "" and parsed[3].group(3).startswith("load took ")
    # the end line repeats the start time of its step
    assert parsed[0].group(1) == parsed[3].group(1)


def test_tracer_log_ends_its_step_when_the_body_raises() -> None:
    lines: list = []
    tracer = Tracer(lines.append)
    with pytest.raises(KeyError):
        with tracer.log("step"):
            raise KeyError("x")
    assert lines[-1].split(" ", 3)[-1].startswith("step took ")
    with tracer.log("after"):
        pass
    assert LINE.match(lines[-1]).group(2) == ""


def test_tracer_loop_with_placeholder_and_callable() -> None:
    lines: list = []
    tracer = Tracer(lines.append)
    assert list(tracer.loop([1, 2], "score {value}")) == [1, 2]
    assert [LINE.match(line).group(3) for line in lines][::2] == ["score 1", "score 2"]
    lines.clear()
    assert list(tracer.loop([(1, 2)], lambda pair: f"compare {pair[0]} <-> {pair[1]}")) == [(1, 2)]
    assert LINE.match(lines[0]).group(3) == "compare 1 <-> 2"
    lines.clear()
    assert list(tracer.loop(["a"], "region %", value_placeholder="%")) == ["a"]
    assert LINE.match(lines[0]).group(3) == "region a"


def test_tracer_loop_body_is_inside_the_step() -> None:
    lines: list = []
    tracer = Tracer(lines.append)
    for _ in tracer.loop(["x"], "outer {value}"):
        with tracer.log("inner"):
            pass
    assert [LINE.match(line).group(2) for line in lines] == ["", "  ", "  ", ""]


# -- GeneratorWrapper -----------------------------------------------------------------------------


def _wrap(consumer, items=(1, 2, 3), **kwargs):
    return GeneratorWrapper(iter(items), consumer, **kwargs)


def test_generator_wrapper_collects_one_value_per_element() -> None:
    def infer(stream):
        yield
        for value in stream:
            yield value * 10

    wrapper = _wrap(infer, element_wrapper_factory=lambda x: x + 1, post_processor=lambda y: -y)
    values, durations = wrapper.collect(3)
    assert values == [-20, -30, -40]
    assert len(durations) == 3 and all(d.total_seconds() >= 0 for d in durations)


def test_generator_wrapper_requires_a_generator() -> None:
    with pytest.raises(RuntimeError, match="^yield not called$"):
        _wrap(lambda stream: [1])


def test_generator_wrapper_first_yield_must_be_none() -> None:
    def infer(stream):
        yield 1

    with pytest.raises(ValueError, match="^first yield must return None$"):
        _wrap(infer)


def test_generator_wrapper_taking_before_the_first_yield() -> None:
    def infer(stream):
        next(stream)
        yield

    with pytest.raises(RuntimeError, match="^yield must be called once before the loop$"):
        _wrap(infer)


def test_generator_wrapper_taking_two_elements_for_one_value() -> None:
    def infer(stream):
        yield
        for _ in stream:
            next(stream)
            yield 0

    wrapper = _wrap(infer)
    with pytest.raises(RuntimeError, match="^previous value not yield-ed$"):
        wrapper.collect(3)


def test_generator_wrapper_two_values_for_one_element() -> None:
    def infer(stream):
        yield
        for value in stream:
            yield value
            yield value

    wrapper = _wrap(infer)
    with pytest.raises(RuntimeError, match="^multiple yield detected$"):
        wrapper.collect(3)


def test_generator_wrapper_stopping_early() -> None:
    def infer(stream):
        yield
        for value in stream:
            yield value
            return

    wrapper = _wrap(infer)
    with pytest.raises(ValueError, match=re.escape("yield not called enough time (1 / 3)")):
        wrapper.collect(3)


def test_generator_wrapper_participant_exception_propagates() -> None:
    def infer(stream):
        yield
        for _ in stream:
            raise ZeroDivisionError("boom")

    wrapper = _wrap(infer)
    with pytest.raises(ZeroDivisionError, match="boom"):
        wrapper.collect(3)


# -- crunch.unstructured.utils --------------------------------------------------------------------


def test_delta_message_formats() -> None:
    assert delta_message([1, 2], [2, 1]) == ""
    assert delta_message(["a", "b"], ["a"]) == "missing [b]"
    assert delta_message(["a"], ["a", "c"]) == "extras [c]"
    assert delta_message(["a"], ["c"]) == "missing [a] extras [c]"
    message = delta_message(range(25), range(20, 22))
    match = re.fullmatch(r"missing \[(.*)\]", message)
    assert match
    parts = match.group(1).split(", ")
    assert len(parts) == 11 and parts[-1] == "(...13)"
    assert set(map(int, parts[:10])) <= set(range(20))


def test_truncate_formats() -> None:
    assert truncate([]) == ""
    assert truncate(["a", "b"]) == "a, b"
    assert truncate(list(range(10))) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"
    assert truncate(list(range(12))) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, (...2)"
    assert truncate([1, 2, 3], max_size=2) == "1, 2, (...1)"


def test_find_file_by_path_ignores_case() -> None:
    files = [File("report.md", None, 1), File("model/a.pkl", None, 2)]
    assert find_file_by_path(files, "REPORT.md") is files[0]
    assert find_file_by_path(files, "Model/A.pkl") is files[1]
    assert find_file_by_path(files, "a.pkl") is None


def test_find_requirement_by_name_ignores_case() -> None:
    requirements = [types.SimpleNamespace(name="Pandas"), types.SimpleNamespace(name="numpy")]
    assert find_requirement_by_name(requirements, "pandas") is requirements[0]
    assert find_requirement_by_name(requirements, "NUMPY") is requirements[1]
    assert find_requirement_by_name(requirements, "scipy") is None


def test_group_metrics_by_target() -> None:
    first, second = Target(2, "b"), Target(1, "a")
    metrics = [Metric(10, "m", target=first), Metric(11, "n", target=second), Metric(12, "o", target=first)]
    grouped = group_metrics_by_target(metrics)
    assert [(target.name, [m.id for m in ms]) for target, ms in grouped] == [("a", [11]), ("b", [10, 12])]


# -- crunch.unstructured objects -----------------------------------------------------------------


def test_file_name_directory_and_text(tmp_path: Path) -> None:
    path = tmp_path / "REPORT.md"
    path.write_text("hello\n")
    file = File("docs/REPORT.md", str(path), 6)
    assert (file.name, file.directory, file.size) == ("REPORT.md", "docs", 6)
    assert file.text == "hello\n"
    path.write_text("changed")
    assert file.text == "hello\n"  # read once
    assert File("model.pkl", None, 3).text is None


def test_file_from_local_offers_text_of_text_files_only(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("abc")
    (tmp_path / "model.pkl").write_bytes(b"\x00\x01")
    assert File.from_local(str(tmp_path / "notes.txt"), "notes.txt").text == "abc"
    binary = File.from_local(str(tmp_path / "model.pkl"), "resources/model.pkl")
    assert (binary.path, binary.uri, binary.size, binary.text) == ("resources/model.pkl", None, 2, None)


def test_file_text_over_http(requests_mock) -> None:
    requests_mock.get("https://files.example/report.md", text="remote")
    assert File("report.md", "https://files.example/report.md", 6).text == "remote"


def test_scored_metric_shapes() -> None:
    assert ScoredMetric(0.5, []) == ScoredMetric(value=0.5)
    scored = ScoredMetric(None)
    scored.details.append(ScoredMetricDetail("region", 0.25, False))
    assert ScoredMetric(None).details == []  # no shared default list
    assert ScoredMetric.from_dict(scored.to_dict()) == scored


def test_projects_get_metric_and_results() -> None:
    project = RankableProject(id=1, group="alice", rewardable=True, metrics=[RankableProjectMetric(7, 0.9)])
    assert project.get_metric(7).score == 0.9
    assert project.get_metric(8) is None
    rewardable = RewardableProject(2, "bob", False, [RankableProjectMetric(7, 0.1)])
    assert rewardable.get_metric(7).id == 7
    assert RankedProject(id=1, rank=1, reward_rank=None).rank == 1
    assert RewardedProject(id=1, amount=10).amount == 10
    assert ComparedSimilarity(1, 2, 3, 0.5).target_id == 3
    assert RankPass("FINAL") is RankPass.FINAL and RankPass.PRE_DUPLICATE.value == "PRE_DUPLICATE"
    loaded = RewardableProject.from_dict({"id": 4, "group": "g", "rewardable": True, "metrics": [{"id": 7, "score": 0.5}]})
    assert isinstance(loaded, RewardableProject) and loaded.get_metric(7).score == 0.5
    assert RankableProject.from_dict(project.to_dict()) == project
    assert File.from_dict(File("a/b.md", None, 3).to_dict()) == File("a/b.md", None, 3)


def test_participant_visible_error_of_any_module_becomes_ours() -> None:
    class ParticipantVisibleError_(Exception):
        pass

    # a competition file's own class, named exactly ParticipantVisibleError
    Local = type("ParticipantVisibleError", (Exception,), {})

    def check(prediction_directory_path):
        raise Local("Missing `prediction.parquet` file.")

    with pytest.raises(ParticipantVisibleError) as raised:
        call_function(check, {"prediction_directory_path": "p"})
    assert str(raised.value) == "Missing `prediction.parquet` file."
    assert isinstance(raised.value, CrunchError)
    assert isinstance(raised.value.__cause__, Local)

    def other():
        raise ParticipantVisibleError_("x")

    with pytest.raises(ParticipantVisibleError_):
        call_function(other)


def test_call_function_builds_lazy_values_on_demand() -> None:
    def check(python_requirements):
        return python_requirements

    def nothing(submission_files):
        return submission_files

    built = []
    lazy = {"python_requirements": lambda: built.append(1) or ["pandas"]}
    assert call_function(nothing, {"submission_files": []}, lazy_values=lazy) == []
    assert built == []
    assert call_function(check, {}, lazy_values=lazy) == ["pandas"]


# -- crunch.api domain names -------------------------------------------------------------------


def test_phase_type_and_submission_type() -> None:
    assert PhaseType.SUBMISSION.first_chain_height() == 1
    assert PhaseType.OUT_OF_SAMPLE.first_chain_height() == 2
    assert PhaseType("SUBMISSION") is PhaseType.SUBMISSION
    assert PhaseType.OUT_OF_SAMPLE.slug() == "out-of-sample"
    unknown = PhaseType("EMBARGO")  # a value this version does not know does not fail
    assert unknown.name == "EMBARGO" and PhaseType("EMBARGO") is unknown
    assert SubmissionType.PREDICTION.value == "PREDICTION" and SubmissionType("CODE") is SubmissionType.CODE


def test_target_and_metric_from_the_hub_json() -> None:
    target = Target.from_dict({"id": 3, "name": "y", "displayName": "Y", "virtual": False, "primary": True})
    metric = Metric.from_dict(
        {"id": 9, "name": "roc-auc", "displayName": "ROC AUC", "unit": {"prefix": None, "scale": 4, "suffix": "%"},
         "weight": 1, "score": True, "multiplier": 1.0},
        target=target,
    )
    assert (metric.id, metric.name, metric.target.id, target.metrics) == (9, "roc-auc", 3, [metric])
    assert metric.unit.format_value(0.123456) == "0.1235%"
    assert Metric.from_dict(metric.to_dict(), target=target) == metric
    nested = Metric.from_dict({**metric.to_dict(), "target": target.to_dict()})
    assert nested.target == target
    assert Unit().format_value(3.7) == "3"


# -- the rest of the public modules ----------------------------------------------------------


def test_humanfriendly_is_the_library() -> None:
    import humanfriendly

    from crunch.external import humanfriendly as ours

    assert ours.format_size(4 * 1024 * 1024) == "4.19 MB" == humanfriendly.format_size(4 * 1024 * 1024)
    assert ours.format_size(1500) == "1.5 KB"
    assert ours.parse_size("2 KB") == 2000


def test_monkey_patches_prefix_is_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    from crunch import monkey_patches

    assert monkey_patches.prefixed("line") == "line"
    monkeypatch.setattr(monkey_patches, "SHOULD_PRINT_PREFIX_WHEN_POSSIBLE", "worker:3")
    assert monkey_patches.prefixed("line") == "[worker:3] line"


def test_custom_holds_the_legacy_names() -> None:
    import crunch.custom
    import crunch.unstructured

    for name in ("ComparedSimilarity", "RankableProject", "RankPass", "RankedProject", "File", "ScoredMetric"):
        assert getattr(crunch.custom, name) is getattr(crunch.unstructured, name)


def test_version_states_the_api_level() -> None:
    from crunch.__version__ import API_LEVEL, __version__

    assert __version__.startswith(API_LEVEL + ".")
    assert __version__ >= "11.7.0"  # structural-break-real-time's check, as strings
    from packaging.version import Version

    assert Version(__version__) >= Version("13.0.0")


def test_bare_import_crunch_binds_the_api_lazily() -> None:
    code = textwrap.dedent(
        """
        import sys
        import crunch
        loaded_at_import = sorted(n for n in ("crunch.api", "crunch.unstructured", "requests") if n in sys.modules)
        def score(target_and_metrics: "list", metric: crunch.api.Metric, target: crunch.api.Target) -> None: ...
        print(loaded_at_import, crunch.api.PhaseType.SUBMISSION.name, "requests" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] SUBMISSION False"


def test_submission_check_values_parse_requirements_on_demand(tmp_path: Path) -> None:
    from crunch.unstructured.requirements import NamedRequirement, submission_check_values

    (tmp_path / "requirements.txt").write_text("pandas==2.2\nCrunch-Numinous\n")
    (tmp_path / "main.py").write_text("x = 1\n")
    files = [File.from_local(str(tmp_path / "requirements.txt"), "requirements.txt"), File("main.py", str(tmp_path / "main.py"), 6)]
    values, lazy = submission_check_values(SubmissionType.CODE, files, [])

    def check(python_requirements, r_requirements, submission_type):
        return python_requirements, r_requirements, submission_type

    python, r, kind = call_function(check, values, lazy_values=lazy)
    assert kind is SubmissionType.CODE and r is None
    assert all(isinstance(requirement, NamedRequirement) for requirement in python)
    assert find_requirement_by_name(python, "crunch-numinous").name == "Crunch-Numinous"
    (tmp_path / "requirements.txt").write_text("-e .\n")
    values, lazy = submission_check_values(SubmissionType.CODE, [File("requirements.txt", str(tmp_path / "requirements.txt"), 4)], [])
    assert call_function(check, values, lazy_values=lazy)[0] is None  # does not parse: None, as the platform


def test_requirements_are_parsed_as_the_platform_reads_them() -> None:
    from crunch.unstructured.requirements import NamedRequirement, parse_requirements

    parsed = parse_requirements("# pinned\nPandas[Perf, SQL] >=2, <3  # a comment\n\nnumpy\n")
    assert [(r.name, r.extras, sorted(r.specs), r.language) for r in parsed] == [
        ("Pandas", ["perf", "sql"], ["<3", ">=2"], "PYTHON"), ("numpy", [], [], "PYTHON")]
    for unreadable in ("-r other.txt", "pkg @ https://example.org/pkg.whl", "pkg; python_version < '3'", "pkg==="):
        with pytest.raises(ValueError):
            parse_requirements(unreadable)
    assert parse_requirements("ggplot2\n", "R") == [NamedRequirement("ggplot2", [], [], "R")]
    with pytest.raises(ValueError):
        parse_requirements("ggplot2==3.4\n", "R")
