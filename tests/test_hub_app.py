"""The hub's WSGI app through Werkzeug's test client (no sockets)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client

from crunch.hub.app import HubApp
from crunch.hub.faults import Faults
from crunch.hub.seed import host_folder, seed_if_needed, timeseries_frames
from crunch.hub.store import Store, chunk_layout


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("hub-app"))
    assert seed_if_needed(store) is True
    assert seed_if_needed(store) is False
    return HubApp(store, Faults(), daily_limit=3, admin_secret=SECRET)


@pytest.fixture
def client(app):
    app.faults.configure({"reset": True})
    app.daily_limit, app.code_limit, app.model_limit = 3, 5 * 1024**3, 10 * 1024**3
    app.shapes = "current"
    return Client(app)


SECRET = "hub-admin-secret-of-the-app-tests"
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_CRUNCH_HUB_SECRET": SECRET}  # an admin call's environ


_counter = iter(range(10_000))


@pytest.fixture
def project(app, client):
    """(project name, user name, push token) of a fresh project of ``demo``."""
    name, user = f"p{next(_counter)}", "alice"
    token = app.store.mint_clone_token("demo", name, user)
    answer = client.post("/v2/project-tokens/upgrade", json={"cloneToken": token})
    assert answer.status_code == 200, answer.json
    return name, user, answer.json["plain"]


def local(url):
    parts = urlsplit(url)
    return parts.path, parts.query


def upload(client, token, data: bytes, chunk_size=None, name="file.bin"):
    body = {"name": name, "size": len(data), "encrypted": False}
    if chunk_size:
        body["preferredChunkSize"] = chunk_size
    created = client.post("/v1/uploads", json=body, query_string={"pushToken": token})
    assert created.status_code == 200, created.json
    upload_id = created.json["id"]
    for chunk in created.json["chunks"]:
        target = client.get(f"/v1/uploads/{upload_id}/chunks/{chunk['number']}/request", query_string={"pushToken": token}).json
        path, query = local(target["url"])
        put = client.put(path, query_string=query, data=data[chunk["offset"] : chunk["offset"] + chunk["size"]])
        assert put.status_code == 200, put.data
        confirmed = client.post(
            f"/v1/uploads/{upload_id}/chunks/{chunk['number']}/confirm", json={"hash": put.headers["ETag"]}, query_string={"pushToken": token}
        )
        assert confirmed.status_code == 200, confirmed.json
    done = client.post(f"/v1/uploads/{upload_id}/complete", json={}, query_string={"pushToken": token})
    assert done.status_code == 200 and done.json["status"] == "SUCCEEDED", done.json
    return upload_id


def submit(client, project, code=None, model=None, message="m", **extra):
    name, user, token = project
    code = code if code is not None else {"main.py": upload(client, token, b"def train(): pass\n")}
    body = {
        "message": message,
        "mainFilePath": "main.py",
        "modelDirectoryPath": "resources",
        "type": "CODE",
        "codeFiles": code,
        "modelFiles": model or {},
        "pushToken": token,
        **extra,
    }
    return client.post(f"/v4/competitions/demo/projects/{user}/{name}/submissions", json=body, query_string={"pushToken": token})


# -- reading calls --------------------------------------------------------------------------------


def test_competitions_rounds_phases(client):
    listing = client.get("/v2/competitions").json["content"]
    assert [c["name"] for c in listing] == ["demo", "demo-tabular", "demo-unstructured"]
    assert listing[1]["format"] == "REGULAR" and listing[2]["format"] == "UNSTRUCTURED"
    paged = client.get("/v2/competitions", query_string={"page": 0, "size": 1}).json
    assert paged["pageSize"] == 1 and len(paged["content"]) == 1 and paged["totalElements"] == 3
    assert client.get("/v1/competitions/1").json["name"] == "demo"
    for number in ("@current", "@last", "1"):
        assert client.get(f"/v1/competitions/demo/rounds/{number}").json["number"] == 1
    missing = client.get("/v1/competitions/demo/rounds/7")
    assert missing.status_code == 404 and missing.json["code"] == "ROUND_NOT_FOUND"
    assert client.get("/v2/competitions/demo/rounds/1/phases/SUBMISSION").json["type"] == "SUBMISSION"
    unknown = client.get("/v1/competitions/zzz")
    assert unknown.status_code == 404 and unknown.json["code"] == "COMPETITION_NAME_NOT_FOUND"


def test_data_release_shape(client):
    release = client.get("/v2/competitions/demo/rounds/@current/phases/submission/data-release?sizeVariant=DEFAULT").json
    target_id = client.get("/v1/competitions/demo/targets/target").json["id"]
    assert release["columnNames"] == {
        "id": "id", "moon": "moon", "side": None, "input": "target", "output": "prediction",
        "targets": [{"id": target_id, "name": "target", "side": None, "input": "target", "output": "prediction", "filePath": None}],
    }
    assert set(release["dataFiles"]) == {"X_train", "y_train", "X_test", "y_test", "example_prediction"}
    tests = [s for s in release["splits"] if s["group"] == "TEST"]
    assert [s["key"] for s in tests] == [30, 31, 32, 33, 34] and all(s["reduced"] for s in tests)
    assert len([s for s in release["splits"] if s["group"] == "TRAIN"]) == 30
    for entry in release["dataFiles"].values():
        assert set(entry) >= {"name", "url", "size", "signed", "compressed", "sha256"}
        path, query = local(entry["url"])
        assert "pushToken" not in query
        body = client.get(path, query_string=query)
        assert body.status_code == 200 and len(body.data) == entry["size"]
        assert hashlib.sha256(body.data).hexdigest() == entry["sha256"]
    bad = client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release?sizeVariant=HUGE")
    assert bad.status_code == 400 and bad.json["code"] == "VALIDATION_FAILED" and bad.json["fieldErrors"]
    tabular = client.get("/v2/competitions/demo-tabular/rounds/@current/phases/submission/data-release").json
    assert tabular["columnNames"]["moon"] is None
    assert not [s for s in tabular["splits"] if s["group"] == "TEST" and s["reduced"]]


def test_demo_data_is_deterministic(tmp_path):
    first = timeseries_frames(rows=5, train_moons=3, test_moons=2, features=2)
    second = timeseries_frames(rows=5, train_moons=3, test_moons=2, features=2)
    for key in first:
        assert first[key].equals(second[key])
    assert sorted(first["X_test"]["moon"].unique()) == [3, 4]
    assert list(first["example_prediction"].columns) == ["id", "moon", "prediction"]


def test_checks_libraries_quickstarters(client):
    checks = client.get("/v1/competitions/demo/checks").json
    assert {c["function"] for c in checks} >= {"COLUMNS_NAME", "NANS", "IDS", "MOONS", "VALUES_BETWEEN", "CONSTANTS"}
    assert all(c["scope"] in ("ROOT", "KEY") for c in checks)
    page0 = client.get("/v2/libraries?language=PYTHON&page=0&size=7").json
    assert len(page0["content"]) == 7 and page0["pageSize"] == 7
    names = []
    page = 0
    while True:
        content = client.get(f"/v2/libraries?language=PYTHON&page={page}&size=50").json["content"]
        names += [item["name"] for item in content]
        if len(content) < 50:
            break
        page += 1
    assert len(names) == len(set(names)) == page0["totalElements"]
    sklearn = client.get("/v2/libraries?name=sklearn&page=0&size=10").json["content"]
    assert [item["name"] for item in sklearn] == ["scikit-learn"] and sklearn[0]["aliases"] == ["sklearn"]
    assert client.get("/v2/libraries?name=json").json["content"][0]["standard"] is True
    quickstarters = client.get("/v2/competitions/demo/quickstarters").json
    assert len(quickstarters) == 1 and not quickstarters[0]["notebook"] and "files" not in quickstarters[0]
    files = {f["name"]: f["url"] for f in client.get(f"/v2/competitions/demo/quickstarters/{quickstarters[0]['name']}").json["files"]}
    assert set(files) == {"main.py", "requirements.txt"}
    path, query = local(files["main.py"])
    main = client.get(path, query_string=query).data.decode()
    assert "def train(" in main and "def infer(" in main


def test_errors_are_json(client):
    for answer in (client.get("/nope"), client.delete("/v2/competitions"), client.post("/v2/project-tokens/upgrade", data="{")):
        assert answer.status_code >= 400
        assert set(answer.json) >= {"code", "message"}
    assert client.post("/v2/project-tokens/upgrade", json={}).json["code"] == "VALIDATION_FAILED"


def test_admin_is_loopback_only(client):
    remote = client.get("/_admin/stats", environ_base={**LOOPBACK, "REMOTE_ADDR": "192.168.1.5"})
    assert remote.status_code == 403 and remote.json["code"] == "AUTHORIZATION_DENIED"
    assert client.get("/_admin/stats", environ_base={**LOOPBACK, "REMOTE_ADDR": "::1"}).status_code == 200


def test_admin_needs_the_secret(client):
    missing = client.get("/_admin/stats", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert missing.status_code == 401 and missing.json["code"] == "ADMIN_SECRET_REQUIRED"
    wrong = client.post("/_admin/settings", json={"dailyLimit": 99}, environ_base={**LOOPBACK, "HTTP_X_CRUNCH_HUB_SECRET": SECRET + "x"})
    assert wrong.status_code == 403 and wrong.json["code"] == "INVALID_ADMIN_SECRET"
    assert client.get("/_admin/stats", environ_base=LOOPBACK).status_code == 200


# -- tokens ---------------------------------------------------------------------------------------


def test_clone_token_expires(app, client):
    token = app.store.mint_clone_token("demo", "late", "alice", ttl=-1)
    answer = client.post("/v2/project-tokens/upgrade", json={"cloneToken": token})
    assert answer.status_code == 401 and answer.json["code"] == "INVALID_PROJECT_TOKEN"


def test_push_token_is_checked(client, project):
    name, user, token = project
    path = f"/v3/competitions/demo/projects/{user}/{name}/submissions"
    assert client.get(path, query_string={"pushToken": token}).json == []
    for bad in ({}, {"pushToken": "push-wrong"}):
        answer = client.get(path, query_string=bad)
        assert answer.status_code == 401 and answer.json["code"] == "INVALID_PROJECT_TOKEN"
    # another project's token
    other = client.get(f"/v3/competitions/demo/projects/{user}/p-other/submissions", query_string={"pushToken": token})
    assert other.json["code"] == "PROJECT_NOT_FOUND"
    # the header form of the public client
    assert client.get(path, headers={"Authorization": f"Project-Token {token}"}).status_code == 200
    # user by id works too
    upgrade_user = client.get(f"/v3/competitions/demo/projects/{user}/{name}", query_string={"pushToken": token}).json
    assert client.get(f"/v3/competitions/1/projects/{upgrade_user['userId']}/{name}/submissions", query_string={"pushToken": token}).status_code == 200


def test_token_of_another_project_is_refused(app, client, project):
    name, user, token = project
    app.store.mint_clone_token("demo", "neighbour", user)
    answer = client.get(f"/v3/competitions/demo/projects/{user}/neighbour/submissions", query_string={"pushToken": token})
    assert answer.status_code == 403 and answer.json["code"] == "INVALID_PROJECT_TOKEN"


def test_api_key(app, client, project):
    name, user, _ = project
    key = app.store.mint_api_key(user)
    ok = client.get(f"/v3/competitions/demo/projects/@me/{name}", headers={"Authorization": f"API-Key {key}"})
    assert ok.status_code == 200 and ok.json["name"] == name
    bad = client.get(f"/v3/competitions/demo/projects/@me/{name}", headers={"Authorization": "API-Key nope"})
    assert bad.json["code"] == "AUTHORIZATION_DENIED"


# -- uploads --------------------------------------------------------------------------------------


def test_chunk_layout():
    assert chunk_layout(0, 10) == [(1, 0, 0)]
    assert chunk_layout(25, 10) == [(1, 0, 10), (2, 10, 10), (3, 20, 5)]
    assert chunk_layout(20, 10) == [(1, 0, 10), (2, 10, 10)]


def test_upload_flow(app, client, project):
    _, _, token = project
    data = bytes(range(256)) * 3 + b"tail"
    auth = {"pushToken": token}
    created = client.post("/v1/uploads", json={"name": "m.bin", "size": len(data), "encrypted": False, "preferredChunkSize": 300}, query_string=auth).json
    assert created["status"] == "PENDING" and created["chunked"] is True and created["provider"] == "AWS_S3"
    chunks = created["chunks"]
    assert [(c["number"], c["offset"], c["size"], c["last"]) for c in chunks] == [(1, 0, 300, False), (2, 300, 300, False), (3, 600, 172, True)]
    upload_id = created["id"]
    target = client.get(f"/v1/uploads/{upload_id}/chunks/1/request", query_string=auth).json
    assert target["method"] == "PUT" and target["headers"] == {} and token not in target["url"]
    path, query = local(target["url"])
    assert client.put(path, query_string=query, data=data[:10]).json["code"] == "VALIDATION_FAILED"
    assert client.put(path, data=data[:300]).json["code"] == "INVALID_SIGNATURE"
    put = client.put(path, query_string=query, data=data[:300])
    assert put.headers["ETag"] == f"\"{hashlib.md5(data[:300]).hexdigest()}\""
    wrong = client.post(f"/v1/uploads/{upload_id}/chunks/1/confirm", json={"hash": "0" * 32}, query_string=auth)
    assert wrong.json["code"] == "VALIDATION_FAILED"
    put = client.put(path, query_string=query, data=data[:300])  # re-sent until confirmed
    confirmed = client.post(f"/v1/uploads/{upload_id}/chunks/1/confirm", json={"hash": put.headers["ETag"].strip('"')}, query_string=auth).json
    assert confirmed["number"] == 1 and confirmed["size"] == 300 and confirmed["completed"] is True and confirmed["completedAt"]
    upload_now = client.get(f"/v1/uploads/{upload_id}", query_string=auth).json
    assert upload_now["status"] == "IN_PROGRESS" and upload_now["chunks"][0]["completed"] is True
    early = client.post(f"/v1/uploads/{upload_id}/complete", json={}, query_string=auth)
    assert early.status_code == 409 and early.json["missingChunks"] == [2, 3]
    unsent = client.post(f"/v1/uploads/{upload_id}/chunks/2/confirm", json={"hash": "x"}, query_string=auth)
    assert unsent.status_code == 409
    for chunk in chunks[1:]:
        path, query = local(client.get(f"/v1/uploads/{upload_id}/chunks/{chunk['number']}/request", query_string=auth).json["url"])
        put = client.put(path, query_string=query, data=data[chunk["offset"] : chunk["offset"] + chunk["size"]])
        client.post(f"/v1/uploads/{upload_id}/chunks/{chunk['number']}/confirm", json={"hash": put.headers["ETag"]}, query_string=auth)
    done = client.post(f"/v1/uploads/{upload_id}/complete", json={}, query_string=auth).json
    assert done["status"] == "SUCCEEDED"
    assert (app.store.upload_dir(upload_id) / "blob").read_bytes() == data
    assert sorted(p.name for p in app.store.upload_dir(upload_id).iterdir()) == ["blob"]
    listed = client.post("/v1/uploads/~/list", json={"uploadIds": [upload_id, "nope"]}, query_string=auth).json
    assert listed["uploads"][upload_id]["status"] == "SUCCEEDED" and listed["uploads"]["nope"] is None
    assert client.post("/v1/uploads", json={"name": "x", "size": 1}).json["code"] == "INVALID_PROJECT_TOKEN"


def test_empty_upload(client, project):
    upload_id = upload(client, project[2], b"")
    assert upload_id


def test_abort_delete_expire(app, client, project):
    _, _, token = project
    auth = {"pushToken": token}
    before = app.store.pending_uploads()
    first = client.post("/v1/uploads", json={"name": "a", "size": 5}, query_string=auth).json["id"]
    assert app.store.pending_uploads() == before + 1
    path, query = local(client.get(f"/v1/uploads/{first}/chunks/1/request", query_string=auth).json["url"])
    aborted = client.post(f"/v1/uploads/{first}/abort", json={}, query_string=auth).json
    assert aborted["status"] == "FAILED"
    assert client.put(path, query_string=query, data=b"12345").status_code == 409
    assert client.post(f"/v1/uploads/{first}/complete", json={}, query_string=auth).status_code == 409
    assert client.delete(f"/v1/uploads/{first}", query_string=auth).status_code == 200
    assert client.get(f"/v1/uploads/{first}", query_string=auth).status_code == 404
    second = client.post("/v1/uploads", json={"name": "b", "size": 5}, query_string=auth).json["id"]
    assert app.store.expire_uploads(second) == 1
    assert client.get(f"/v1/uploads/{second}", query_string=auth).json["status"] == "EXPIRED"
    assert client.get(f"/v1/uploads/{second}/chunks/1/request", query_string=auth).status_code == 409
    assert app.store.pending_uploads() == before


# -- submissions and clone ------------------------------------------------------------------------


def test_submissions_and_clone(client, project):
    name, user, token = project
    auth = {"pushToken": token}
    never = client.get(f"/v4/competitions/demo/projects/{user}/{name}/clone", query_string=auth)
    assert never.status_code == 404 and never.json["code"] == "NEVER_SUBMITTED"
    code = {"main.py": upload(client, token, b"print(1)\n"), "sub/util.py": upload(client, token, b"x = 1\n")}
    model = {"model.npy": upload(client, token, b"\x93NUMPY", chunk_size=2)}
    first = submit(client, project, code=code, model=model, message="first")
    assert first.status_code == 200, first.json
    assert first.json["number"] == 1 and first.json["message"] == "first" and first.json["createdAt"]
    second = submit(client, project, message="second")
    assert second.json["number"] == 2
    listed = client.get(f"/v3/competitions/demo/projects/{user}/{name}/submissions", query_string=auth).json
    assert [s["number"] for s in listed] == [1, 2]  # oldest first: crunch-cli 13 reverses the list
    assert listed[0]["model"]["totalSize"] == len(b"\x93NUMPY") and listed[1]["model"] is None
    files = client.get(f"/v4/competitions/demo/projects/{user}/{name}/clone", query_string={**auth, "submissionNumber": 1, "includeModel": "true"}).json
    assert set(files) == {"main.py", "sub/util.py", "resources/model.npy"}
    path, query = local(files["resources/model.npy"])
    assert client.get(path, query_string=query).data == b"\x93NUMPY"
    no_model = client.get(f"/v4/competitions/demo/projects/{user}/{name}/clone", query_string={**auth, "submissionNumber": 1, "includeModel": "false"}).json
    assert set(no_model) == {"main.py", "sub/util.py"}
    latest = client.get(f"/v4/competitions/demo/projects/{user}/{name}/clone", query_string=auth).json
    assert set(latest) == {"main.py"}
    missing = client.get(f"/v4/competitions/demo/projects/{user}/{name}/clone", query_string={**auth, "submissionNumber": 9})
    assert missing.json["code"] == "SUBMISSION_NOT_FOUND"


def test_submission_refusals(app, client, project):
    _, _, token = project
    too_long = submit(client, project, message="x" * 1001)
    assert too_long.status_code == 400 and too_long.json["code"] == "VALIDATION_FAILED"
    assert submit(client, project, message="x" * 1000).status_code == 200
    pending = client.post("/v1/uploads", json={"name": "main.py", "size": 3}, query_string={"pushToken": token}).json["id"]
    not_done = submit(client, project, code={"main.py": pending})
    assert not_done.json["code"] == "VALIDATION_FAILED" and "PENDING" in not_done.json["message"]
    escape = submit(client, project, code={"../main.py": upload(client, token, b"1")})
    assert escape.json["code"] == "VALIDATION_FAILED"
    app.code_limit = 3
    assert submit(client, project, code={"main.py": upload(client, token, b"1234")}).json["code"] == "SUBMISSION_TOO_BIG"
    app.code_limit, app.model_limit = 100, 3
    big_model = submit(client, project, model={"m.bin": upload(client, token, b"1234")})
    assert big_model.json["code"] == "MODEL_TOO_BIG"
    app.model_limit = 100
    assert submit(client, project).status_code == 200
    assert submit(client, project).status_code == 200
    limited = submit(client, project)
    assert limited.status_code == 429 and limited.json["code"] == "DAILY_SUBMISSION_LIMIT_EXCEEDED"


# -- faults ---------------------------------------------------------------------------------------


def test_faults_match_prefix_and_count(app, client):
    app.faults.configure({"failNext": 1, "pathPrefix": "/v1/competitions"})
    assert client.get("/v2/competitions").status_code == 200
    failed = client.get("/v1/competitions/demo")
    assert failed.status_code == 503 and failed.json["code"] == "SERVICE_UNAVAILABLE"
    assert client.get("/v1/competitions/demo").status_code == 200
    stats = client.get("/_admin/stats", environ_base=LOOPBACK).json
    assert stats["failedRequests"] >= 1 and stats["requestsByPath"]["/v1/competitions/demo"] >= 2
    assert "pendingUploads" in stats
    described = client.post("/_admin/faults", json={"delay": 0.01, "dropAfter": 5, "method": "put"}, environ_base=LOOPBACK).json
    expected = {"failNext": 0, "dropAfter": 5, "dropTimes": 1, "delay": 0.01, "pathPrefix": "/v1/competitions", "method": "PUT"}
    assert {k: described[k] for k in expected} == expected
    assert client.post("/_admin/faults", json={"reset": True}, environ_base=LOOPBACK).json["dropAfter"] is None


def test_drop_after_without_socket_cuts_the_body(app, client):
    entry = client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release").json["dataFiles"]["y_test"]
    app.faults.configure({"dropAfter": 100, "pathPrefix": "/data/"})
    path, query = local(entry["url"])
    with pytest.raises(ConnectionError):
        client.get(path, query_string=query).get_data()
    assert client.get(path, query_string=query).data.__len__() == entry["size"]


def test_truncate_sends_a_complete_answer_of_a_cut_body(app, client):
    whole = client.get("/v1/competitions/demo").data
    app.faults.configure({"truncateAt": 10, "pathPrefix": "/v1/competitions/"})
    cut = client.get("/v1/competitions/demo")
    assert cut.status_code == 200 and cut.headers["Content-Length"] == "10" and cut.data == whole[:10]
    assert client.get("/v1/competitions/demo").data == whole  # once (truncateTimes 1)
    assert client.get("/_admin/stats", environ_base=LOOPBACK).json["truncatedBodies"] == 1


def test_corrupt_flips_one_byte_of_an_answer(app, client):
    entry = client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release").json["dataFiles"]["y_train"]
    path, query = local(entry["url"])
    whole = client.get(path, query_string=query).data
    app.faults.configure({"corrupt": 1, "pathPrefix": "/data/"})
    damaged = client.get(path, query_string=query).data
    assert len(damaged) == len(whole) and damaged != whole
    differ = [i for i in range(len(whole)) if whole[i] != damaged[i]]
    assert differ == [len(whole) // 2] and whole[differ[0]] ^ damaged[differ[0]] == 0x80
    assert hashlib.sha256(damaged).hexdigest() != entry["sha256"]
    assert client.get(path, query_string=query).data == whole
    app.faults.configure({"corrupt": 1, "corruptAt": 0, "pathPrefix": None})
    assert client.get("/v1/competitions/demo").data[:1] == bytes([ord("{") ^ 0x80])


def test_corrupt_on_a_chunk_put_gives_an_etag_the_confirm_refuses(app, client, project):
    name, user, token = project
    created = client.post("/v1/uploads", json={"name": "f", "size": 4, "encrypted": False}, query_string={"pushToken": token}).json
    target = client.get(f"/v1/uploads/{created['id']}/chunks/1/request", query_string={"pushToken": token}).json
    path, query = local(target["url"])
    app.faults.configure({"corrupt": 1, "pathPrefix": "/_upload/"})
    put = client.put(path, query_string=query, data=b"abcd")
    assert put.status_code == 200 and put.headers["ETag"].strip('"') != hashlib.md5(b"abcd").hexdigest()
    confirm = f"/v1/uploads/{created['id']}/chunks/1/confirm"
    refused = client.post(confirm, json={"hash": put.headers["ETag"]}, query_string={"pushToken": token})
    assert refused.status_code == 400 and refused.json["fieldErrors"][0]["field"] == "hash"
    again = client.put(path, query_string=query, data=b"abcd")
    assert client.post(confirm, json={"hash": again.headers["ETag"]}, query_string={"pushToken": token}).status_code == 200


def test_delay_times_and_stall(app, client):
    app.faults.configure({"delay": 0.2, "delayTimes": 1, "pathPrefix": "/v1/competitions/"})
    started = time.monotonic()
    client.get("/v1/competitions/demo")
    middle = time.monotonic()
    client.get("/v1/competitions/demo")
    assert middle - started >= 0.2 and time.monotonic() - middle < 0.2
    app.faults.configure({"stallAfter": 5, "stall": 0.2})
    started = time.monotonic()
    assert client.get("/v1/competitions/demo").json["name"] == "demo"
    assert time.monotonic() - started >= 0.2
    assert client.get("/_admin/stats", environ_base=LOOPBACK).json["stalls"] == 1
    assert app.faults.describe()["stallAfter"] is None


def test_range_variants(client):
    entry = client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release").json["dataFiles"]["y_train"]
    path, query = local(entry["url"])
    whole = client.get(path, query_string=query).data
    suffix = client.get(path, query_string=query, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.data == whole[-10:]
    middle = client.get(path, query_string=query, headers={"Range": "bytes=5-9"})
    assert middle.data == whole[5:10] and middle.headers["Content-Range"] == f"bytes 5-9/{len(whole)}"
    etag = middle.headers["ETag"]
    same = client.get(path, query_string=query, headers={"Range": "bytes=5-9", "If-Range": etag})
    assert same.status_code == 206
    changed = client.get(path, query_string=query, headers={"Range": "bytes=5-9", "If-Range": '"other"'})
    assert changed.status_code == 200 and changed.data == whole
    head = client.head(path, query_string=query)
    assert head.headers["Content-Length"] == str(len(whole)) and head.headers["Accept-Ranges"] == "bytes"


# -- hosting a folder -----------------------------------------------------------------------------


def test_host_folder(app, client, tmp_path):
    for key, frame in timeseries_frames(rows=4, train_moons=6, test_moons=3, features=3, seed=1).items():
        frame.to_parquet(tmp_path / f"{key}.parquet", index=False)
    summary = host_folder(app.store, "hosted", tmp_path, timeseries=True, embargo=1, targets=["target:prediction"])
    assert summary["testKeys"] == [6, 7, 8] and summary["features"] == 3
    release = client.get("/v2/competitions/hosted/rounds/@current/phases/submission/data-release").json
    assert release["embargo"] == 1 and release["numberOfFeatures"] == 3
    assert [s["key"] for s in release["splits"] if s["group"] == "TEST" and s["reduced"]] == [6, 7, 8]
    path, query = local(release["dataFiles"]["X_test"]["url"])
    assert client.get(path, query_string=query).data == (tmp_path / "X_test.parquet").read_bytes()
    # hosting again replaces
    host_folder(app.store, "hosted", tmp_path, timeseries=False)
    again = client.get("/v2/competitions/hosted/rounds/@current/phases/submission/data-release").json
    assert again["columnNames"]["moon"] is None
    with pytest.raises(ValueError):
        host_folder(app.store, "broken", tmp_path / "nowhere")
    with pytest.raises(ValueError):
        host_folder(app.store, "broken", tmp_path, targets=["nocolon"])
    assert json.loads(json.dumps(summary)) == summary


def test_forbidden_library(app, client, project):
    _, _, token = project
    requirements = upload(client, token, b"numpy==2.0\nscikit-learn>=1\n# comment\nsklearn\nevil-package==1.0\n-r other.txt\n")
    code = {"main.py": upload(client, token, b"x"), "requirements.txt": requirements}
    assert submit(client, project, code=code).status_code == 200  # off by default
    app.check_libraries = True
    try:
        refused = submit(client, project, code=code)
        assert refused.status_code == 400 and refused.json["code"] == "FORBIDDEN_LIBRARY"
        assert refused.json["packages"] == ["evil-package"]
    finally:
        app.check_libraries = False


def test_links_expire(app, client):
    app.url_ttl = -5
    try:
        entry = client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release").json["dataFiles"]["y_test"]
    finally:
        app.url_ttl = 3600
    path, query = local(entry["url"])
    expired = client.get(path, query_string=query)
    assert expired.status_code == 403 and expired.json["code"] == "EXPIRED_SIGNATURE"


def test_background_hub(tmp_path):
    import requests

    from crunch.hub.server import BackgroundHub

    with BackgroundHub(str(tmp_path / "root")) as hub:
        assert requests.get(hub.url + "v2/competitions", timeout=10).json()["content"][0]["name"] == "demo"
    with BackgroundHub(str(tmp_path / "root"), shapes="classic") as hub:
        assert requests.get(hub.url + "v2/competitions", timeout=10).json()[0]["name"] == "demo"


def test_closed_phase_and_unpublished_data(client, project):
    path = "/v2/competitions/demo/rounds/@current/phases/@current/data-release"
    try:
        client.post("/_admin/competitions/demo", json={"phaseClosed": True}, environ_base=LOOPBACK)
        assert client.get(path).json["code"] == "CURRENT_PHASE_NOT_FOUND"
        assert client.get(path.replace("phases/@current", "phases/submission")).json["code"] == "CURRENT_PHASE_NOT_FOUND"
        assert client.get("/v2/competitions/demo/rounds/1/phases/submission/data-release").status_code == 200
        refused = submit(client, project)
        assert refused.status_code == 403 and refused.json["code"] == "RESTRICTED_PHASE_ACTION"
        answer = client.post("/_admin/competitions/demo", json={"phaseClosed": False, "dataUnpublished": True}, environ_base=LOOPBACK)
        assert answer.json == {"phaseClosed": False, "dataUnpublished": True, "hideTrainFrequency": False, "hideForceFirstTrain": False}
        assert client.get(path).json["code"] == "CRUNCH_NOT_FOUND"
    finally:
        client.post("/_admin/competitions/demo", json={"phaseClosed": False, "dataUnpublished": False}, environ_base=LOOPBACK)
    assert client.get(path).status_code == 200


def test_a_setup_token_of_a_given_text(client):
    placeholder = "aaaabbbbccccddddeeeeffff"  # what the platform's quickstarter notebooks hold
    answer = client.post("/_admin/tokens", json={"competition": "demo", "project": "hello", "token": placeholder}, environ_base=LOOPBACK)
    assert answer.status_code == 200 and answer.json == {"token": placeholder}
    upgraded = client.post("/v2/project-tokens/upgrade", json={"cloneToken": placeholder})
    assert upgraded.status_code == 200 and upgraded.json["project"]["name"] == "hello"
    assert client.post("/v2/project-tokens/upgrade", json={"cloneToken": placeholder}).status_code != 200  # single use
    for bad in ("short", "with space inside", 12345678):
        refused = client.post("/_admin/tokens", json={"project": "hello", "token": bad}, environ_base=LOOPBACK)
        assert refused.status_code == 400 and refused.json["code"] == "VALIDATION_FAILED"


# -- answer shapes: current (default) and classic -----------------------------------------------------

ZONELESS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
ZONED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def shapes(client, value):
    answer = client.post("/_admin/settings", json={"shapes": value}, environ_base=LOOPBACK)
    assert answer.status_code == 200 and answer.json["shapes"] == value, answer.json
    return answer.json


def test_shapes_setting(app, client):
    assert client.post("/_admin/settings", json={}, environ_base=LOOPBACK).json["shapes"] == "current"
    assert shapes(client, "classic")["dailyLimit"] == 3  # listed with the other settings
    assert app.shapes == "classic"
    for bad in ("CURRENT", "new", None, 1):
        refused = client.post("/_admin/settings", json={"shapes": bad, "dailyLimit": 9}, environ_base=LOOPBACK)
        assert refused.status_code == 400 and refused.json["code"] == "VALIDATION_FAILED", refused.json
        assert refused.json["fieldErrors"][0]["field"] == "shapes"
    assert app.shapes == "classic" and app.daily_limit == 3  # a refused call changes nothing
    assert shapes(client, "current")["shapes"] == "current"
    assert client.post("/_admin/settings", json={"shapes": "classic"}).status_code == 403  # admin: loopback only


def test_shapes_of_a_new_app(tmp_path, monkeypatch):
    from crunch.hub.app import make_app

    monkeypatch.delenv("CRUNCH_HUB_SHAPES", raising=False)
    first = make_app(str(tmp_path / "a"))
    assert first.shapes == "current"
    first.store.close()
    monkeypatch.setenv("CRUNCH_HUB_SHAPES", "classic")
    second = make_app(str(tmp_path / "a"))
    assert second.shapes == "classic"
    second.store.close()
    third = make_app(str(tmp_path / "a"), shapes="current")  # said outright: the variable is not read
    assert third.shapes == "current"
    third.store.close()
    monkeypatch.setenv("CRUNCH_HUB_SHAPES", "modern")
    with pytest.raises(ValueError, match="current or classic"):
        make_app(str(tmp_path / "b"))
    with pytest.raises(ValueError):
        HubApp(Store(tmp_path / "c"), shapes="zoned")


def test_column_names_in_both_shapes(app, client):
    path = "/v2/competitions/{}/rounds/@current/phases/submission/data-release"
    tabular = client.get(path.format("demo-tabular")).json["columnNames"]
    assert isinstance(tabular["targets"], list) and tabular["moon"] is None and tabular["side"] is None
    names = [t["name"] for t in tabular["targets"]]
    ids = {t["name"]: t["id"] for t in client.get("/v1/competitions/demo-tabular/targets").json}
    assert names and [t["id"] for t in tabular["targets"]] == [ids[n] for n in names]
    for target in tabular["targets"]:
        assert set(target) == {"id", "name", "side", "input", "output", "filePath"}
        assert isinstance(target["id"], int) and target["side"] is None and target["filePath"] is None
    single = tabular["targets"][0] if len(tabular["targets"]) == 1 else None
    assert (tabular["input"], tabular["output"]) == ((single["input"], single["output"]) if single else (None, None))
    unstructured = client.get(path.format("demo-unstructured")).json["columnNames"]
    assert unstructured["targets"] == [] and unstructured["input"] is None
    current = client.get(path.format("demo")).json
    shapes(client, "classic")
    classic = client.get(path.format("demo")).json
    assert classic["columnNames"] == {"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}}
    assert classic["columnNames"]["targets"]["target"]["output"] == current["columnNames"]["targets"][0]["output"]
    assert set(classic["dataFiles"]) == set(current["dataFiles"]) and classic["splits"] == current["splits"]
    assert {k: v["sha256"] for k, v in classic["dataFiles"].items()} == {k: v["sha256"] for k, v in current["dataFiles"].items()}
    assert isinstance(client.get(path.format("demo-unstructured")).json["columnNames"]["targets"], dict)


def test_chunk_confirm_in_both_shapes(client, project):
    _, _, token = project
    auth = {"pushToken": token}
    data = b"x" * 250

    def confirm(number):
        created_path = client.get(f"/v1/uploads/{upload_id}/chunks/{number}/request", query_string=auth).json["url"]
        path, query = local(created_path)
        chunk = next(c for c in chunks if c["number"] == number)
        put = client.put(path, query_string=query, data=data[chunk["offset"] : chunk["offset"] + chunk["size"]])
        return client.post(f"/v1/uploads/{upload_id}/chunks/{number}/confirm", json={"hash": put.headers["ETag"]}, query_string=auth)

    created = client.post("/v1/uploads", json={"name": "c.bin", "size": len(data), "preferredChunkSize": 100}, query_string=auth).json
    upload_id, chunks = created["id"], created["chunks"]
    answer = confirm(2)
    assert answer.status_code == 200
    assert answer.json == {"number": 2, "offset": 100, "size": 100, "last": False, "completed": True, "completedAt": answer.json["completedAt"]}
    assert ZONELESS.fullmatch(answer.json["completedAt"])
    shapes(client, "classic")
    answer = confirm(3)
    assert answer.json["id"] == upload_id and answer.json["status"] == "IN_PROGRESS" and answer.json["size"] == len(data)
    assert answer.json["number"] == 3 and answer.json["last"] is True and answer.json["completed"] is True
    assert [c["completed"] for c in answer.json["chunks"]] == [False, True, True]
    assert ZONED.fullmatch(answer.json["completedAt"])


def test_listings_in_both_shapes(app, client, project):
    name, user, token = project
    every = [r["name"] for r in app.store.competitions()]  # the demo ones, and those other tests hosted
    pages, page = [], 0
    while True:  # crunch-cli 13.0.1's paging: stop on a page shorter than the size asked for
        answer = client.get("/v2/competitions", query_string={"page": page, "size": 2}).json
        assert answer["pageNumber"] == page and answer["pageSize"] == 2
        assert answer["totalElements"] == len(every) and answer["totalPages"] == -(-len(every) // 2)
        pages.append([c["name"] for c in answer["content"]])
        if len(answer["content"]) != answer["pageSize"]:
            break
        page += 1
    assert [n for p in pages for n in p] == every and all(len(p) == 2 for p in pages[:-1]) and len(pages[-1]) < 2
    whole = client.get("/v2/competitions").json
    assert whole["pageSize"] == 100 and [c["name"] for c in whole["content"]] == every
    filtered = client.get("/v2/competitions", query_string={"format": "UNSTRUCTURED"}).json
    assert [c["name"] for c in filtered["content"]] == ["demo-unstructured"] and filtered["totalElements"] == 1
    submitted = submit(client, project).json
    paged_calls = [
        "/v2/libraries",
        "/v1/competitions/demo/runtime-definitions",
        f"/v3/competitions/demo/projects/{user}/{name}/submissions/{submitted['number']}/runtime-options",
    ]
    for setting in ("current", "classic"):
        shapes(client, setting)
        for path in paged_calls:  # paged in both shapes, as crunch-cli 13.0.1 asks
            answer = client.get(path, query_string={"page": 0, "size": 1, "pushToken": token}).json
            assert answer["pageSize"] == 1 and len(answer["content"]) == 1, (setting, path, answer)
    listing = client.get("/v2/competitions").json
    assert [c["name"] for c in listing] == every
    paged = client.get("/v2/competitions", query_string={"page": 1, "size": 2}).json
    assert paged["pageNumber"] == 1 and [c["name"] for c in paged["content"]] == every[2:4]
    quickstarters = client.get("/v2/competitions/demo/quickstarters").json
    assert {f["name"] for f in quickstarters[0]["files"]} == {"main.py", "requirements.txt"}


def test_quickstarter_files_in_the_listing_only_when_classic(client):
    listed = client.get("/v2/competitions/demo/quickstarters").json
    assert [set(q) for q in listed] == [{"id", "name", "title", "authors", "language", "notebook"}]
    one = client.get(f"/v2/competitions/demo/quickstarters/{listed[0]['name']}").json
    assert {f["name"] for f in one["files"]} == {"main.py", "requirements.txt"}
    shapes(client, "classic")
    classic = client.get("/v2/competitions/demo/quickstarters").json
    assert [f["name"] for f in classic[0]["files"]] == [f["name"] for f in one["files"]]
    assert client.get(f"/v2/competitions/demo/quickstarters/{listed[0]['name']}").json["files"]


def _times(value, path=""):
    """Every (path, text) of a JSON value whose key names a time."""
    keys = ("createdAt", "expiresAt", "completedAt", "startedAt", "endedAt", "updatedAt", "resetsAt", "start", "end")
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield f"{path}.{key}", item
            else:
                yield from _times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _times(item, f"{path}[{index}]")


def _time_answers(app, client, project):
    """The answers holding times: competition, round, phase, project, upload, submission, model,
    quota, run, run logs, selection."""
    import datetime as dt

    from crunch.hub.runs import add_log

    name, user, token = project
    auth = {"pushToken": token}
    base = f"/v3/competitions/demo/projects/{user}/{name}"
    model = upload(client, token, b"weights")
    submitted = submit(client, project, model={"model.bin": model}).json
    assert submitted.get("model"), submitted
    now = app.store.clock()
    with app.store.tx() as db:
        run_id = db.execute(
            "INSERT INTO runs (project_id, submission_id, status, success, runtime, train_frequency, force_first_train,"
            " created_at, started_at, ended_at) VALUES ((SELECT project_id FROM submissions WHERE id = ?), ?, 'COMPLETED', 1,"
            " 'cpu', 0, 1, ?, ?, ?)",
            (submitted["id"], submitted["id"], now - 30, now - 20, now - 10),
        ).lastrowid
    add_log(app.store, run_id, "USER_CODE", "hello", False, now - 15)
    created = client.post("/v1/uploads", json={"name": "t", "size": 3}, query_string=auth).json
    answers = {
        "competition": client.get("/v2/competitions/demo").json,
        "round": client.get("/v1/competitions/demo/rounds/@current").json,
        "phase": client.get("/v2/competitions/demo/rounds/@current/phases/submission").json,
        "project": client.get(base, query_string=auth).json,
        "upload": created,
        "submissions": client.get(base + "/submissions", query_string=auth).json,
        "models": client.get(base + "/models", query_string=auth).json,
        "quota": client.get(base + "/quota/submit", query_string=auth).json,
        "run": client.get(f"{base}/runs/{run_id}", query_string=auth).json,
        "logs": client.get(f"{base}/runs/{run_id}/logs", query_string=auth).json,
        "selection": client.get(f"/v4/competitions/demo/projects/{user}/{name}/selection", query_string=auth).json,
    }
    found = dict(_times(answers))
    expected = {
        ".competition.start", ".round.start", ".round.end", ".phase.start", ".phase.end", ".project.createdAt",
        ".upload.createdAt", ".upload.expiresAt", ".submissions[0].createdAt", ".models[0].createdAt", ".quota.resetsAt",
        ".run.createdAt", ".run.startedAt", ".run.endedAt", ".logs[0].createdAt", ".selection.createdAt", ".selection.updatedAt",
    }
    assert expected <= set(found), expected - set(found)
    utc_now = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    return found, utc_now


def test_times_without_zone_by_default(app, client, project):
    import datetime as dt

    found, utc_now = _time_answers(app, client, project)
    for where, text in found.items():
        assert ZONELESS.fullmatch(text), (where, text)
    naive_now = utc_now.replace(tzinfo=None)  # crunch-cli 13.0.1 subtracts the times from a naive UTC now
    assert abs((naive_now - dt.datetime.fromisoformat(found[".upload.createdAt"])).total_seconds()) < 60
    assert dt.timedelta(hours=23) < dt.datetime.fromisoformat(found[".upload.expiresAt"]) - naive_now < dt.timedelta(hours=25)
    assert found[".round.start"] == "2024-01-01T00:00:00.000000" and found[".round.end"] == "2099-12-31T23:59:59.000000"
    assert dt.datetime.fromisoformat(found[".run.endedAt"]) - dt.datetime.fromisoformat(found[".run.startedAt"]) == dt.timedelta(seconds=10)


def test_times_with_zone_when_classic(app, client, project):
    import datetime as dt

    shapes(client, "classic")
    found, utc_now = _time_answers(app, client, project)
    for where, text in found.items():
        assert ZONED.fullmatch(text), (where, text)
    created = dt.datetime.fromisoformat(found[".upload.createdAt"].replace("Z", "+00:00"))
    assert abs((utc_now - created).total_seconds()) < 60
    assert found[".round.start"] == "2024-01-01T00:00:00Z"


# -- the error fault ----------------------------------------------------------------------------------


def faults(client, **values):
    return client.post("/_admin/faults", json=values, environ_base=LOOPBACK)


def test_error_fault_answers_the_next_matching_requests(app, client, project):
    name, user, token = project
    set_ = faults(client, errorCode="ENCRYPTED_SUBMISSION", errorTimes=2, pathPrefix="/v4/", method="post",
                  errorExtra={"fieldErrors": [{"field": "codeFiles", "message": "encrypted"}], "retryable": False})
    assert set_.status_code == 200
    assert {k: set_.json[k] for k in ("errorCode", "errorStatus", "errorMessage", "errorTimes")} == {
        "errorCode": "ENCRYPTED_SUBMISSION", "errorStatus": 400, "errorMessage": None, "errorTimes": 2,
    }
    before = len(app.store.submissions(app.store.find_project(app.store.competition("demo")["id"], user, name)["id"]))
    assert client.get("/v2/competitions/demo").status_code == 200  # another path
    assert client.get(f"/v4/competitions/demo/projects/{user}/{name}/submissions", query_string={"pushToken": token}).status_code == 200  # GET
    assert client.post("/_admin/settings", json={}, environ_base=LOOPBACK).status_code == 200  # admin calls: never
    for _ in range(2):
        answer = submit(client, project)
        assert answer.status_code == 400
        assert answer.json == {
            "code": "ENCRYPTED_SUBMISSION", "message": "fault injection: ENCRYPTED_SUBMISSION",
            "fieldErrors": [{"field": "codeFiles", "message": "encrypted"}], "retryable": False,
        }
    project_id = app.store.find_project(app.store.competition("demo")["id"], user, name)["id"]
    assert len(app.store.submissions(project_id)) == before  # not handled: nothing stored
    assert submit(client, project).status_code == 200  # the third goes through
    described = faults(client).json
    assert described["errorCode"] is None and described["errorTimes"] == 0
    assert client.get("/_admin/stats", environ_base=LOOPBACK).json["errorAnswers"] == 2


def test_error_fault_status_message_and_reset(client):
    faults(client, errorCode="RATE_LIMITED", errorStatus=429, errorMessage="slow down", pathPrefix="/v1/competitions/demo")
    answer = client.get("/v1/competitions/demo")
    assert answer.status_code == 429 and answer.json == {"code": "RATE_LIMITED", "message": "slow down"}
    assert client.get("/v1/competitions/demo").status_code == 200  # one time by default
    faults(client, errorCode="GONE", errorTimes=5, pathPrefix=None)
    assert client.get("/v2/competitions").json["code"] == "GONE"
    faults(client, errorCode=None)  # cleared
    assert client.get("/v2/competitions").status_code == 200
    faults(client, errorCode="GONE", errorTimes=5)
    faults(client, reset=True)
    assert client.get("/v2/competitions").status_code == 200
    faults(client, errorCode="AGAIN", failNext=1)  # a 503 first, then the error
    assert client.get("/v2/competitions").status_code == 503
    assert client.get("/v2/competitions").json["code"] == "AGAIN"


def test_error_fault_refuses_bad_values(client):
    bad = [
        {"errorCode": 5},
        {"errorCode": "X", "errorStatus": 200},
        {"errorCode": "X", "errorStatus": 600},
        {"errorCode": "X", "errorStatus": "400"},
        {"errorCode": "X", "errorMessage": 3},
        {"errorCode": "X", "errorExtra": [1]},
        {"errorCode": "X", "errorExtra": {"code": "Y"}},
        {"errorCode": "X", "errorTimes": 0},
        {"errorCode": "X", "errorTimes": True},
    ]
    for body in bad:
        answer = faults(client, **body, failNext=4)
        assert answer.status_code == 400 and answer.json["code"] == "VALIDATION_FAILED", (body, answer.json)
    described = faults(client).json
    assert described["errorCode"] is None and described["failNext"] == 0  # a refused call changes nothing
    assert client.get("/v2/competitions").status_code == 200
