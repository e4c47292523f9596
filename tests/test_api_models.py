"""The reading toolkit (crunch/core/jsonshape.py) and the tolerant reading of the hub's documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crunch.api import models
from crunch.core.jsonshape import Node, describe, parse
from crunch.exceptions import (
    CorruptCacheError,
    CrunchError,
    DocumentError,
    MalformedAnswerError,
    WorkspaceError,
)
from crunch.project.workspace import ProjectInfo, Workspace

# -- the toolkit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, shown",
    [
        (None, "null"),
        (True, "true"),
        ({}, "an empty object"),
        ({"a": 1}, "an object"),
        ([], "an empty list"),
        ([1], "a list"),
        ("12kb", '"12kb"'),
        (12345, "12345"),
        (1.5, "1.5"),
        ("x" * 100, '"' + "x" * 36 + "..."),
    ],
)
def test_describe(value, shown):
    assert describe(value) == shown


def fails(read, value, message, strict=False):
    with pytest.raises(DocumentError) as caught:
        read(Node(value, "field", strict))
    assert caught.value.message == message
    assert caught.value.field == "field"
    assert isinstance(caught.value, CrunchError)


def test_integer():
    assert Node(4).integer() == 4
    assert Node(4.0).integer() == 4
    assert Node(None).integer(7) == 7
    # a hub's answer: what the platform's own client takes, converted as int() converts it
    assert Node("12").integer() == 12 and Node(" 12 ").integer() == 12 and Node("12.0").integer() == 12
    assert Node(True).integer() == 1 and Node(4.5).integer() == 4
    fails(lambda n: n.integer(), "12kb", 'field: expected an integer, got "12kb"')
    fails(lambda n: n.integer(), {}, "field: expected an integer, got an empty object")
    fails(lambda n: n.integer(), None, "field: expected an integer, got null")
    fails(lambda n: n.integer(minimum=-1), -2, "field: expected an integer >= -1, got -2")
    # a file of our own: nothing converted
    fails(lambda n: n.integer(), True, "field: expected an integer, got true", strict=True)
    fails(lambda n: n.integer(), 4.5, "field: expected an integer, got 4.5", strict=True)
    fails(lambda n: n.integer(), "12", 'field: expected an integer, got "12"', strict=True)
    assert Node(4.0, strict=True).integer() == 4


def test_string():
    assert Node("a").string() == "a"
    assert Node(None).string(None) is None
    assert Node(12345).string() == "12345" and Node(True).string() == "true"
    fails(lambda n: n.string(), 12345, "field: expected a string, got 12345", strict=True)
    fails(lambda n: n.string(nonempty=True), "  ", 'field: expected a non-empty string, got "  "')
    fails(lambda n: n.string(choices=["A", "B"]), "C", 'field: expected one of "A", "B", got "C"')
    fails(lambda n: n.string(), ["a"], "field: expected a string, got a list")
    fails(lambda n: n.string(), {"a": 1}, "field: expected a string, got an object")


def test_number_boolean_identifier():
    assert Node(1.5).number() == 1.5
    assert Node("1.5").number() == 1.5
    fails(lambda n: n.number(), "1.5", 'field: expected a number, got "1.5"', strict=True)
    fails(lambda n: n.number(), float("nan"), "field: expected a number, got NaN")
    fails(lambda n: n.number(), "nan", 'field: expected a number, got "nan"')
    assert Node(False).boolean() is False
    assert Node(1).boolean() is True and Node(0).boolean() is False
    assert Node("true").boolean() is True and Node("false").boolean() is False and Node("no").boolean() is False
    assert Node("yes").boolean() is True and Node("").boolean() is False
    assert Node(None).boolean(True) is True  # null: the default
    fails(lambda n: n.boolean(), "yes", 'field: expected true or false, got "yes"', strict=True)
    fails(lambda n: n.boolean(), 1, "field: expected true or false, got 1", strict=True)
    assert Node(3).identifier() == 3 and Node("a-b").identifier() == "a-b"
    fails(lambda n: n.identifier(), {}, "field: expected an integer or a non-empty string, got an empty object")
    fails(lambda n: n.identifier(), "", 'field: expected an integer or a non-empty string, got ""')


def test_listing_takes_a_page_or_a_bare_list():
    assert [n.value for n in Node([1, 2]).listing()] == [1, 2]
    assert [n.value for n in Node({"content": [1, 2], "pageSize": 2}).listing()] == [1, 2]
    assert Node(None).listing([]) == []
    fails(lambda n: n.listing(), "x", 'field: expected a list, got "x"')


def test_containers_name_the_path():
    document = Node({"dataFiles": {"X_train": {"size": "12kb"}}, "splits": [{"key": 1}, {"key": []}]})
    with pytest.raises(DocumentError, match=r'^dataFiles\.X_train\.size: expected an integer, got "12kb"$'):
        document["dataFiles"]["X_train"]["size"].integer()
    with pytest.raises(DocumentError, match=r"^splits\[1\]\.key: expected an integer or a non-empty string, got an empty list$"):
        [item["key"].identifier() for item in document["splits"].items()]
    with pytest.raises(DocumentError, match=r"^splits: expected an object, got a list$"):
        document["splits"].entries()
    with pytest.raises(DocumentError, match=r"^dataFiles: expected a list, got an object$"):
        document["dataFiles"].items()
    assert document["absent"].missing and document["absent"].items([]) == []
    with pytest.raises(DocumentError, match=r"^absent: expected a string, got nothing \(the field is missing\)$"):
        document["absent"].string()
    with pytest.raises(DocumentError, match=r"^expected an object, got a list$"):
        Node([1])["x"]


def test_string_collections():
    assert Node(["a", "b"]).strings() == ["a", "b"]
    assert Node({"a": "x"}).string_map() == {"a": "x"}
    assert Node(["a", 2]).strings() == ["a", "2"]
    with pytest.raises(DocumentError, match=r"^\[1\]: expected a string, got 2$"):
        Node(["a", 2], strict=True).strings()
    with pytest.raises(DocumentError, match=r"^h\.b: expected a string, got null$"):
        Node({"a": "x", "b": None}, "h").string_map()


def test_parse_names_the_source_and_builds_the_error():
    with pytest.raises(DocumentError) as caught:
        parse(lambda node: node["size"].integer(), {"size": "12kb"}, "data.json", ": fix it")
    assert caught.value.message == 'data.json is malformed: size: expected an integer, got "12kb": fix it'
    with pytest.raises(WorkspaceError) as built:
        parse(lambda node: node["size"].integer(), {"size": []}, "data.json", "", WorkspaceError)
    assert built.value.message == "data.json is malformed: size: expected an integer, got an empty list"
    assert built.value.field == "size"  # type: ignore[attr-defined]
    assert parse(lambda node: node["size"].integer(), {"size": 3}, "data.json") == 3


# -- the models ----------------------------------------------------------------------------------

RELEASE = {
    "id": 1, "number": 1, "name": "r", "embargo": 2, "numberOfFeatures": 10, "hash": None,
    "columnNames": {"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}},
    "splits": [{"key": 0, "group": "TRAIN"}, {"key": 6, "group": "TEST", "reduced": "X"}],
    "dataFiles": {
        "X_train": {"name": "X_train.parquet", "url": "http://data/x", "size": 10, "signed": True, "compressed": False, "sha256": "0" * 64},
        "y_test": {"name": "y_test.parquet", "url": "", "size": -1},
        "absent": None,
    },
}


def release_with(path: str, value):
    data = json.loads(json.dumps(RELEASE))
    *parents, last = path.split(".")
    target = data
    for name in parents:
        target = target[name]
    target[last] = value
    return data


def test_a_good_release_reads():
    release = models.DataRelease.from_dict(RELEASE)
    assert release.embargo == 2 and release.test_keys == [6]
    assert set(release.data_files) == {"X_train", "y_test"}
    assert release.column_names.moon == "moon"
    regular = models.DataRelease.from_dict(release_with("columnNames.moon", None))
    assert regular.column_names.moon is None


@pytest.mark.parametrize(
    "path, value, problem",
    [
        ("dataFiles.X_train.size", "12kb", 'dataFiles.X_train.size: expected an integer, got "12kb"'),
        ("dataFiles.X_train.sha256", 12345, "dataFiles.X_train.sha256: expected a sha256 (64 hexadecimal digits), got '12345'"),
        ("dataFiles.X_train.sha256", "abc", "dataFiles.X_train.sha256: expected a sha256 (64 hexadecimal digits), got 'abc'"),
        ("dataFiles.X_train", "X_train.parquet", 'dataFiles.X_train: expected an object, got "X_train.parquet"'),
        ("dataFiles", [], "dataFiles: expected an object, got an empty list"),
        ("splits", {}, "splits: expected a list, got an empty object"),
    ],
)
def test_a_release_field_that_cannot_be_used_is_named(path, value, problem):
    with pytest.raises(DocumentError) as caught:
        models.DataRelease.from_dict(release_with(path, value))
    assert caught.value.message == problem


@pytest.mark.parametrize(
    "path, value, check",
    [
        ("embargo", "two", lambda r: r.embargo == 0),
        ("embargo", "4", lambda r: r.embargo == 4),
        ("numberOfFeatures", [], lambda r: r.number_of_features == 0),
        ("dataFiles.X_train.size", "10", lambda r: r.data_files["X_train"].size == 10),
        ("dataFiles.X_train.compressed", "no", lambda r: r.data_files["X_train"].compressed is False),
        ("dataFiles.X_train.compressed", None, lambda r: r.data_files["X_train"].compressed is False),
        ("dataFiles.X_train.signed", None, lambda r: r.data_files["X_train"].signed is False),
        ("columnNames", None, lambda r: r.column_names.outputs == []),
        ("columnNames.targets", ["target"], lambda r: r.column_names.inputs == ["target"]),
        (
            "columnNames.targets",
            [{"id": 1, "name": "target_w", "side": None, "input": "target_w", "output": "prediction_w", "filePath": None}],
            lambda r: (r.column_names.inputs, r.column_names.outputs) == (["target_w"], ["prediction_w"]),
        ),
        ("columnNames.targets", [{"id": 1, "name": "b", "input": None, "output": None}], lambda r: r.column_names.outputs == ["prediction"]),
        ("columnNames.id", 5, lambda r: r.column_names.id == "5"),
        ("columnNames.id", None, lambda r: r.column_names.id == "id"),
        ("hash", 12, lambda r: r.hash == "12"),
        ("extraField", {"nested": [1]}, lambda r: r.data_files["X_train"].size == 10),
        ("dataFiles.X_train.name", None, lambda r: r.data_files["X_train"].name == "x"),  # the last part of its link
        ("splits", [{"key": None, "group": "TEST", "reduced": "X"}, {"key": 6, "group": "TEST", "reduced": "X"}], lambda r: r.test_keys == [6]),
    ],
)
def test_a_release_is_read_as_the_platform_sends_it(path, value, check):
    assert check(models.DataRelease.from_dict(release_with(path, value)))


def test_data_file_keys_of_other_spellings_are_the_known_ones():
    data = release_with("dataFiles", {
        "xTrain": {"name": "X_train.parquet", "url": "http://d/x", "size": 1, "signed": True, "compressed": False},
        "y_train": {"name": "y_train.parquet", "url": "http://d/y", "size": 1},
        "examplePrediction": {"name": "example_prediction.parquet", "url": "http://d/e", "size": 1},
        "other": {"name": "other.csv", "url": "http://d/o", "size": 1},
    })
    release = models.DataRelease.from_dict(data)
    assert set(release.data_files) == {"X_train", "y_train", "example_prediction", "other"}
    assert release.data_files["X_train"].name == "X_train.parquet"


@pytest.mark.parametrize(
    "model, data, problem",
    [
        (models.Competition, {"id": 1, "name": {}}, "name: expected a string, got an empty object"),
        (models.Upload, {"id": 1, "chunks": [{"number": 1, "offset": "zero", "size": 3}]}, 'chunks[0].offset: expected an integer, got "zero"'),
        (models.Upload, {"name": "x"}, "id: expected an integer or a non-empty string, got nothing (the field is missing)"),
        (models.ChunkRequest, {"method": "PUT"}, "url: expected a non-empty string, got nothing (the field is missing)"),
        (models.Quickstarter, {"name": "q", "files": [{"name": "main.py", "url": "file:///etc/passwd"}]}, 'files[0].url: expected an http:// or https:// link, got "file:///etc/passwd"'),
        (models.ProjectToken, {"plain": "x", "project": []}, "project: expected an object, got an empty list"),
        (models.ProjectToken, {"plain": "x"}, "project: expected an object, got nothing (the field is missing)"),
        (models.ProjectToken, {"plain": "x", "project": {"id": 1, "name": "p"}}, "project.userId: expected an integer or a non-empty string, got nothing (the field is missing)"),
    ],
)
def test_a_model_refuses_only_what_a_command_cannot_use(model, data, problem):
    with pytest.raises(DocumentError) as caught:
        model.from_dict(data)
    assert caught.value.message == problem


@pytest.mark.parametrize(
    "model, data, check",
    [
        (models.Competition, {"name": "demo", "format": 3, "status": "SOMETHING_NEW"}, lambda c: c.format is models.CompetitionFormat.REGULAR and c.status == "SOMETHING_NEW"),
        (models.Competition, {"name": "demo", "hideTrainFrequency": None, "hideForceFirstTrain": "true"}, lambda c: (c.hide_train_frequency, c.hide_force_first_train) == (False, True)),
        (models.Round, {"number": "1"}, lambda r: r.number == 1),
        (models.Check, {"function": "NANS", "parameters": []}, lambda c: c.parameters == {}),
        (models.Library, {"name": "pandas", "aliases": "pd"}, lambda lib: lib.aliases == []),
        (models.Library, {"name": "pandas", "standard": "yes", "language": None}, lambda lib: lib.standard is True and lib.language == "PYTHON"),
        (models.Upload, {"id": "u1", "chunks": [{"number": "1", "offset": "0", "size": 3, "last": None}]}, lambda u: u.chunks[0].offset == 0 and u.chunks[0].last is False),
        (models.ChunkRequest, {"url": "http://x", "headers": {"a": 1}, "method": None}, lambda c: c.headers == {"a": "1"} and c.method == "PUT"),
        (models.Submission, {"id": 1, "number": None}, lambda sub: sub.number is None),
        (models.Submission, {"id": 1, "number": "3", "createdAt": 5, "model": "odd"}, lambda sub: sub.number == 3 and sub.model is None),
        (models.Quickstarter, {"name": "q", "title": None, "notebook": None}, lambda q: q.files is None and q.title == "" and q.notebook is False),
        (models.Quickstarter, {"name": None, "files": [{"name": None, "url": "http://f/main.py?s=1"}, {"name": "x.py"}]}, lambda q: q.name == "" and [(f.name, f.url) for f in q.files] == [("main.py", "http://f/main.py?s=1")]),
        (models.Competition, {"id": 1}, lambda c: c.name == "" and c.display_name == ""),
        (models.Run, {"id": 4, "status": "QUEUED_SOMEWHERE", "submission": None}, lambda r: r.status == "QUEUED_SOMEWHERE" and r.submission_number is None and not r.running),
        (models.ComputeQuota, {"available": "PT1H", "remaining": "1800", "used": None, "running": None}, lambda q: (q.available, q.remaining, q.used) == (3600.0, 1800.0, 0.0)),
    ],
)
def test_a_model_takes_every_form_the_platform_sends(model, data, check):
    assert check(model.from_dict(data))


def test_the_clone_listing():
    assert models.clone_listing(Node({"main.py": "http://x"})) == {"main.py": "http://x"}
    with pytest.raises(DocumentError, match=r"^main\.py: expected a non-empty string, got an empty object$"):
        models.clone_listing(Node({"main.py": {}}))


def test_a_hub_answer_names_the_call(requests_mock):
    from crunch.api import Client
    from crunch.api.client import Backoff

    base = "http://hub.test/"
    requests_mock.get(base + "v1/competitions/demo/checks", json=[{"function": "NANS", "order": "first"}])
    with pytest.raises(MalformedAnswerError) as caught:
        Client(base, backoff=Backoff(retries=0)).get_checks("demo")
    assert caught.value.message.startswith('the hub\'s answer to GET /v1/competitions/demo/checks is malformed: [0].order: expected an integer, got "first"')


# -- the workspace's documents --------------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.write_project(ProjectInfo("demo", "p1", 7, api_base_url="http://127.0.0.1:1/"))
    return ws


def edit_project(workspace: Workspace, **fields) -> None:
    data = json.loads(workspace.project_file.read_text())
    data.update(fields)
    workspace.project_file.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({"modelDirectory": 5}, "modelDirectory: expected a non-empty string, got 5"),
        ({"apiBaseUrl": 5}, "apiBaseUrl: expected a string, got 5"),
        ({"apiBaseUrl": "ftp://x"}, 'apiBaseUrl: expected an http:// or https:// URL, got "ftp://x"'),
        ({"sizeVariant": "huge"}, 'sizeVariant: expected one of DEFAULT, SMALL, LARGE, got "huge"'),
        ({"userId": [7]}, "userId: expected an integer or a non-empty string, got a list"),
        ({"projectName": "  "}, 'projectName: expected a non-empty string, got "  "'),
    ],
)
def test_project_json_fields_are_checked(workspace, fields, problem):
    edit_project(workspace, **fields)
    with pytest.raises(WorkspaceError) as caught:
        workspace.project()
    assert caught.value.message == f"{workspace.project_file} is malformed: {problem}: correct that field, or run `crunch setup ... --force` to repair the workspace"


def test_project_json_keeps_unknown_fields_and_normalizes(workspace):
    edit_project(workspace, sizeVariant="small", somethingNew=[1])
    info = workspace.project()
    assert info.size_variant == "SMALL" and info.extra == {"somethingNew": [1]}


def test_load_cache(workspace):
    read = models.Check.read
    assert workspace.load_cache("x.json", read, default="none") == "none"
    workspace.write_cache("x.json", {"function": "NANS"})
    assert workspace.load_cache("x.json", read).function == "NANS"
    path = workspace.cache_path("x.json")
    for content, problem in [
        ('{"function": "NANS", "order": "second"}', 'is malformed: order: expected an integer, got "second"'),
        ("{not json", "is damaged (not valid JSON)"),
        (b"\xff\xfe", "is damaged (not UTF-8 text)"),
    ]:
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(CorruptCacheError) as caught:
            workspace.load_cache("x.json", read)
        assert caught.value.message == f"{path} {problem}: run `crunch download` to fetch it again"
        assert caught.value.path == path
    path.unlink()
    path.mkdir()
    with pytest.raises(CorruptCacheError, match="cannot read"):
        workspace.load_cache("x.json", read)


def test_a_key_from_outside_never_breaks_the_line():
    with pytest.raises(DocumentError) as caught:
        models.DataRelease.from_dict(release_with("dataFiles", {"X\ntrain": {"name": "x", "size": "12kb"}}))
    assert caught.value.message == 'dataFiles["X\\ntrain"].size: expected an integer, got "12kb"'
    with pytest.raises(DocumentError) as long:
        models.clone_listing(Node({"a" * 100: []}))
    assert long.value.message == '["' + "a" * 57 + '..."]: expected a non-empty string, got an empty list'
    assert "\n" not in caught.value.message


def test_cached_metrics_are_read_strictly(workspace):
    from crunch.runner.local_score import cached_metrics

    assert cached_metrics(workspace) == []
    workspace.write_cache("metrics.json", [{"id": 1, "name": "accuracy", "target": {"id": 9, "name": "label"}}])
    [metric] = cached_metrics(workspace)
    assert (metric.name, metric.target.name) == ("accuracy", "label")
    workspace.write_cache("metrics.json", [{"id": 1, "name": "accuracy", "weight": "heavy", "target": {"id": 9}}])
    with pytest.raises(CorruptCacheError) as caught:
        cached_metrics(workspace)
    assert caught.value.message == f'{workspace.cache_path("metrics.json")} is malformed: [0].weight: expected an integer, got "heavy": run `crunch download` to fetch it again'


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-12-08T10:11:12", "2026-12-08T10:11:12+00:00"),
        ("2026-12-08T10:11:12.3459Z", "2026-12-08T10:11:12.345900+00:00"),
        ("2026-12-08T10:11:12.123456789+02:00", "2026-12-08T08:11:12.123456+00:00"),
        ("2026-12-08T00:00:00+24:00", None),  # an offset of a day or more: no time
        ("0001-01-01T00:00:00+01:00", None),  # before the first year a datetime holds
        ("9999-12-31T23:59:59-01:00", None),  # after the last
        ("2026-13-01", None),
        ("soon", None),
    ],
)
def test_times_with_or_without_zone_and_fraction(value, expected):
    from crunch.core.jsonshape import parse_time

    moment = parse_time(value)
    assert (moment.isoformat() if moment is not None else None) == expected


def test_a_unit_scale_past_reason_is_bounded():
    unit = models.Unit.read(Node({"prefix": "", "scale": "10000000000", "suffix": "%"}))
    assert unit.scale == 20 and unit.format(0.5).endswith("%")
