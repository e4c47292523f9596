"""Interoperability with the public crunch-cli 13.0.1 (an oracle installed beside, never
imported): it runs in our workspaces and we run in its; it runs each command after the push
against the local hub and shows the same data as ours."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import run_crunch
from peers import crunch_cli_13

pytestmark = [pytest.mark.e2e]

HUB_VARIABLES = ("API_BASE_URL", "WEB_BASE_URL", "CRUNCH_API_BASE_URL", "CRUNCH_WEB_BASE_URL", "CRUNCH_ENVIRONMENT", "PYTHONPATH", "PYTHONHOME")


def peer(hub, *args, cwd, url: bool = True, env: dict = None):
    environ = {k: v for k, v in os.environ.items() if k not in HUB_VARIABLES}
    environ.update(env or {})
    prefix = ["--api-base-url", hub.url] if url else []
    return subprocess.run(
        [str(crunch_cli_13()), *prefix, *map(str, args)], cwd=cwd, env=environ, capture_output=True, text=True, timeout=180
    )


def ours(hub, *args, cwd, **env):
    """``crunch`` with no hub option: the workspace, the variables or .env must find the hub."""
    return run_crunch(*args, cwd=cwd, env=hub.env(**env))


def our_workspace(hub, folder: Path, project: str) -> Path:
    done = hub.run("setup", "demo", project, "ws", "--token", hub.token("demo", project, "paula"), "--no-data", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def peer_workspace(hub, folder: Path, project: str) -> Path:
    done = peer(hub, "setup", "demo", project, "--token", hub.token("demo", project, "paula"), "--no-data", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder / f"demo-{project}"


def test_token_file_is_written_as_the_peer_writes_it_and_read_in_both_forms(shared_hub, tmp_path):
    ws = our_workspace(shared_hub, tmp_path, "tokenform")
    token_file = ws / ".crunchdao" / "token"
    assert not token_file.read_bytes().endswith(b"\n")
    status = peer(shared_hub, "status", cwd=ws)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "name: tokenform" in status.stdout
    token_file.write_text(token_file.read_text() + "\n")  # as an older crunch wrote it
    assert json.loads(shared_hub.run("status", "--json", cwd=ws).stdout)["project"]["name"] == "tokenform"


def test_after_the_peer_rewrites_project_json_we_still_talk_to_our_hub(shared_hub, tmp_path):
    ws = our_workspace(shared_hub, tmp_path, "rewritten")
    rewritten = peer(shared_hub, "download", "--size-variant", "small", cwd=ws)
    assert rewritten.returncode == 0, rewritten.stdout + rewritten.stderr
    project = json.loads((ws / ".crunchdao" / "project.json").read_text())
    assert "apiBaseUrl" not in project and project["sizeVariant"] == "SMALL"  # the peer dropped our keys
    status = ours(shared_hub, "status", "--json", cwd=ws)
    assert status.returncode == 0, status.output
    assert json.loads(status.stdout)["project"]["name"] == "rewritten"
    assert shared_hub.url in ours(shared_hub, "status", cwd=ws).stdout


def test_we_run_in_a_peer_workspace_with_its_variables_or_its_env_file(shared_hub, tmp_path):
    ws = peer_workspace(shared_hub, tmp_path, "peerws")
    assert not (ws / ".crunchdao" / "token").read_bytes().endswith(b"\n")
    with_variable = ours(shared_hub, "submission", "list", "--json", cwd=ws, CRUNCH_API_BASE_URL=shared_hub.url)
    assert with_variable.returncode == 0, with_variable.output
    assert json.loads(with_variable.stdout) == []
    (ws / ".env").write_text(f"# the peer reads this file too\nCRUNCH_API_BASE_URL={shared_hub.url}\nCRUNCH_WEB_BASE_URL='http://web.example/'\n")
    with_file = ours(shared_hub, "status", cwd=ws)
    assert with_file.returncode == 0, with_file.output
    assert shared_hub.url in with_file.stdout
    # precedence: a variable beats .env, and our API_BASE_URL beats crunch-cli 13's CRUNCH_API_BASE_URL
    (ws / ".env").write_text("CRUNCH_API_BASE_URL=http://127.0.0.1:9/\n")
    assert ours(shared_hub, "status", cwd=ws, CRUNCH_API_BASE_URL=shared_hub.url).returncode == 0
    both = ours(shared_hub, "status", cwd=ws, CRUNCH_API_BASE_URL="http://127.0.0.1:9/", API_BASE_URL=shared_hub.url)
    assert both.returncode == 0, both.output
    unreachable = ours(shared_hub, "status", cwd=ws)
    assert unreachable.returncode == 1 and "127.0.0.1:9" in unreachable.stderr


def test_a_3x_workspace_without_project_name_is_the_default_project(shared_hub, tmp_path):
    ws = our_workspace(shared_hub, tmp_path, "default")
    project = json.loads((ws / ".crunchdao" / "project.json").read_text())
    (ws / ".crunchdao" / "project.json").write_text(json.dumps({"competitionName": "demo", "userId": project["userId"]}))
    status = shared_hub.run("status", "--json", cwd=ws)
    assert status.returncode == 0, status.output
    assert json.loads(status.stdout)["project"]["name"] == "default"
    oracle = peer(shared_hub, "status", cwd=ws)
    assert oracle.returncode == 0 and "name: default" in oracle.stdout


def _table_rows(text: str, header: str) -> list:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:1] == [header])
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


@pytest.fixture(scope="module")
def scored(shared_hub, tmp_path_factory):
    """Our workspace with two submissions (#2 with a model) and a score on the leaderboard."""
    ws = our_workspace(shared_hub, tmp_path_factory.mktemp("scored"), "scored")
    for message in ("first", "second"):
        if message == "second":
            (ws / "resources" / "model.bin").write_bytes(b"m" * 2048)
            (ws / "helper.py").write_text("HELP = 1\n")
        done = shared_hub.run("push", "-m", message, "--no-pip-freeze", cwd=ws)
        assert done.returncode == 0, done.output
    assert shared_hub.score("demo", "scored", "paula", 0.125)["rank"] >= 1
    return ws


def test_peer_status_quota_leaderboard_show_our_data(shared_hub, scored):
    status = peer(shared_hub, "status", cwd=scored)
    assert status.returncode == 0, status.stdout + status.stderr
    mine = json.loads(shared_hub.run("status", "--json", cwd=scored).stdout)
    assert f"name: {mine['project']['name']}" in status.stdout and f"  name: {mine['competition']['name']}" in status.stdout

    quota = peer(shared_hub, "quota", cwd=scored)
    assert quota.returncode == 0, quota.stdout + quota.stderr
    per_day = json.loads(shared_hub.run("quota", "--json", cwd=scored).stdout)["submit"]["submissionsPerDay"]
    assert f"submissions per day: {per_day['current']}/{per_day['maximum']}" in quota.stdout and per_day["current"] == 2

    board = peer(shared_hub, "leaderboard", cwd=scored)
    assert board.returncode == 0, board.stdout + board.stderr
    standing = json.loads(shared_hub.run("leaderboard", "--json", cwd=scored).stdout)[0]
    assert f"rank: #{standing['rank']}" in board.stdout
    assert f"metric: 'Score': {standing['metrics']['score']['current']}" in board.stdout


def test_peer_submission_commands_show_our_data(shared_hub, scored):
    listed = peer(shared_hub, "submission", "list", cwd=scored)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = _table_rows(listed.stdout, "#")
    mine = json.loads(shared_hub.run("submission", "list", "--json", cwd=scored).stdout)
    assert [int(row.split()[0]) for row in rows] == [s["number"] for s in mine] == [2, 1]
    assert "(none)" in rows[1] and "(none)" not in rows[0]  # #2 has a model, #1 none
    assert "'second'" in rows[0] and "'first'" in rows[1]

    shown = peer(shared_hub, "submission", "show", "2", cwd=scored)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    detail = json.loads(shared_hub.run("submission", "show", "2", "--json", cwd=scored).stdout)
    for name in [f["name"] for f in detail["files"]] + [f["name"] for f in detail["modelFiles"]]:
        assert re.search(rf"^    {re.escape(name)} \(", shown.stdout, flags=re.M), name
    assert "directory: resources" in shown.stdout

    (scored / "helper.py").write_text("changed\n")
    checkout = peer(shared_hub, "submission", "checkout", "2", "helper.py", cwd=scored)
    assert checkout.returncode == 0, checkout.stdout + checkout.stderr
    assert (scored / "helper.py").read_text() == "HELP = 1\n"


def test_peer_quickstarter_and_whitelist_commands_show_our_data(shared_hub, scored, tmp_path):
    listed = peer(shared_hub, "quickstarter", "list", cwd=scored)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    mine = json.loads(shared_hub.run("quickstarter", "list", "--json", cwd=scored).stdout)
    assert [row.split()[0] for row in _table_rows(listed.stdout, "name")] == [q["name"] for q in mine]
    shown = peer(shared_hub, "quickstarter", "show", "default", cwd=scored)
    assert shown.returncode == 0 and all(f"    - {name}" in shown.stdout for name in json.loads(shared_hub.run("quickstarter", "show", mine[0]["name"], "--json", cwd=scored).stdout)["files"])
    (scored / "main.py").write_text("# replaced by the quickstarter\n")
    applied = peer(shared_hub, "quickstarter", "apply", "default", "--overwrite", cwd=scored)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "def train" in (scored / "main.py").read_text()

    search = peer(shared_hub, "whitelist", "search", "learn", cwd=tmp_path)
    assert search.returncode == 0, search.stdout + search.stderr
    found = json.loads(shared_hub.run("whitelist", "search", "learn", "--json", cwd=tmp_path).stdout)
    assert sorted(row.split()[0] for row in _table_rows(search.stdout, "name")) == sorted(lib["name"] for lib in found)
    assert "scikit-learn" in [lib["name"] for lib in found]

    (tmp_path / "requirements.txt").write_text("pandas\nnot-a-known-lib\n")
    validate = peer(shared_hub, "whitelist", "validate", cwd=tmp_path)
    assert validate.returncode == 1
    assert "requirement: pandas: ok" in validate.stdout and "requirement: not-a-known-lib: not whitelisted" in validate.stdout
    assert shared_hub.run("whitelist", "validate", cwd=tmp_path).returncode == 1


def test_peer_list_filters_and_init(shared_hub, tmp_path):
    listed = peer(shared_hub, "list", "--format", "timeseries", cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    mine = json.loads(shared_hub.run("list", "--format", "timeseries", "--json", cwd=tmp_path).stdout)
    assert re.findall(r"^- (\S+) ", listed.stdout, flags=re.M) == [c["name"] for c in mine] == ["demo"]
    init = peer(shared_hub, "init", "demo", "peerinit", "--token", shared_hub.token("demo", "peerinit", "paula"), "--no-data", cwd=tmp_path)
    assert init.returncode == 0, init.stdout + init.stderr
    ws = tmp_path / "demo-peerinit"
    assert json.loads(shared_hub.run("status", "--json", cwd=ws).stdout)["project"]["name"] == "peerinit"


def test_peer_reads_the_daily_quota_and_is_refused_past_it(hub, tmp_path):
    hub.settings(dailyLimit=1)
    ws = our_workspace(hub, tmp_path, "daily")
    assert hub.run("push", "-m", "only one today", "--no-pip-freeze", cwd=ws).returncode == 0
    quota = peer(hub, "quota", cwd=ws)
    assert quota.returncode == 0, quota.stdout + quota.stderr
    assert "submissions per day: 1/1 (0 remaining for today)" in quota.stdout
    refused = peer(hub, "push", "-m", "a second one", cwd=ws)
    assert refused.returncode != 0
    listed = json.loads(hub.run("submission", "list", "--json", cwd=ws).stdout)
    assert [s["number"] for s in listed] == [1]


def test_we_test_and_push_in_a_peer_workspace(shared_hub, tmp_path):
    ws = peer_workspace(shared_hub, tmp_path, "peerpush")
    env = {"CRUNCH_API_BASE_URL": shared_hub.url}
    assert ours(shared_hub, "quickstarter", "apply", "default", cwd=ws, **env).returncode == 0
    assert ours(shared_hub, "download", cwd=ws, **env).returncode == 0
    tested = ours(shared_hub, "test", "--no-determinism-check", cwd=ws, **env)
    assert tested.returncode == 0, tested.output
    pushed = ours(shared_hub, "push", "-m", "ours in the peer's workspace", "--no-pip-freeze", cwd=ws, **env)
    assert pushed.returncode == 0, pushed.output
    oracle = peer(shared_hub, "submission", "list", cwd=ws)
    assert oracle.returncode == 0, oracle.stdout + oracle.stderr
    assert "ours in the peer" in oracle.stdout
