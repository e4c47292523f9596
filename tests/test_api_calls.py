"""Unit tests of the hub calls after the push (crunch/api/client.py) with requests-mock: the
paths, the forms of answers taken and refused, pagination and the filters sent."""

from __future__ import annotations

import pytest

from crunch import exceptions as exc
from crunch.api import Backoff, Client

BASE = "http://hub.test/"
PROJECT = BASE + "v3/competitions/demo/projects/7/p1"


def client() -> Client:
    return Client(BASE, push_token="PUSHTOKEN-0123456789", backoff=Backoff(retries=0, base=0), sleep=lambda s: None)


SUBMISSION = {
    "id": 11, "number": 2, "type": "CODE", "message": "m", "mainFilePath": "main.py", "modelDirectoryPath": "resources",
    "totalSize": 1234, "createdAt": "2026-01-02T03:04:05Z", "model": {"id": 11, "name": "m", "totalSize": 10, "createdAt": "2026-01-02T03:04:05Z"},
}


def test_submission_with_its_model(requests_mock):
    requests_mock.get(PROJECT + "/submissions/@last", json=SUBMISSION)
    found = client().get_submission("demo", 7, "p1", "@last")
    assert (found.number, found.total_size, found.model.total_size) == (2, 1234, 10)


def test_submission_without_model(requests_mock):
    requests_mock.get(PROJECT + "/submissions", json=[{**SUBMISSION, "model": None}])
    assert client().list_submissions("demo", 7, "p1")[0].model is None


@pytest.mark.parametrize(
    "answer, problem",
    [
        ({"not": "a list"}, "expected a list, got an object"),
        ([{**SUBMISSION, "number": "two"}], '[0].number: expected an integer, got "two"'),
        (["text"], '[0]: expected an object, got "text"'),
    ],
)
def test_a_listing_that_cannot_be_used_is_one_clear_error(requests_mock, answer, problem):
    requests_mock.get(PROJECT + "/submissions", json=answer)
    with pytest.raises(exc.MalformedAnswerError) as caught:
        client().list_submissions("demo", 7, "p1")
    assert f"GET /v3/competitions/demo/projects/7/p1/submissions is malformed: {problem}" in caught.value.message


@pytest.mark.parametrize(
    "answer, check",
    [
        ([{**SUBMISSION, "totalSize": True}], lambda s: s.total_size == 1),
        ([{**SUBMISSION, "model": {"id": 1, "totalSize": "big"}}], lambda s: s.model.total_size is None),
        ([{**SUBMISSION, "number": "2", "createdAt": "2026-01-02T03:04:05.12"}], lambda s: s.number == 2),
        ({"content": [SUBMISSION], "pageSize": 100}, lambda s: s.number == 2),
        ([{**SUBMISSION, "type": "SOMETHING_NEW", "message": None}], lambda s: s.message == ""),
    ],
)
def test_a_listing_in_the_forms_the_platform_sends(requests_mock, answer, check):
    requests_mock.get(PROJECT + "/submissions", json=answer)
    [found] = client().list_submissions("demo", 7, "p1")
    assert check(found)


def test_quotas(requests_mock):
    requests_mock.get(PROJECT + "/quota/submit", json={
        "codeFiles": {"totalSize": 5}, "modelFiles": {"totalSize": 10}, "notebookFile": {"totalSize": 5},
        "predictionFile": {"totalSize": 5}, "submissionsPerDay": {"current": 5, "maximum": 5, "bypass": False},
    })
    requests_mock.get(PROJECT + "/quota/compute", json={"available": 3600, "remaining": 1800.5, "used": 1799.5, "running": True})
    submit = client().submit_quota("demo", 7, "p1")
    assert submit.submissions_per_day.remaining == 0 and submit.model_files == 10
    compute = client().compute_quota("demo", 7, "p1")
    assert (compute.remaining, compute.running) == (1800.5, True)
    requests_mock.get(PROJECT + "/quota/compute", json={"available": "PT1H", "remaining": "0", "used": 0, "running": None})
    compute = client().compute_quota("demo", 7, "p1")  # a duration as the platform writes one, a number as text
    assert (compute.available, compute.remaining, compute.running) == (3600.0, 0.0, False)
    requests_mock.get(PROJECT + "/quota/compute", json={"available": "1h", "remaining": 0, "used": 0, "running": False})
    with pytest.raises(exc.MalformedAnswerError, match=r"quota/compute is malformed: available: expected a number, got \"1h\""):
        client().compute_quota("demo", 7, "p1")


def test_library_search_sends_the_pattern_and_pages(requests_mock):
    page = [{"name": f"lib{i}", "aliases": [], "language": "PYTHON", "standard": False} for i in range(200)]
    requests_mock.get(BASE + "v2/libraries", [{"json": {"content": page, "pageSize": 200}}, {"json": {"content": page[:3], "pageSize": 200}}])
    found = client().list_libraries("%lib%", standard=False)
    assert len(found) == 203 and requests_mock.call_count == 2
    first = requests_mock.request_history[0].qs
    assert first["name"] == ["%lib%"] and first["standard"] == ["false"] and first["page"] == ["0"]


