"""Unit tests of the calls after the push (crunch/api/platform.py) with requests-mock: the
paths, the strict shapes, pagination and the filters sent."""

from __future__ import annotations

import pytest

from crunch import exceptions as exc
from crunch.api import Backoff, Client
from crunch.api import platform as api

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
    found = api.get_submission(client(), "demo", 7, "p1", "@last")
    assert (found.number, found.total_size, found.model.total_size) == (2, 1234, 10)


def test_submission_without_model(requests_mock):
    requests_mock.get(PROJECT + "/submissions", json=[{**SUBMISSION, "model": None}])
    assert api.list_submissions(client(), "demo", 7, "p1")[0].model is None


@pytest.mark.parametrize(
    "answer",
    [
        {"not": "a list"},
        [{**SUBMISSION, "number": "two"}],
        [{**SUBMISSION, "totalSize": True}],
        [{**SUBMISSION, "model": {"id": 1, "totalSize": "big"}}],
        ["text"],
    ],
)
def test_a_listing_of_another_shape_is_one_clear_error(requests_mock, answer):
    requests_mock.get(PROJECT + "/submissions", json=answer)
    with pytest.raises(exc.ApiError, match="submission listing is malformed: "):
        api.list_submissions(client(), "demo", 7, "p1")


def test_quotas(requests_mock):
    requests_mock.get(PROJECT + "/quota/submit", json={
        "codeFiles": {"totalSize": 5}, "modelFiles": {"totalSize": 10}, "notebookFile": {"totalSize": 5},
        "predictionFile": {"totalSize": 5}, "submissionsPerDay": {"current": 5, "maximum": 5, "bypass": False},
    })
    requests_mock.get(PROJECT + "/quota/compute", json={"available": 3600, "remaining": 1800.5, "used": 1799.5, "running": True})
    submit = api.submit_quota(client(), "demo", 7, "p1")
    assert submit.submissions_per_day.remaining == 0 and submit.model_files == 10
    compute = api.compute_quota(client(), "demo", 7, "p1")
    assert (compute.remaining, compute.running) == (1800.5, True)
    requests_mock.get(PROJECT + "/quota/compute", json={"available": "1h", "remaining": 0, "used": 0, "running": False})
    with pytest.raises(exc.ApiError, match="compute quota"):
        api.compute_quota(client(), "demo", 7, "p1")


def test_library_search_sends_the_pattern_and_pages(requests_mock):
    page = [{"name": f"lib{i}", "aliases": [], "language": "PYTHON", "standard": False} for i in range(200)]
    requests_mock.get(BASE + "v2/libraries", [{"json": {"content": page}}, {"json": {"content": page[:3]}}])
    found = api.search_libraries(client(), "%lib%", standard=False)
    assert len(found) == 203 and requests_mock.call_count == 2
    first = requests_mock.request_history[0].qs
    assert first["name"] == ["%lib%"] and first["standard"] == ["false"] and first["page"] == ["0"]


def test_library_search_stops_past_the_limit(requests_mock):
    page = [{"name": f"lib{i}", "aliases": ["x"], "language": "PYTHON", "standard": False} for i in range(200)]
    requests_mock.get(BASE + "v2/libraries", json={"content": page})
    assert len(api.search_libraries(client(), "%lib%", limit=10)) == 200 and requests_mock.call_count == 1


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
    standing = api.leaderboard_standing(client(), "demo", 7, "p1")
    assert requests_mock.last_request.qs["projectidentifier"] == ["p1"]
    assert standing[0].rank.unit.format(standing[0].rank.current) == "#2"
    score = standing[0].metrics["score"]
    assert score.unit.format(score.current) == "0.500%" and score.unit.format(score.previous) == "-"


def test_competition_listing_sends_filters_and_reads_both_shapes(requests_mock):
    requests_mock.get(BASE + "v2/competitions", json={"content": [{"name": "a"}], "pageSize": 100})
    assert api.list_competitions(client(), {"format": "TIMESERIES", "teamBased": False, "mode": None}) == [{"name": "a"}]
    sent = requests_mock.last_request.qs
    assert sent["format"] == ["timeseries"] and sent["teambased"] == ["false"] and "mode" not in sent
    requests_mock.get(BASE + "v2/competitions", json=[{"name": "b"}])
    assert api.list_competitions(client(), {}) == [{"name": "b"}]
