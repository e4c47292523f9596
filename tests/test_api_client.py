"""Unit tests of the hub client with requests-mock: URLs, auth, retries, errors, redaction."""

from __future__ import annotations

import pytest
import requests

from crunch import exceptions as exc
from crunch.api import KNOWN_CODES, Backoff, Client
from crunch.api.client import USER_AGENT

BASE = "http://hub.test/"
TOKEN = "PUSHTOKEN-abcdef123456"


def make_client(**kwargs) -> Client:
    kwargs.setdefault("backoff", Backoff(retries=3, base=0))
    return Client(BASE, sleep=lambda s: None, **kwargs)


def test_joins_paths_sends_user_agent_and_push_token(requests_mock):
    requests_mock.get(BASE + "v1/competitions/demo", json={"id": 1, "name": "demo", "format": "TIMESERIES"})
    competition = make_client(push_token=TOKEN).get_competition("demo")
    assert competition.name == "demo" and competition.format.value == "TIMESERIES"
    request = requests_mock.last_request
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.qs["pushtoken"] == [TOKEN.lower()]


def test_api_key_header(requests_mock):
    requests_mock.get(BASE + "v2/competitions", json=[])
    make_client(api_key="KEY-0123456789").list_competitions()
    assert requests_mock.last_request.headers["Authorization"] == "API-Key KEY-0123456789"


def test_unknown_format_is_regular(requests_mock):
    requests_mock.get(BASE + "v1/competitions/x", json={"id": 1, "name": "x", "format": "SOMETHING"})
    assert make_client().get_competition("x").format.value == "REGULAR"


def test_hidden_run_options_of_a_competition(requests_mock):
    requests_mock.get(BASE + "v1/competitions/shown", json={"id": 1, "name": "shown", "hideTrainFrequency": None})
    shown = make_client().get_competition("shown")  # absent or null: not hidden
    assert shown.hide_train_frequency is False and shown.hide_force_first_train is False
    requests_mock.get(BASE + "v1/competitions/hidden", json={"id": 2, "name": "hidden", "hideTrainFrequency": True, "hideForceFirstTrain": True})
    hidden = make_client().get_competition("hidden")
    assert hidden.hide_train_frequency is True and hidden.hide_force_first_train is True
    requests_mock.get(BASE + "v1/competitions/text", json={"id": 3, "name": "text", "hideTrainFrequency": "true", "hideForceFirstTrain": "false"})
    text = make_client().get_competition("text")  # flags sent as text are read as the platform's client reads them
    assert text.hide_train_frequency is True and text.hide_force_first_train is False


def test_retries_idempotent_calls_on_503_then_succeeds(requests_mock):
    requests_mock.get(
        BASE + "v2/competitions",
        [{"status_code": 503, "text": "busy"}, {"status_code": 502, "text": "bad"}, {"json": [{"id": 1, "name": "a"}]}],
    )
    assert [c.name for c in make_client().list_competitions()] == ["a"]
    assert requests_mock.call_count == 3


def test_retries_on_connection_error(requests_mock):
    requests_mock.get(BASE + "v2/competitions", [{"exc": requests.ConnectionError("boom")}, {"json": []}])
    assert make_client().list_competitions() == []
    assert requests_mock.call_count == 2


def test_gives_up_after_the_retries(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=503, text="<html>busy</html>")
    with pytest.raises(exc.ApiError) as info:
        make_client().list_competitions()
    assert requests_mock.call_count == 4
    assert "503" in str(info.value) and "HTML" in str(info.value)


def test_does_not_retry_a_token_upgrade(requests_mock):
    requests_mock.post(BASE + "v2/project-tokens/upgrade", [{"exc": requests.ConnectionError("x")}, {"json": {}}])
    with pytest.raises(exc.NetworkError):
        make_client().upgrade_token("CLONE-TOKEN-123")
    assert requests_mock.call_count == 1


