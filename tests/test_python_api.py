"""The Python API (``crunch.api.Client.from_env()`` and its collections), the public client's
exception names, ``crunch.utils.cut_url``/``download``; and the examples of docs/python-api.md
run against a local hub, so that the page cannot drift from the code."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import crunch.api as api
from crunch import exceptions as exc
from crunch.api.client import Backoff

BASE = "http://hub.test/"
PROJECT = BASE + "v3/competitions/demo/projects/7/p1"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"

COMPETITION = {"id": 3, "name": "demo", "displayName": "Demo", "format": "TIMESERIES", "status": "OPEN", "shortDescription": "a demo"}


def make_client(**kwargs):
    kwargs.setdefault("api_key", "key-123")
    return api.Client(BASE, backoff=Backoff(retries=0), timeout=(2, 2), **kwargs)


@pytest.fixture
def competition(requests_mock):
    requests_mock.get(BASE + "v1/competitions/demo", json=COMPETITION)
    return make_client().competitions.get("demo")


# -- the entry point ---------------------------------------------------------------------------------


def test_importing_crunch_api_loads_no_http_client():
    code = "import sys, crunch.api; crunch.api.Metric; print('requests' in sys.modules, 'crunch.api.scripting' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    assert out.split() == ["False", "False"]


def test_client_is_the_transport_with_collections():
    from crunch.api.client import Client as Transport

    client = make_client()
    assert isinstance(client, Transport)
    assert type(client.competitions).__name__ == "CompetitionCollection"


def test_from_env_reads_the_address_and_the_key():
    client = api.Client.from_env(environ={"CRUNCH_API_BASE_URL": "http://127.0.0.1:9/", "CRUNCH_API_KEY": "k1"})
    assert client.base_url == "http://127.0.0.1:9/" and client.api_key == "k1" and client.push_token is None
    staging = api.Client.from_env(environ={"CRUNCH_ENVIRONMENT": "staging"})
    assert staging.base_url == "https://api.hub.crunchdao.io/" and staging.api_key is None
    assert api.Client.from_env(environ={}).base_url == "https://api.hub.crunchdao.com/"
    assert api.Client.from_env(environ={"API_BASE_URL": "http://a:1", "CRUNCH_API_BASE_URL": "http://b:2"}).base_url == "http://a:1/"
    # arguments win; a push token replaces the key
    token = api.Client.from_env(push_token="t1", api_base_url="http://h:1/", environ={"CRUNCH_API_KEY": "k1"})
    assert token.push_token == "t1" and token.api_key is None and token.base_url == "http://h:1/"
    with pytest.raises(exc.ConfigurationError, match="unknown CRUNCH_ENVIRONMENT"):
        api.Client.from_env(environ={"CRUNCH_ENVIRONMENT": "moon"})
    with pytest.raises(exc.ConfigurationError, match="malformed CRUNCH_API_BASE_URL"):
        api.Client.from_env(environ={"CRUNCH_API_BASE_URL": "ftp://x"})


def test_environment_names_match_the_command_line():
    from crunch.api.scripting import ENVIRONMENT_URLS
    from crunch.project.settings import ALIASES, ENVIRONMENTS

    assert ENVIRONMENT_URLS == {alias: ENVIRONMENTS[name][0] for alias, name in ALIASES.items()}


def test_the_key_goes_in_the_header(requests_mock, competition):
    assert requests_mock.last_request.headers["Authorization"] == "API-Key key-123"


# -- collections -----------------------------------------------------------------------------------


def test_competitions_get_and_iter(requests_mock, competition):
    assert competition.name == "demo" and competition.display_name == "Demo"
    assert competition.short_description == "a demo"  # from the answer by its Python name
    with pytest.raises(AttributeError):
        competition.no_such_field  # noqa: B018
    requests_mock.get(BASE + "v2/competitions", json={"content": [COMPETITION, {**COMPETITION, "name": "other"}], "last": True})
    names = [c.name for c in make_client().competitions.iter(status="OPEN", team_based=False)]
    assert names == ["demo", "other"]
    query = requests_mock.last_request.qs
    assert query["status"] == ["open"] and query["teambased"] == ["false"] and "format" not in query
    assert [c.name for c in make_client().competitions.list()] == ["demo", "other"]


def test_competition_reload(requests_mock, competition):
    requests_mock.get(BASE + "v1/competitions/demo", json={**COMPETITION, "displayName": "Renamed"})
    assert competition.reload().display_name == "Renamed"


def test_rounds(requests_mock, competition):
    requests_mock.get(BASE + "v1/competitions/demo/rounds/@current", json={"id": 9, "number": 4, "start": "2024-01-01", "end": "2024-02-01"})
    requests_mock.get(BASE + "v1/competitions/demo/rounds/@last", json={"id": 10, "number": "5"})
    requests_mock.get(BASE + "v1/competitions/demo/rounds", json=[{"id": 9, "number": 4}, {"id": 10, "number": 5}])
    current = competition.rounds.current
    assert current.number == 4 and current.start == "2024-01-01" and current.competition is competition
    assert competition.rounds.get_current().id == 9
    assert competition.rounds.last.number == 5  # "5" read as the platform's client reads it
    assert [r.number for r in competition.rounds.list()] == [4, 5]


def test_projects_submissions_runs(requests_mock, competition):
    requests_mock.get(BASE + "v3/competitions/demo/projects/@me/p1", json={"id": 1, "name": "p1", "userId": 7})
    project = competition.projects.get("@me", "p1")
    assert project.user_id == 7 and project.name == "p1" and project.id == 1
    requests_mock.get(PROJECT + "/submissions", json=[{"id": 11, "number": 1, "message": "first"}, {"id": 12, "number": 2, "message": "second"}])
    requests_mock.get(PROJECT + "/submissions/2", json={"id": 12, "number": 2, "message": "second"})
    requests_mock.get(PROJECT + "/submissions/2/files", json=[{"name": "main.py", "size": 10}])
    assert [s.message for s in project.submissions.list()] == ["first", "second"]
    submission = project.submissions.get(2)
    assert submission.id == 12 and [f.name for f in submission.files] == ["main.py"]
    run = {"id": 5, "status": "RUNNING", "submission": {"number": 2}}
    requests_mock.get(PROJECT + "/runs", json=[run])
    requests_mock.get(PROJECT + "/runs/5", json=run)
    requests_mock.get(PROJECT + "/runs/5/logs", json=[{"id": 1, "content": "hello", "emitter": "USER", "error": False}])
    requests_mock.delete(PROJECT + "/runs/5", json={**run, "status": "TERMINATED"})
    requests_mock.post(PROJECT + "/runs", json={**run, "id": 6})
    assert [r.id for r in project.runs.list()] == [5]
    one = project.runs.get(5)
    assert one.status == "RUNNING" and one.submission_number == 2
    assert [log.content for log in one.logs] == ["hello"]
    assert one.terminate().status == "TERMINATED"
    created = project.runs.create(submission_id=12, runtime_definition_name="cpu")
    assert created.id == 6
    assert requests_mock.last_request.json()["runtimeDefinitionName"] == "cpu"


def test_project_reference_and_quotas(requests_mock, competition):
    project = competition.projects.reference(7, "p1")
    requests_mock.get(PROJECT + "/quota/submit", json={"submissionsPerDay": {"current": 2, "maximum": 5, "bypass": False}})
    requests_mock.get(PROJECT + "/quota/compute", json={"available": 3600, "remaining": 1800, "used": 1800, "running": False})
    assert requests_mock.call_count == 1  # a reference asks nothing
    assert project.submit_quota.submissions_per_day.current == 2
    assert project.compute_quota.remaining == 1800


def test_leaderboards(requests_mock, competition):
    detailed = {
        "id": 1, "name": "default", "displayName": "Leaderboard", "default": True, "crunch": {"id": 4},
        "targets": [{"name": "y", "positions": [{"rank": 1, "user": {"login": "bob"}, "project": {"name": "p"}, "mean": 0.5, "best": 0.6}, "odd"]}],
    }
    requests_mock.get(BASE + "v2/competitions/demo/leaderboards/@default", json=detailed)
    requests_mock.get(BASE + "v2/competitions/demo/leaderboards/default", json=detailed)
    requests_mock.get(BASE + "v2/competitions/demo/leaderboards", json=[{k: v for k, v in detailed.items() if k != "targets"}])
    board = competition.leaderboards.get_default()
    assert board.default and board.crunch_id == 4
    assert board.positions() == [{"target": "y", "rank": 1, "user": "bob", "project": "p", "mean": 0.5, "best": 0.6}]
    listed = competition.leaderboards.list()
    assert listed[0].targets is None and listed[0].positions()[0]["user"] == "bob"  # fetched on demand


def test_quickstarters_targets_libraries(requests_mock, competition):
    requests_mock.get(BASE + "v2/competitions/demo/quickstarters", json=[{"name": "q", "title": "Q", "notebook": False}])
    requests_mock.get(BASE + "v1/competitions/demo/targets", json=[{"id": 1, "name": "y", "primary": True}])
    requests_mock.get(BASE + "v1/competitions/demo/metrics", json=[{"id": 2, "name": "mse", "target": {"id": 1, "name": "y"}}])
    requests_mock.get(BASE + "v2/libraries", json=[{"name": "numpy", "aliases": [], "standard": True}])
    assert [q.name for q in competition.quickstarters.list()] == ["q"]
    assert [(t.name, [m.name for m in t.metrics]) for t in competition.targets.list()] == [("y", ["mse"])]
    assert [lib.name for lib in make_client().libraries.list(name="num%")] == ["numpy"]
    assert requests_mock.last_request.qs["name"] == ["num%"]


# -- errors ----------------------------------------------------------------------------------------

CODES = [
    ("COMPETITION_NAME_NOT_FOUND", "CompetitionNameNotFoundException"),
    ("PROJECT_NOT_FOUND", "ProjectNotFoundException"),
    ("ROUND_NOT_FOUND", "RoundNotFoundException"),
    ("CURRENT_ROUND_NOT_FOUND", "CurrentRoundNotFoundException"),
    ("CRUNCH_NOT_FOUND", "CrunchNotFoundException"),
    ("MISSING_PHASE_DATA", "MissingPhaseDataException"),
    ("RUN_NOT_FOUND", "RunNotFoundException"),
    ("LEADERBOARD_NOT_FOUND", "LeaderboardNotFoundException"),
    ("QUICKSTARTER_NOT_FOUND", "QuickstarterNotFoundException"),
    ("PHASE_NOT_FOUND", "PhaseNotFoundException"),
    ("AUTHORIZATION_DENIED", "AuthorizationDeniedException"),
    ("UNAUTHORIZED", "AuthorizationDeniedException"),
    ("RETRYABLE", "InternalServerException"),
    ("DAILY_SUBMISSION_LIMIT_EXCEEDED", "DailySubmissionLimitExceededException"),
    ("CHECK", "CheckException"),
]


@pytest.mark.parametrize("code,name", CODES)
def test_public_names_catch_their_codes(requests_mock, code, name):
    requests_mock.get(BASE + "v1/competitions/demo", status_code=404, json={"code": code, "message": "m"})
    cls = getattr(api, name)
    with pytest.raises(cls) as info:
        make_client().competitions.get("demo")
    assert isinstance(info.value, api.ApiException) and isinstance(info.value, exc.CrunchError)
    assert info.value.code == code and code not in str(info.value)
    assert api.find_error_class(code) is type(info.value)


def test_the_names_keep_our_classes():
    assert api.ApiException is exc.ApiError
    assert api.CompetitionNameNotFoundException is exc.CompetitionNotFoundError
    # the two "no data yet" codes are told apart, and both are still a NoDataYetError
    assert issubclass(api.CrunchNotFoundException, exc.NoDataYetError)
    assert issubclass(api.MissingPhaseDataException, exc.NoDataYetError)
    assert not issubclass(api.CrunchNotFoundException, api.MissingPhaseDataException)
    assert api.find_error_class("SOMETHING_NEW") is exc.ApiError
    error = api.convert_error({"code": "FORBIDDEN_LIBRARY", "message": "no", "packages": ["evil"]})
    assert type(error) is api.ForbiddenLibraryException and error.packages == ["evil"]
    from crunch.api.errors import PUBLIC_NAMES

    assert set(PUBLIC_NAMES) | {"convert_error", "find_error_class"} == set(api._ERRORS)
    assert all(name in api.__all__ for name in PUBLIC_NAMES)


# -- crunch.utils ----------------------------------------------------------------------------------


def test_cut_url():
    from crunch.utils import cut_url

    assert cut_url("https://bucket.s3/data/x.parquet?X-Amz-Signature=secret") == "https:bucket.s3/data/x.parquet"
    assert cut_url("http://host:8/a#frag") == "http:host:8/a"
    assert cut_url("s3://bucket/key?v=1") == "s3://bucket/key"
    assert cut_url("relative/path") == "relative/path"


def test_download_whole_file(requests_mock, tmp_path):
    from crunch.utils import download

    requests_mock.get("http://files.test/x.bin?sig=s", content=b"abc" * 1000, headers={"Content-Length": "3000"})
    said = []
    target = tmp_path / "deep" / "x.bin"
    download("http://files.test/x.bin?sig=s", str(target), print=said.append, progress_bar=False)
    assert target.read_bytes() == b"abc" * 1000
    assert said == [f"{target}: download from http:files.test/x.bin (3000 bytes)"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.bin"]


def test_download_retries_a_broken_connection(requests_mock, tmp_path):
    from crunch.utils import download

    requests_mock.get("http://files.test/y", [{"exc": requests.ConnectionError("reset")}, {"content": b"data"}])
    said = []
    download("http://files.test/y", str(tmp_path / "y"), print=said.append, progress_bar=False, max_retry=2)
    assert (tmp_path / "y").read_bytes() == b"data" and any(line.startswith("retrying 1/2") for line in said)


def test_download_failure_leaves_nothing(requests_mock, tmp_path):
    from crunch.utils import download

    (tmp_path / "z").write_bytes(b"old")
    requests_mock.get("http://files.test/z?token=t", status_code=403)
    with pytest.raises(exc.TransferError) as info:
        download("http://files.test/z?token=t", str(tmp_path / "z"), log=False, progress_bar=False)
    assert "HTTP 403" in str(info.value) and "token" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z"] and (tmp_path / "z").read_bytes() == b"old"
    requests_mock.get("http://files.test/w", [{"exc": requests.ConnectionError("x")}] * 3)
    with pytest.raises(exc.TransferError, match="broke 2 times"):
        download("http://files.test/w", str(tmp_path / "w"), log=False, progress_bar=False, max_retry=1)
    assert not (tmp_path / "w").exists() and len(list(tmp_path.iterdir())) == 1


def test_download_resumes_from_a_real_server(shared_hub, tmp_path):
    """The hub's data file, cut after some bytes once: the second request asks for the rest."""
    from crunch.utils import download

    url = shared_hub.client().get_data_release("demo").data_files
    remote = next(iter(url.values()))
    shared_hub.reset_stats()
    shared_hub.faults(drop_after=200, drop_times=1, path_prefix="/data/")
    said = []
    try:
        download(remote.url, str(tmp_path / remote.name), print=said.append, progress_bar=False)
    finally:
        shared_hub.reset_faults()
    assert (tmp_path / remote.name).stat().st_size == remote.size
    assert any("retrying 1/10 at" in line for line in said), said


# -- the documented examples, against a local hub ---------------------------------------------------


def _examples() -> list:
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.e2e
def test_the_documented_examples_run_against_a_local_hub(shared_hub, monkeypatch):
    shared_hub.token("demo", "pyapi", "alice")
    shared_hub.score("demo", "pyapi", "alice", 0.75)
    monkeypatch.setenv("CRUNCH_API_BASE_URL", shared_hub.url)
    monkeypatch.setenv("CRUNCH_API_KEY", shared_hub.api_key("alice"))
    examples = _examples()
    assert len(examples) >= 6
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for code in examples:
            # the page names a real competition and a project of yours; the local hub has its own
            code = code.replace('"structural-break"', '"demo"').replace('"my-project"', '"pyapi"')
            exec(compile(code, str(DOCS), "exec"), namespace)
    text = out.getvalue()
    assert "demo Demo (timeseries) TIMESERIES" in text
    assert "round 1: " in text
    assert "target ['score']" in text
    assert "0 of 5 submissions today" in text
    assert "1 alice pyapi 0.75" in text
    assert "target rank 1 was None" in text
    assert "unknown competition: COMPETITION_NAME_NOT_FOUND" in text