def test_library_search_stops_past_the_limit(requests_mock):
    page = [{"name": f"lib{i}", "aliases": ["x"], "language": "PYTHON", "standard": False} for i in range(200)]
    requests_mock.get(BASE + "v2/libraries", json={"content": page, "pageSize": 200})
    assert len(client().list_libraries("%lib%", limit=10)) == 200 and requests_mock.call_count == 1


def test_leaderboard_standing(requests_mock):
    unit = {"prefix": "#", "scale": 0, "suffix": None}
    requests_mock.get(BASE + "v3/competitions/demo/leaderboards/@default/changes/users/7", json={
        "submitted": True,
        "targets": [{
            "id": 1, "name": "target", "displayName": "Target",
            "rank": {"unit": unit, "current": 3, "previous": 4}, "rewardRank": {"unit": unit, "current": 2, "previous": 2},
            "metrics": {"score": {"unit": {"prefix": None, "scale": 3, "suffix": "%"}, "current": 0.5, "previous": None}},
        }],
    })
    standing = client().leaderboard_standing("demo", 7, "p1")
    assert requests_mock.last_request.qs["projectidentifier"] == ["p1"]
    assert standing[0].rank.unit.format(standing[0].rank.current) == "#2"
    score = standing[0].metrics["score"]
    assert score.unit.format(score.current) == "0.500%" and score.unit.format(score.previous) == "-"


def test_competition_listing_sends_filters_and_reads_both_shapes(requests_mock):
    requests_mock.get(BASE + "v2/competitions", json={"content": [{"name": "a"}], "pageSize": 100})
    assert [c.name for c in client().list_competitions({"format": "TIMESERIES", "teamBased": False, "mode": None})] == ["a"]
    sent = requests_mock.last_request.qs
    assert sent["format"] == ["timeseries"] and sent["teambased"] == ["false"] and "mode" not in sent
    requests_mock.get(BASE + "v2/competitions", json=[{"name": "b"}])
    assert [c.name for c in client().list_competitions({})] == ["b"]


def test_a_paged_listing_follows_the_pages_the_hub_gives(requests_mock):
    full = {"content": [{"name": f"c{i}"} for i in range(3)], "pageSize": 3, "totalPages": 2}
    last = {"content": [{"name": "c3"}], "pageSize": 3, "totalPages": 2}
    requests_mock.get(BASE + "v2/competitions", [{"json": full}, {"json": last}])
    assert [c.name for c in client().list_competitions()] == ["c0", "c1", "c2", "c3"]
    assert [r.qs["page"] for r in requests_mock.request_history] == [["0"], ["1"]]


def test_confirm_takes_the_chunk_or_the_upload_and_complete_reads_only_the_status(requests_mock):
    requests_mock.post(BASE + "v1/uploads/u1/chunks/1/confirm", json={"number": 1, "offset": 0, "size": 3, "last": True, "completed": True, "completedAt": "2026-01-02T03:04:05"})
    assert client().confirm_chunk("u1", 1, "etag") is None
    assert requests_mock.last_request.json() == {"hash": "etag"}
    requests_mock.post(BASE + "v1/uploads/u1/chunks/1/confirm", json={"id": "u1", "status": "IN_PROGRESS", "chunks": []})
    assert client().confirm_chunk("u1", 1, "etag") is None
    requests_mock.post(BASE + "v1/uploads/u1/complete", json={"id": "u1", "status": "SUCCEEDED"})
    assert client().complete_upload("u1") == "SUCCEEDED"
    requests_mock.post(BASE + "v1/uploads/u1/complete", json={"id": "u1"})
    assert client().complete_upload("u1") is None


def test_the_quickstarter_listing_without_files_and_one_with_them(requests_mock):
    requests_mock.get(BASE + "v2/competitions/demo/quickstarters", json=[{"id": 1, "name": "q", "title": "Q", "authors": [], "language": "PYTHON", "notebook": False}])
    requests_mock.get(BASE + "v2/competitions/demo/quickstarters/q", json={"id": 1, "name": "q", "title": "Q", "notebook": False, "files": [{"name": "main.py", "url": "http://f/main.py", "githubUrl": "x"}]})
    [listed] = client().list_quickstarters("demo")
    assert listed.files is None
    assert [f.name for f in client().get_quickstarter("demo", "q").files] == ["main.py"]


@pytest.mark.parametrize("status", [404, 405, 501])
def test_an_optional_call_the_hub_does_not_offer_gives_the_default_and_one_line(requests_mock, status):
    from crunch.api.client import optional_call

    requests_mock.get(BASE + "v1/competitions/demo/checks", status_code=status, json={"code": "NOT_FOUND", "message": "no"})
    said = []
    assert optional_call(lambda: client().get_checks("demo"), [], "the checks", "defaults are used", said.append) == []
    assert said == [f"this hub does not offer the checks (HTTP {status}): defaults are used"]
    requests_mock.get(BASE + "v1/competitions/demo/checks", json={"checks": "somewhere else"})
    said.clear()
    assert optional_call(lambda: client().get_checks("demo"), [], "the checks", "defaults are used", said.append) == []
    assert len(said) == 1 and said[0].startswith("the hub's answer for the checks could not be read")
    requests_mock.get(BASE + "v1/competitions/demo/checks", status_code=403, json={"code": "AUTHORIZATION_DENIED", "message": "no"})
    with pytest.raises(exc.ApiError):
        optional_call(lambda: client().get_checks("demo"), [], "the checks", "defaults are used", said.append)
