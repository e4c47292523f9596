"""The local hub as a server others can reach: the admin secret, the Host and Origin a request
may carry, uploads that belong to the project that made them, malformed requests answered 400
with a code (never a 500), and a SIGTERM during a run's environment build."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import selectors
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import urlsplit

import pytest
import requests
from conftest import CRUNCH, Hub, crunch_env
from werkzeug.test import Client

from crunch.hub.app import RULES, HubApp
from crunch.hub.faults import Faults
from crunch.hub.guard import load_or_create_secret
from crunch.hub.seed import seed_if_needed
from crunch.hub.store import Store

SECRET = "hub-secret-of-the-security-tests"
ADMIN = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_CRUNCH_HUB_SECRET": SECRET}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> HubApp:
    store = Store(tmp_path_factory.mktemp("hub-security"))
    seed_if_needed(store)
    instance = HubApp(store, Faults(), daily_limit=100, admin_secret=SECRET)
    instance.guard.bind("127.0.0.1", 8000)
    return instance


@pytest.fixture
def client(app: HubApp) -> Client:
    app.files_base_url = None
    return Client(app)


HOST = "127.0.0.1:8000"


def get(client: Client, path: str, **headers: str) -> Any:
    return client.get(path, headers={"Host": HOST, **headers})


def push_token(app: HubApp, client: Client, project: str) -> str:
    token = app.store.mint_clone_token("demo", project, "alice" if project.endswith("a") else "bob")
    answer = client.post("/v2/project-tokens/upgrade", json={"cloneToken": token}, headers={"Host": HOST})
    assert answer.status_code == 200, answer.json
    return answer.json["plain"]


# -- the admin secret ---------------------------------------------------------------------------


def test_the_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    value, created = load_or_create_secret(tmp_path)
    assert created and len(value) > 30
    path = tmp_path / "admin-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(tmp_path) == (value, False)
    os.chmod(path, 0o644)  # loosened by hand: put back
    assert load_or_create_secret(tmp_path) == (value, False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["admin-secret"]


def test_admin_calls_need_the_secret(client: Client) -> None:
    for path, method in (("/_admin/stats", "GET"), ("/_admin/tokens", "POST"), ("/_admin/settings", "POST"), ("/_admin/faults", "POST")):
        missing = client.open(path, method=method, json={}, headers={"Host": HOST}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert missing.status_code == 401 and missing.json["code"] == "ADMIN_SECRET_REQUIRED", (path, missing.json)
        wrong = client.open(path, method=method, json={}, headers={"Host": HOST, "X-Crunch-Hub-Secret": "guess"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert wrong.status_code == 403 and wrong.json["code"] == "INVALID_ADMIN_SECRET"
    assert client.get("/_admin/stats", headers={"Host": HOST}, environ_base=ADMIN).status_code == 200


# -- Host and Origin ----------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST:8000"])
def test_own_names_are_accepted(client: Client, host: str) -> None:
    assert client.get("/v1/competitions", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "127.0.0.1:8001", "localhost", "10.1.2.3:8000", "[::1", "a:b:c"])
def test_other_hosts_are_refused(client: Client, host: str) -> None:
    answer = client.get("/v1/competitions", headers={"Host": host})
    assert answer.status_code == 403 and answer.json["code"] == "HOST_NOT_ALLOWED", host
    admin = client.post("/_admin/tokens", json={"project": "rebound"}, headers={"Host": host}, environ_base=ADMIN)
    assert admin.status_code == 403 and admin.json["code"] == "HOST_NOT_ALLOWED"


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:3000", "file://", "https://evil.example:8000"])
def test_other_sites_are_refused(client: Client, origin: str) -> None:
    # a web page's POST of text/plain (no CORS preflight) carries its Origin: refused before anything is read
    answer = client.post(
        "/_admin/tokens", data='{"project": "csrf"}', headers={"Host": HOST, "Origin": origin, "Content-Type": "text/plain"}, environ_base=ADMIN
    )
    assert answer.status_code == 403 and answer.json["code"] == "CROSS_ORIGIN_REFUSED", origin
    assert get(client, "/v1/competitions", Origin=origin).status_code == 403


def test_same_origin_and_browser_marks(client: Client) -> None:
    assert get(client, "/v1/competitions", Origin="http://127.0.0.1:8000").status_code == 200
    assert get(client, "/v1/competitions", **{"Sec-Fetch-Site": "same-origin"}).status_code == 200
    cross = get(client, "/v1/competitions", **{"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403 and cross.json["code"] == "CROSS_ORIGIN_REFUSED"


def test_files_base_url_and_wildcard_binds(app: HubApp, client: Client) -> None:
    app.files_base_url = "http://127.0.0.2:9999/"
    assert client.get("/v1/competitions", headers={"Host": "127.0.0.2:9999"}).status_code == 200
    app.files_base_url = None
    assert client.get("/v1/competitions", headers={"Host": "127.0.0.2:9999"}).status_code == 403
    try:
        app.guard.bind("0.0.0.0", 8000)
        assert client.get("/v1/competitions", headers={"Host": "192.168.1.20:8000"}).status_code == 200
        assert client.get("/v1/competitions", headers={"Host": "evil.example:8000"}).status_code == 403
        app.guard.bind("0.0.0.0", 8000, ["hub.lan"])
        assert client.get("/v1/competitions", headers={"Host": "hub.lan:8000"}).status_code == 200
    finally:
        app.guard.bind("127.0.0.1", 8000)


# -- uploads belong to their project -----------------------------------------------------------


def test_another_projects_token_cannot_touch_an_upload(app: HubApp, client: Client) -> None:
    owner, other = push_token(app, client, "owner-a"), push_token(app, client, "other-b")
    data = b"print('mine')\n"
    created = client.post("/v1/uploads", json={"name": "main.py", "size": len(data)}, query_string={"pushToken": owner}, headers={"Host": HOST})
    assert created.status_code == 200
    upload_id = created.json["id"]
    base = f"/v1/uploads/{upload_id}"
    theirs = {"pushToken": other}
    calls = [
        ("GET", base, None),
        ("GET", f"{base}/chunks/1/request", None),
        ("POST", f"{base}/chunks/1/confirm", {"hash": "0" * 32}),
        ("POST", f"{base}/complete", {}),
        ("POST", f"{base}/abort", {}),
        ("DELETE", base, None),
    ]
    for method, path, body in calls:
        answer = client.open(path, method=method, json=body, query_string=theirs, headers={"Host": HOST})
        assert answer.status_code == 403 and answer.json["code"] == "AUTHORIZATION_DENIED", (method, path, answer.json)
    listed = client.post("/v1/uploads/~/list", json={"uploadIds": [upload_id]}, query_string=theirs, headers={"Host": HOST}).json
    assert listed == {"uploads": {upload_id: None}}
    deleted = client.post("/v1/uploads/~/delete", json={"uploadIds": [upload_id]}, query_string=theirs, headers={"Host": HOST}).json
    assert deleted == {"uploads": {upload_id: "NOT_FOUND"}}
    # the owner's upload is untouched: it goes on, and only its project may submit it
    mine = {"pushToken": owner}
    target = client.get(f"{base}/chunks/1/request", query_string=mine, headers={"Host": HOST}).json
    parts = urlsplit(target["url"])
    put = client.put(parts.path, query_string=parts.query, data=data, headers={"Host": HOST})
    assert put.status_code == 200
    assert client.post(f"{base}/chunks/1/confirm", json={"hash": put.headers["ETag"]}, query_string=mine, headers={"Host": HOST}).status_code == 200
    assert client.post(f"{base}/complete", json={}, query_string=mine, headers={"Host": HOST}).json["status"] == "SUCCEEDED"
    body = {"message": "stolen", "mainFilePath": "main.py", "modelDirectoryPath": "resources", "type": "CODE", "codeFiles": {"main.py": upload_id}}
    stolen = client.post("/v4/competitions/demo/projects/bob/other-b/submissions", json=body, query_string=theirs, headers={"Host": HOST})
    assert stolen.status_code == 403 and stolen.json["code"] == "AUTHORIZATION_DENIED", stolen.json
    body["message"] = "mine"
    own = client.post("/v4/competitions/demo/projects/alice/owner-a/submissions", json=body, query_string=mine, headers={"Host": HOST})
    assert own.status_code == 200, own.json


# -- malformed requests: 400 with a code ------------------------------------------------------


DEEP = "[" * 100_000 + "]" * 100_000
MALFORMED = [
    ("deep-json", "POST", "/v1/uploads", DEEP, "application/json"),
    ("deep-object", "POST", "/v1/uploads", '{"a":' * 40 + "1" + "}" * 40, "application/json"),
    ("not-json", "POST", "/v1/uploads", "name=x&size=1", "application/json"),
    ("form-body", "POST", "/v1/uploads", "name=x&size=1", "application/x-www-form-urlencoded"),
    ("text-plain", "POST", "/v2/project-tokens/upgrade", '{"cloneToken": "x"}', "text/plain"),
    ("multipart", "POST", "/v1/uploads", "--b\r\n\r\n--b--", "multipart/form-data; boundary=b"),
    ("array-body", "POST", "/v1/uploads", "[1, 2]", "application/json"),
    ("huge-integer", "POST", "/v1/uploads", '{"name": "x", "size": ' + "9" * 5000 + "}", "application/json"),
    ("absurd-size", "POST", "/v1/uploads", '{"name": "x", "size": 1e308}', "application/json"),
    ("absurd-size-int", "POST", "/v1/uploads", '{"name": "x", "size": 99999999999999999999999}', "application/json"),
    ("bad-chunk-size", "POST", "/v1/uploads", '{"name": "x", "size": 10, "preferredChunkSize": -5}', "application/json"),
    ("ids-not-a-list", "POST", "/v1/uploads/~/list", '{"uploadIds": {"a": 1}}', "application/json"),
    ("nul-in-name", "POST", "/v1/uploads", '{"name": "a\\u0000b", "size": 1}', "application/json"),
    ("invalid-utf8", "POST", "/v1/uploads", b'{"name": "\xff\xfe", "size": 1}', "application/json"),
    ("bad-page", "GET", "/v2/libraries?page=-1&size=abc", None, None),
    ("escape-in-path", "GET", "/v1/competitions/de%1Bmo", None, None),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_requests_are_400_with_a_code(app: HubApp, client: Client, case: tuple, capfd: pytest.CaptureFixture) -> None:
    _, method, path, body, kind = case
    token = push_token(app, client, "malformed-a")
    headers = {"Host": HOST, "Authorization": f"project-token {token}"}
    if kind:
        headers["Content-Type"] = kind
    answer = client.open(path, method=method, data=body, headers=headers)
    assert answer.status_code == 400, (answer.status_code, answer.data[:300])
    assert answer.json["code"] in ("VALIDATION_FAILED", "UNSUPPORTED_CONTENT_TYPE", "REQUEST_TOO_LARGE"), answer.json
    assert "Traceback" not in capfd.readouterr().err


def test_a_body_announced_absurdly_large_is_refused_unread(client: Client) -> None:
    answer = client.post(
        "/v2/project-tokens/upgrade", data=b"{}", headers={"Host": HOST, "Content-Type": "application/json"},
        environ_overrides={"CONTENT_LENGTH": str(10**12)},
    )
    assert answer.status_code == 400 and answer.json["code"] == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize("name", ["a\x1bb", "p\n1", "x" * 500, "r\u202etl", "a/b", 12])
def test_admin_names_are_checked(client: Client, name: Any) -> None:
    answer = client.post("/_admin/tokens", json={"competition": "demo", "project": name}, headers={"Host": HOST}, environ_base=ADMIN)
    assert answer.status_code == 400 and answer.json["code"] == "VALIDATION_FAILED", answer.json


def _fuzz_values() -> List[Any]:
    return [None, True, -1, 0, 2**70, 1.5, float("1e308"), "", "x", "\x00\x1b", "é" * 50, [], [None], {}, {"a": {"b": [1]}}, "9" * 40]


def test_fuzz_every_route_never_answers_500(app: HubApp, client: Client, capfd: pytest.CaptureFixture) -> None:
    """Random bodies, query values and path parts on every route: a 4xx with a code or a 2xx,
    never a 500, never a traceback."""
    rng = random.Random(22)
    token = push_token(app, client, "fuzz-a")
    fields = ["name", "size", "preferredChunkSize", "encrypted", "uploadIds", "hash", "message", "mainFilePath", "modelDirectoryPath",
              "codeFiles", "modelFiles", "type", "cloneToken", "competition", "project", "user", "token", "score", "target",
              "dailyLimit", "urlTtl", "shapes", "failNext", "dropAfter", "delay", "phaseClosed", "runtime", "trainFrequency"]
    parts = ["demo", "@me", "@current", "@last", "alice", "0", "-1", "999999999999999999999", "x" * 300, "%C3%A9", "1"]
    seen_500: List[str] = []
    for rule in RULES:
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if rule.endpoint in ("admin_faults",):  # faults would fail the next calls on purpose
                continue
            for _ in range(int(os.environ.get("HUB_FUZZ_ROUNDS", "12"))):
                path = re.sub(r"<(?:[a-z]+:)?([a-z]+)>", lambda m: rng.choice(parts), rule.rule)
                body: Dict[str, Any] = {rng.choice(fields): rng.choice(_fuzz_values()) for _ in range(rng.randint(0, 4))}
                query = {"pushToken": token} if rng.random() < 0.8 else {}
                query.update({rng.choice(["page", "size", "name", "sizeVariant", "submissionNumber", "includeModel", "expires"]): str(rng.choice(_fuzz_values()))})
                answer = client.open(path, method=method, json=body, query_string=query, headers={"Host": HOST}, environ_base=ADMIN)
                if answer.status_code >= 500:
                    seen_500.append(f"{method} {path} {body} -> {answer.status_code} {answer.data[:200]!r}")
                elif answer.status_code >= 400:
                    assert "code" in answer.json, (method, path, answer.json)
    app.faults.configure({"reset": True})
    assert seen_500 == []
    assert "Traceback" not in capfd.readouterr().err


# -- through the real `crunch hub serve` -------------------------------------------------------


def _lines(process: subprocess.Popen, count: int, timeout: float = 60) -> List[str]:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    text, deadline = b"", time.monotonic() + timeout
    while text.count(b"\n") < count and time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=0.2):
            text += os.read(process.stdout.fileno(), 4096)
    selector.close()
    return text.decode().splitlines()


@pytest.mark.e2e
def test_serve_shows_the_secret_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    shown = []
    for _ in range(2):
        process = subprocess.Popen([CRUNCH, "hub", "serve", "--port", "0", "--root", str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=crunch_env())
        try:
            shown.append(_lines(process, 2))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    secret = (root / "admin-secret").read_text().strip()
    assert stat.S_IMODE((root / "admin-secret").stat().st_mode) == 0o600
    first, second = shown
    assert first[0].startswith("listening on http://127.0.0.1:") and len(first) == 2
    assert first[1].startswith("admin secret") and first[1].endswith(secret)
    assert second[0].startswith("listening on") and secret not in "\n".join(second) and str(root / "admin-secret") in second[1]


@pytest.mark.e2e
def test_a_browser_and_a_rebinding_page_are_refused(hub: Hub) -> None:
    parts = urlsplit(hub.url)
    # a cross-site form or fetch(): text/plain, the page's Origin, no secret
    evil = requests.post(
        hub.url + "_admin/tokens", data='{"project": "csrf", "user": "mallory"}',
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"}, timeout=10,
    )
    assert evil.status_code == 403 and evil.json()["code"] == "CROSS_ORIGIN_REFUSED"
    # even with the secret, another site's page gets nothing
    evil = requests.get(hub.url + "_admin/stats", headers={"Origin": "http://evil.example", "X-Crunch-Hub-Secret": hub.admin_secret}, timeout=10)
    assert evil.status_code == 403
    # DNS rebinding: evil.example now resolves to 127.0.0.1, the browser sends its own name
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", "/v1/competitions", headers={"Host": f"evil.example:{parts.port}"})
        answer = connection.getresponse()
        assert answer.status == 403 and json.loads(answer.read())["code"] == "HOST_NOT_ALLOWED"
    finally:
        connection.close()
    # no secret, on the hub's own address
    missing = requests.get(hub.url + "_admin/stats", timeout=10)
    assert missing.status_code == 401 and missing.json()["code"] == "ADMIN_SECRET_REQUIRED"
    # the hub's own clients are not bothered
    assert requests.get(hub.url + "v1/competitions", timeout=10).status_code == 200
    assert requests.get(f"http://localhost:{parts.port}/v1/competitions", timeout=10).status_code == 200
    assert hub.stats()["requests"] >= 1  # the helper sends the secret


SLOW_BACKEND = '''
import os, time
def _slow(*args, **kwargs):
    with open(os.environ.get("SLOW_MARK", "{mark}"), "w") as fd:
        fd.write(str(os.getpid()))
    time.sleep(300)
    raise SystemExit(1)
get_requires_for_build_wheel = _slow
build_wheel = _slow
build_sdist = _slow
'''


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


@pytest.mark.e2e
def test_sigterm_during_an_environment_build_ends_it_and_removes_it(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """A requirement whose build takes minutes (a local package whose build backend sleeps, no
    network): SIGTERM to the hub ends the installer's processes and removes the partial
    environment within seconds."""
    package = tmp_path / "slowpkg"
    package.mkdir()
    mark = tmp_path / "backend.pid"
    (package / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "slow_backend"\nbackend-path = ["."]\n\n[project]\nname = "slowpkg"\nversion = "1.0"\n'
    )
    (package / "slow_backend.py").write_text(SLOW_BACKEND.replace("{mark}", str(mark)))
    environments = tmp_path / "environments"
    hub = Hub(tmp_path_factory.mktemp("hub") / "root", env={"CRUNCH_ENVIRONMENTS_CACHE": str(environments), "PIP_NO_INDEX": "1"})
    try:
        token = hub.token("demo", "slow", "alice")
        made = hub.run("setup", "demo", "slow", "ws", "--token", token, "--size", "small", cwd=tmp_path)
        assert made.returncode == 0, made.output
        ws = tmp_path / "ws"
        (ws / "requirements.txt").write_text(f"slowpkg @ {package.as_uri()}\n")
        pushed = hub.run("push", "-m", "slow build", "--no-pip-freeze", cwd=ws)
        assert pushed.returncode == 0, pushed.output
        created = hub.run("run", "create", cwd=ws)
        assert created.returncode == 0, created.output
        deadline = time.monotonic() + 120
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert mark.exists(), (hub.run("run", "logs", "1", cwd=ws).output, hub.log_path.read_text()[-2000:])
        time.sleep(0.3)
        backend = int(mark.read_text())
        assert _alive(backend)
        partial = [p.name for p in environments.iterdir() if ".partial-" in p.name]
        assert partial, list(environments.iterdir())  # the build is under way
        started = time.monotonic()
        hub.process.send_signal(signal.SIGTERM)
        hub.process.wait(timeout=30)
        took = time.monotonic() - started
        assert took < 8, f"the hub took {took:.1f} s to stop"
        end = time.monotonic() + 5
        while _alive(backend) and time.monotonic() < end:
            time.sleep(0.1)
        assert not _alive(backend), "the build backend outlived the hub"
        assert [p.name for p in environments.iterdir() if not p.name.endswith(".lock")] == []
    finally:
        hub.stop()
    hub.restart()
    try:
        shown = hub.run("run", "show", "1", cwd=tmp_path / "ws")
        assert "the hub stopped during the run" in shown.stdout, shown.output
    finally:
        hub.stop()