def test_connection_error_message_has_no_token(requests_mock):
    requests_mock.get(
        BASE + "v1/competitions/demo",
        exc=requests.ConnectionError(f"HTTPConnectionPool: Max retries exceeded with url: /v1/competitions/demo?pushToken={TOKEN}"),
    )
    with pytest.raises(exc.NetworkError) as info:
        make_client(push_token=TOKEN).get_competition("demo")
    assert TOKEN not in str(info.value)
    assert "cannot reach the hub" in str(info.value)


@pytest.mark.parametrize("code", sorted(KNOWN_CODES))
def test_every_known_code_maps_to_a_typed_error(requests_mock, code):
    requests_mock.get(BASE + "v2/competitions", status_code=400, json={"code": code, "message": "m", "packages": ["evil"], "fieldErrors": [{"field": "message", "message": "too long"}]})
    with pytest.raises(exc.ApiError) as info:
        make_client().list_competitions()
    error = info.value
    assert type(error) is not exc.ApiError
    assert error.code == code and error.status == 400
    assert code not in str(error)  # a sentence for a person, not the raw code
    assert str(error)


def test_forbidden_library_names_the_packages(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=403, json={"code": "FORBIDDEN_LIBRARY", "message": "no", "packages": ["evil", "worse"]})
    with pytest.raises(exc.ForbiddenLibraryError) as info:
        make_client().list_competitions()
    assert info.value.packages == ["evil", "worse"]
    assert "evil, worse" in str(info.value)


def test_unknown_code_shows_code_and_message(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=418, json={"code": "TEAPOT_OVERFLOW", "message": "too much tea"})
    with pytest.raises(exc.ApiError) as info:
        make_client().list_competitions()
    assert "TEAPOT_OVERFLOW: too much tea" in str(info.value)


def test_html_error_body(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=404, text="<!doctype html><html><body>Not found</body></html>", headers={"Content-Type": "text/html"})
    with pytest.raises(exc.ApiError) as info:
        make_client().list_competitions()
    assert "HTTP 404 with an HTML page" in str(info.value)


def test_truncated_json_success_body(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=200, text='[{"id": 1, "na')
    with pytest.raises(exc.ApiError) as info:
        make_client().list_competitions()
    assert "not valid JSON" in str(info.value)


def test_damaged_json_answer_of_a_get_is_asked_again(requests_mock):
    requests_mock.get(BASE + "v1/competitions/x", [
        {"content": b'{"id": 1, "na', "status_code": 200},
        {"content": b'{"id": 1, "name": "x\x80"}', "status_code": 200},  # a damaged byte: not U+FFFD
        {"json": {"id": 1, "name": "x"}, "status_code": 200},
    ])
    assert make_client().get_competition("x").name == "x"
    assert requests_mock.call_count == 3


def test_damaged_json_answer_of_a_post_is_not_sent_again(requests_mock):
    requests_mock.post(BASE + "v2/project-tokens/upgrade", content=b'{"plain": "tok', status_code=200)
    with pytest.raises(exc.ApiError, match="not valid JSON"):
        make_client().upgrade_token("clone-token-1234567")
    assert requests_mock.call_count == 1


def test_error_body_echoing_the_token_is_redacted(requests_mock):
    requests_mock.get(BASE + "v2/competitions", status_code=400, json={"code": "WHATEVER", "message": f"bad token {TOKEN}"})
    with pytest.raises(exc.ApiError) as info:
        make_client(push_token=TOKEN).list_competitions()
    assert TOKEN not in str(info.value)


def test_upgrade_token_registers_the_push_token(requests_mock):
    plain = "NEW-PUSH-TOKEN-987654321"
    requests_mock.post(BASE + "v2/project-tokens/upgrade", json={"plain": plain, "type": "PUSH", "validUntil": None, "project": {"id": 3, "name": "p", "userId": 7, "competitionId": 1}})
    token = make_client().upgrade_token("CLONE-123456")
    assert token.plain == plain and token.project.user_id == 7
    assert plain not in repr(token)
    assert requests_mock.last_request.json() == {"cloneToken": "CLONE-123456"}
    assert plain not in str(exc.CrunchError(f"x {plain}"))


