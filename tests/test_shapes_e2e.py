"""The whole workflow of a participant, the installed ``crunch`` against a local hub answering
in each of its shapes: ``current`` (the platform's answers as its own client reads them: times
without a zone, ``columnNames.targets`` as a list, the chunk confirm answering the chunk,
listings as pages, quickstarters listed without files) and ``classic`` (the older shapes)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("shapes", ["current", "classic"])
def test_setup_download_test_push_and_the_commands_after(hub_factory, tmp_path: Path, shapes: str):
    hub = hub_factory("--shapes", shapes)
    assert hub.settings()["shapes"] == shapes

    done = hub.run("setup", "demo", "p1", "ws", "--token", hub.token("demo", "p1", "alice"), "--size", "small", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "ws"
    assert "def infer" in (ws / "main.py").read_text()  # the quickstarter's code, fetched whatever the listing holds
    assert sorted(p.name for p in (ws / "data").glob("*.parquet")) == [
        "X_test.parquet", "X_train.parquet", "example_prediction.parquet", "y_test.parquet", "y_train.parquet",
    ]

    tested = hub.run("test", "--no-determinism-check", cwd=ws)
    assert tested.returncode == 0, tested.output
    assert "prediction is valid" in tested.output  # the targets of columnNames, list or object, name the columns

    (ws / "resources" / "model.bin").write_bytes(b"m" * 5000)
    for message in ("first", "second"):  # the second push reads the hub's times of the first
        pushed = hub.run("push", "-m", message, "--no-pip-freeze", cwd=ws)
        assert pushed.returncode == 0, pushed.output
    assert "submission #2 successfully uploaded" in pushed.stdout

    listed = json.loads(hub.run("submission", "list", "--json", cwd=ws).stdout)
    assert [s["number"] for s in listed] == [2, 1]
    table = hub.run("submission", "list", cwd=ws)
    assert re.search(r"^2\s+second\s+.*\d{4}-\d\d-\d\d \d\d:\d\d$", table.stdout, re.M), table.stdout  # a time, local zone
    shown = hub.run("submission", "show", "@last", cwd=ws)
    assert shown.returncode == 0 and "resources/model.bin" in shown.stdout, shown.output

    created = hub.run("run", "create", cwd=ws)
    assert created.returncode == 0, created.output
    run_id = re.search(r"run (\d+) created", created.stdout).group(1)
    waited = hub.run("run", "wait", run_id, "--poll-interval", "0.3", cwd=ws, timeout=300)
    assert waited.returncode == 0, waited.output
    logs = hub.run("run", "logs", run_id, cwd=ws)
    assert re.search(r"^\d\d:\d\d:\d\d \[", logs.stdout, re.M), logs.output
    board = hub.run("leaderboard", cwd=ws)
    assert board.returncode == 0 and "#1" in board.stdout, board.output

    for command in (("status",), ("quota",), ("quickstarter", "list"), ("quickstarter", "show", "default"), ("list",), ("ping",)):
        answered = hub.run(*command, cwd=ws)
        assert answered.returncode == 0 and "error" not in answered.stderr, (command, answered.output)
    assert "main.py" in hub.run("quickstarter", "show", "default", cwd=ws).stdout


def _answer(status: int, value: object):
    body = json.dumps(value).encode()
    return lambda method, path, forward: (status, {"Content-Type": "application/json"}, body)


@pytest.mark.parametrize(
    "project, checks, said",
    [
        ("opt-404", _answer(404, {"code": "NOT_FOUND", "message": "no such route"}), "this hub does not offer the competition's checks (HTTP 404)"),
        ("opt-501", _answer(501, {"code": "NOT_IMPLEMENTED", "message": "no"}), "this hub does not offer the competition's checks (HTTP 501)"),
        ("opt-shape", _answer(200, {"checks": "elsewhere"}), "the hub's answer for the competition's checks could not be read"),
    ],
)
def test_calls_the_public_client_does_not_make_are_optional(shared_hub, tmp_path: Path, project: str, checks, said: str):
    """The competition's checks (download) and the submission listing before a push (push) are
    calls crunch-cli 13.0.1 does not make: a hub without them, or one answering them in a shape
    crunch cannot read, costs one line, not the command."""
    from http_proxy import CraftingProxy

    proxy = CraftingProxy(shared_hub.url)
    try:
        proxy.rules["/v1/competitions/demo/checks"] = checks
        proxy.rules["/v3/competitions/demo/projects/"] = lambda method, path, forward: (
            _answer(405, {"code": "METHOD_NOT_ALLOWED", "message": "no"})(method, path, forward)
            if method == "GET" and path.split("?")[0].endswith("/submissions")
            else forward()
        )
        token = shared_hub.token("demo", project, "alice")
        done = shared_hub.run("--api-base-url", proxy.url, "setup", "demo", project, "ws", "--token", token, "--size", "small", cwd=tmp_path)
        assert done.returncode == 0, done.output
        assert said in done.output and "`crunch test` runs its default checks" in done.output
        ws = tmp_path / "ws"
        tested = shared_hub.run("--api-base-url", proxy.url, "test", "--no-determinism-check", cwd=ws)
        assert tested.returncode == 0 and "prediction is valid" in tested.output, tested.output
        pushed = shared_hub.run("--api-base-url", proxy.url, "push", "-m", "without the listing", "--no-pip-freeze", cwd=ws)
        assert pushed.returncode == 0, pushed.output
        assert "this hub does not offer the project's submission listing (HTTP 405)" in pushed.output
        assert "submission #1 successfully uploaded" in pushed.stdout
    finally:
        proxy.close()


def test_setup_and_ping_without_the_listings_the_public_client_does_not_ask_for(shared_hub, tmp_path: Path):
    """crunch-cli 13.0.1's setup asks for no quickstarter and its ping for no competition listing:
    a hub without them costs `crunch` one line each."""
    from http_proxy import CraftingProxy

    proxy = CraftingProxy(shared_hub.url)
    try:
        proxy.rules["/v2/competitions/demo/quickstarters"] = _answer(404, {"code": "NOT_FOUND", "message": "no"})
        proxy.rules["/v2/competitions"] = lambda method, path, forward: (
            _answer(405, {"code": "METHOD_NOT_ALLOWED", "message": "no"})(method, path, forward) if path.split("?")[0] == "/v2/competitions" else forward()
        )
        token = shared_hub.token("demo", "no-listings", "alice")
        done = shared_hub.run("--api-base-url", proxy.url, "setup", "demo", "no-listings", "ws", "--token", token, "--no-data", cwd=tmp_path)
        assert done.returncode == 0, done.output
        assert "this hub does not offer the competition's quickstarters (HTTP 404): starting from a main.py to fill in" in done.output
        assert "def infer" in (tmp_path / "ws" / "main.py").read_text()
        pinged = shared_hub.run("--api-base-url", proxy.url, "ping", cwd=tmp_path)
        assert pinged.returncode == 0, pinged.output
        assert "this hub does not offer the competition listing (HTTP 405)" in pinged.output and "answered in" in pinged.stdout
    finally:
        proxy.close()
