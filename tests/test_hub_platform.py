"""The hub's calls after the push (crunch/hub/platform.py) through Werkzeug's test client."""

from __future__ import annotations

import itertools
import re

import pytest
from test_hub_app import LOOPBACK, SECRET, submit, upload
from werkzeug.test import Client

from crunch.hub.app import HubApp
from crunch.hub.faults import Faults
from crunch.hub.platform import filter_competitions, library_matches, like
from crunch.hub.seed import seed_if_needed
from crunch.hub.store import Store

_names = itertools.count()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("hub-platform"))
    seed_if_needed(store)
    return HubApp(store, Faults(), daily_limit=3, admin_secret=SECRET)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def project(app, client):
    """(project name, user name, push token) of a fresh project of ``demo``."""
    name, user = f"q{next(_names)}", "alice"
    answer = client.post("/v2/project-tokens/upgrade", json={"cloneToken": app.store.mint_clone_token("demo", name, user)})
    assert answer.status_code == 200, answer.json
    return name, user, answer.json["plain"]


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        ("%pand%", "pandas", True),
        ("%PAND%", "pandas", True),
        ("pand%", "pandas", True),
        ("%das", "pandas", True),
        ("%sci%learn%", "scikit-learn", True),
        ("pand", "pandas", False),
        ("%x%", "pandas", False),
        ("p_ndas", "pandas", True),
        ("%.%", "pandas", False),  # a dot is a dot, not a regex
    ],
)
def test_like(pattern, value, expected):
    assert like(pattern, value) is expected


def test_library_matches_names_and_aliases():
    assert library_matches("%learn%", "scikit-learn", ["sklearn"])
    assert library_matches("%sklearn%", "scikit-learn", ["sklearn"])
    assert library_matches("sklearn", "scikit-learn", ["sklearn"])  # plain text: a part of the name or an alias
    assert not library_matches("%torch%", "scikit-learn", ["sklearn"])
    assert library_matches("", "anything", [])


def test_filter_competitions():
    items = [
        {"name": "a", "format": "TIMESERIES", "status": "OPEN", "teamBased": False, "hostedByName": "ADIA"},
        {"name": "b", "format": "UNSTRUCTURED", "status": "CLOSED", "teamBased": True, "hostedByName": "crunch"},
    ]
    assert [c["name"] for c in filter_competitions(items, {"format": "timeseries"})] == ["a"]
    assert [c["name"] for c in filter_competitions(items, {"teamBased": "true"})] == ["b"]
    assert [c["name"] for c in filter_competitions(items, {"featured": "true"})] == []
    assert [c["name"] for c in filter_competitions(items, {"organizerName": "adia", "status": "OPEN"})] == ["a"]


def test_library_search_with_wildcards_and_standard(client):
    found = client.get("/v2/libraries", query_string={"name": "%learn%", "standard": "false"}).json["content"]
    assert [lib["name"] for lib in found] == ["scikit-learn"]
    standard = client.get("/v2/libraries", query_string={"name": "json", "standard": "true"}).json["content"]
    assert standard and all(lib["standard"] for lib in standard)
    assert client.get("/v2/libraries", query_string={"name": "%json%", "standard": "false"}).json["content"] == []


def test_one_submission_its_files_and_model(client, project):
    name, user, token = project
    auth = {"pushToken": token}
    code = {"main.py": upload(client, token, b"print(1)\n"), "lib/util.py": upload(client, token, b"x = 1\n")}
    model = {"model.bin": upload(client, token, b"0123456789")}
    assert submit(client, project, code=code, model=model, message="with model").status_code == 200
    assert submit(client, project, message="code only").status_code == 200
    base = f"/v3/competitions/demo/projects/{user}/{name}"
    last = client.get(f"{base}/submissions/@last", query_string=auth).json
    assert last["number"] == 2 and last["model"] is None
    first = client.get(f"{base}/submissions/1", query_string=auth).json
    assert first["model"]["totalSize"] == 10 and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", first["model"]["createdAt"])  # UTC, no zone, as the platform
    files = client.get(f"{base}/submissions/1/files", query_string=auth).json
    assert sorted((f["name"], f["size"]) for f in files) == [("lib/util.py", 6), ("main.py", 9)]
    model_files = client.get(f"{base}/models/{first['model']['id']}/files", query_string=auth).json
    assert model_files == [{"name": "model.bin", "size": 10, "mimeType": "application/octet-stream"}]
    assert [m["id"] for m in client.get(f"{base}/models", query_string=auth).json] == [first["model"]["id"]]
    missing = client.get(f"{base}/submissions/9", query_string=auth)
    assert missing.status_code == 404 and missing.json["code"] == "SUBMISSION_NOT_FOUND"
    assert client.get(f"{base}/submissions/abc", query_string=auth).status_code == 400
    assert client.get(f"{base}/submissions/1", query_string={"pushToken": "wrong"}).status_code == 401


def test_submit_quota_counts_today(client, project, app):
    name, user, token = project
    base = f"/v3/competitions/demo/projects/{user}/{name}"
    before = client.get(f"{base}/quota/submit", query_string={"pushToken": token}).json
    assert before["submissionsPerDay"] == {"current": 0, "maximum": app.daily_limit, "bypass": False}
    submit(client, project)
    after = client.get(f"{base}/quota/submit", query_string={"pushToken": token}).json
    assert after["submissionsPerDay"]["current"] == 1 and after["codeFiles"]["totalSize"] == app.code_limit
    compute = client.get(f"{base}/quota/compute", query_string={"pushToken": token}).json
    assert set(compute) == {"available", "remaining", "used", "running"}


def test_scores_rank_projects_and_changes_keep_the_previous_value(client, app):
    for project_name, user in (("lb-a", "ann"), ("lb-b", "ben")):
        app.store.mint_clone_token("demo-tabular", project_name, user)
    post = lambda body: client.post("/_admin/scores", json={"competition": "demo-tabular", **body}, environ_base=LOOPBACK)  # noqa: E731
    assert post({"project": "lb-a", "user": "ann", "score": 0.2}).json["rank"] == 1
    assert post({"project": "lb-b", "user": "ben", "score": 0.5}).json["rank"] == 1
    assert post({"project": "lb-a", "user": "ann", "score": 0.9}).json["rank"] == 1
    assert post({"project": "lb-a", "user": "ann", "score": "high"}).status_code == 400
    assert post({"project": "lb-a", "user": "ann", "score": 1, "target": "nope"}).status_code == 400
    board = client.get("/v2/competitions/demo-tabular/leaderboards/@default").json
    positions = board["targets"][0]["positions"]
    assert [(p["project"]["name"], p["rank"]) for p in positions] == [("lb-a", 1), ("lb-b", 2)]
    ann = app.store.one("SELECT id FROM users WHERE name = 'ann'")["id"]
    changes = client.get(f"/v3/competitions/demo-tabular/leaderboards/default/changes/users/{ann}", query_string={"projectIdentifier": "lb-a"}).json
    target = changes["targets"][0]
    assert target["rank"]["current"] == 1 and target["rank"]["previous"] == 2
    assert target["metrics"]["score"]["current"] == 0.9 and target["metrics"]["score"]["previous"] == 0.2
    metrics = client.get("/v1/competitions/demo-tabular/metrics").json
    assert [(m["name"], m["target"]["name"]) for m in metrics] == [("score", "target")]
    assert client.get("/v2/competitions/demo-tabular/leaderboards/other").status_code == 404
    assert client.get(f"/v2/users/{ann}").json == {"id": ann, "login": "ann"}