def test_libraries_are_paged_until_a_short_page(requests_mock):
    page = lambda n, count: {"content": [{"name": f"lib{n}-{i}", "aliases": [], "standard": False} for i in range(count)], "pageSize": 2}  # noqa: E731
    requests_mock.get(BASE + "v2/libraries", [{"json": page(0, 2)}, {"json": page(1, 2)}, {"json": page(2, 1)}])
    libraries = make_client().list_libraries()  # the hub gives 2 a page whatever is asked: its pageSize says so
    assert len(libraries) == 5
    assert [r.qs["page"] for r in requests_mock.request_history] == [["0"], ["1"], ["2"]]


def test_data_release_test_keys_and_files(requests_mock):
    release = {
        "id": 1, "number": 1, "name": "r", "embargo": 2, "numberOfFeatures": 10,
        "columnNames": {"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}},
        "splits": [{"key": 0, "group": "TRAIN"}, {"key": 5, "group": "TEST", "reduced": None}, {"key": 6, "group": "TEST", "reduced": "X"}],
        "dataFiles": {"X_train": {"name": "X_train.parquet", "url": "http://data/x", "size": 10, "signed": True, "compressed": False, "sha256": "ab" * 32}, "y_test": {"name": "y_test.parquet", "url": "", "size": -1}},
    }
    requests_mock.get(BASE + "v2/competitions/demo/rounds/@current/phases/submission/data-release", json=release)
    parsed = make_client().get_data_release("demo", size_variant="small")
    assert requests_mock.last_request.qs["sizevariant"] == ["small"]  # requests-mock lowercases
    assert parsed.test_keys == [6]
    assert parsed.column_names.outputs == ["prediction"]
    assert parsed.data_files["X_train"].available and not parsed.data_files["y_test"].available


def test_clone_and_submission_paths(requests_mock):
    requests_mock.get(BASE + "v4/competitions/demo/projects/7/p1/clone", json={"main.py": "http://x/main.py"})
    requests_mock.post(BASE + "v4/competitions/demo/projects/7/p1/submissions", json={"id": 1, "number": 2, "message": "m", "createdAt": "now"})
    client = make_client(push_token=TOKEN)
    assert client.clone("demo", 7, "p1", submission_number=3) == {"main.py": "http://x/main.py"}
    assert requests_mock.last_request.qs["submissionnumber"] == ["3"]
    submission = client.create_submission("demo", 7, "p1", message="m", main_file_path="main.py", model_directory_path="resources", code_files={"main.py": 1}, model_files={})
    assert submission.number == 2
    body = requests_mock.last_request.json()
    assert body["type"] == "CODE" and body["pushToken"] == TOKEN and body["codeFiles"] == {"main.py": 1}


def test_token_only_sent_to_the_api_host():
    client = make_client(push_token=TOKEN)
    assert client.is_api_url(BASE + "v1/x")
    assert not client.is_api_url("http://data.example/x")


@pytest.mark.parametrize(
    "body, problem",
    [
        ("[1, 2]", "expected an object, got a list"),
        ('"text"', 'expected an object, got "text"'),
        ("42", "expected an object, got 42"),
        ('{"number": "not a number"}', 'number: expected an integer, got "not a number"'),
        ('{"number": [1]}', "number: expected an integer, got a list"),
        ('{"number": {"n": 1}}', "number: expected an integer, got an object"),
    ],
)
def test_answers_of_an_unexpected_shape(requests_mock, body, problem):
    requests_mock.get(BASE + "v1/competitions/demo/rounds/@current", text=body)
    with pytest.raises(exc.MalformedAnswerError) as caught:
        make_client().get_round("demo")
    assert caught.value.message.startswith("the hub's answer to GET /v1/competitions/demo/rounds/@current is malformed: " + problem)
