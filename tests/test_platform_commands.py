"""The commands after the push (status, quota, leaderboard, submission, quickstarter,
whitelist, init, list filters, setup -f, test --no-checks), the installed ``crunch`` against
a local hub."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def workspace(hub, folder: Path, project: str, *extra: str) -> Path:
    done = hub.run("setup", "demo", project, "ws", "--token", hub.token("demo", project, "alice"), "--size", "small", *extra, cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def push(hub, ws: Path, message: str, model: bytes = b"") -> None:
    if model:
        (ws / "resources" / "model.bin").write_bytes(model)
    done = hub.run("push", "-m", message, "--no-pip-freeze", cwd=ws)
    assert done.returncode == 0, done.output


@pytest.fixture(scope="module")
def pushed(shared_hub, tmp_path_factory):
    """A workspace whose project has two submissions: #1 without a model, #2 with one."""
    ws = workspace(shared_hub, tmp_path_factory.mktemp("pushed"), "pushed", "--no-data")
    push(shared_hub, ws, "first, no model")
    (ws / "helper.py").write_text("VALUE = 2\n")
    push(shared_hub, ws, "second", model=b"w" * 3000)
    return ws


def test_submission_list_table_and_json(shared_hub, pushed):
    table = shared_hub.run("submission", "list", cwd=pushed)
    assert table.returncode == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["#", "message", "size", "model", "created"]
    assert lines[2].split()[0] == "2" and "2.9 KiB" in lines[2]  # newest first, model size readable
    assert lines[3].split()[0] == "1" and lines[3].split()[-3] == "-"  # no model
    created = lines[0].index("created")  # the last column starts at the same place on every line
    assert lines[1][created - 2 : created + 1] == "  -" and all(line[created - 2 : created] == "  " and line[created] == "2" for line in lines[2:])
    as_json = json.loads(shared_hub.run("submission", "list", "--json", cwd=pushed).stdout)
    assert [s["number"] for s in as_json] == [2, 1]
    assert as_json[0]["model"]["totalSize"] == 3000 and as_json[1]["model"] is None
    limited = json.loads(shared_hub.run("submission", "list", "--limit", "1", "--json", cwd=pushed).stdout)
    assert [s["number"] for s in limited] == [2]


def test_submission_show(shared_hub, pushed):
    shown = shared_hub.run("submission", "show", "@last", cwd=pushed)
    assert shown.returncode == 0, shown.output
    assert "submission #2 of demo/pushed" in shown.stdout
    assert "helper.py" in shown.stdout and "main.py  (main file)" in shown.stdout
    assert "resources/model.bin" in shown.stdout
    data = json.loads(shared_hub.run("submission", "show", "1", "--json", cwd=pushed).stdout)
    assert data["number"] == 1 and data["message"] == "first, no model"
    assert "helper.py" not in [f["name"] for f in data["files"]] and data["modelFiles"] == []


def test_submission_checkout_one_file_and_everything(shared_hub, pushed, tmp_path):
    ws = pushed
    (ws / "helper.py").write_text("VALUE = 'changed locally'\n")
    (ws / "mine.txt").write_text("not in any submission")
    one = shared_hub.run("submission", "checkout", "2", "helper.py", cwd=ws)
    assert one.returncode == 0, one.output
    assert (ws / "helper.py").read_text() == "VALUE = 2\n"
    assert "1 file(s) checked out from submission #2" in one.stdout
    (ws / "resources" / "model.bin").unlink()
    everything = shared_hub.run("submission", "checkout", "@last", cwd=ws / "resources")
    assert everything.returncode == 0, everything.output
    assert (ws / "resources" / "model.bin").read_bytes() == b"w" * 3000
    assert (ws / "mine.txt").read_text() == "not in any submission"  # left alone
    assert not list((ws / ".crunchdao").glob("checkout-*"))


def test_quota_reports_the_daily_count_and_push_refuses_past_it(hub, tmp_path):
    hub.settings(dailyLimit=2)
    ws = workspace(hub, tmp_path, "quota", "--no-data")
    push(hub, ws, "one")
    shown = hub.run("quota", cwd=ws)
    assert shown.returncode == 0, shown.output
    assert "1/2 (1 left today)" in shown.stdout
    push(hub, ws, "two")
    data = json.loads(hub.run("quota", "--json", cwd=ws).stdout)
    assert data["submit"]["submissionsPerDay"] == {"current": 2, "maximum": 2, "bypass": False}
    assert "none left today" in hub.run("quota", cwd=ws).stdout
    refused = hub.run("push", "-m", "three", "--no-pip-freeze", cwd=ws)
    assert refused.returncode == 1 and "daily submission limit" in refused.stderr


def test_status(shared_hub, pushed):
    shown = shared_hub.run("status", cwd=pushed)
    assert shown.returncode == 0, shown.output
    assert "demo" in shown.stdout and "pushed" in shown.stdout and shared_hub.url in shown.stdout
    data = json.loads(shared_hub.run("status", "--json", cwd=pushed).stdout)
    assert data["competition"]["name"] == "demo" and data["project"]["name"] == "pushed"


def test_leaderboard_after_scores(shared_hub, tmp_path):
    ws = workspace(shared_hub, tmp_path, "ranked", "--no-data")
    empty = shared_hub.run("leaderboard", cwd=ws)
    assert empty.returncode == 0 and "not on the leaderboard yet" in empty.stdout
    shared_hub.call("POST", "/_admin/tokens", {"competition": "demo", "project": "rival", "user": "bob"})
    shared_hub.call("POST", "/_admin/scores", {"competition": "demo", "project": "rival", "user": "bob", "score": 0.5})
    shared_hub.call("POST", "/_admin/scores", {"competition": "demo", "project": "ranked", "user": "alice", "score": 0.25})
    shared_hub.call("POST", "/_admin/scores", {"competition": "demo", "project": "ranked", "user": "alice", "score": 0.75})
    shown = shared_hub.run("leaderboard", cwd=ws)
    assert shown.returncode == 0, shown.output
    rows = [line.split() for line in shown.stdout.splitlines()[2:]]
    assert rows[0][-3:] == ["rank", "#1", "#2"]  # first now, second before its new score
    assert rows[1][-2:] == ["0.7500", "0.2500"]
    data = json.loads(shared_hub.run("leaderboard", "--json", cwd=ws).stdout)
    assert data[0]["rank"] == 1 and data[0]["metrics"]["score"] == {"current": 0.75, "previous": 0.25}


def test_quickstarter_list_show_apply(shared_hub, tmp_path):
    ws = workspace(shared_hub, tmp_path, "quick", "--no-data")
    listed = json.loads(shared_hub.run("quickstarter", "list", "--json", cwd=ws).stdout)
    # the platform lists quickstarters without their files: the listing says nothing of them
    assert [q["name"] for q in listed] == ["default"] and listed[0]["files"] is None
    shown = json.loads(shared_hub.run("quickstarter", "show", "default", "--json", cwd=ws).stdout)
    assert shown["files"] == ["main.py", "requirements.txt"]
    shown = shared_hub.run("quickstarter", "show", "default", cwd=ws)
    assert shown.returncode == 0 and "main.py" in shown.stdout
    (ws / "main.py").write_text("# mine\n")
    refused = shared_hub.run("quickstarter", "apply", "default", cwd=ws)
    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    assert (ws / "main.py").read_text() == "# mine\n"
    applied = shared_hub.run("quickstarter", "apply", "default", "--overwrite", cwd=ws)
    assert applied.returncode == 0, applied.output
    assert "def train" in (ws / "main.py").read_text()


def test_whitelist_search_with_wildcards(shared_hub, tmp_path):
    found = json.loads(shared_hub.run("whitelist", "search", "learn", "--json", cwd=tmp_path).stdout)
    assert "scikit-learn" in [lib["name"] for lib in found]
    star = json.loads(shared_hub.run("whitelist", "search", "sci*learn", "--json", cwd=tmp_path).stdout)
    assert [lib["name"] for lib in star] == ["scikit-learn"]
    alias = json.loads(shared_hub.run("whitelist", "search", "sklearn", "--json", cwd=tmp_path).stdout)
    assert [lib["name"] for lib in alias] == ["scikit-learn"]
    limited = json.loads(shared_hub.run("whitelist", "search", "a", "--limit", "2", "--json", cwd=tmp_path).stdout)
    assert len(limited) == 2
    none = shared_hub.run("whitelist", "search", "zz-no-such-lib", cwd=tmp_path)
    assert none.returncode == 1 and "no whitelisted library matches" in none.stderr


def test_whitelist_validate(shared_hub, tmp_path):
    (tmp_path / "requirements.txt").write_text("pandas>=2\nscikit-learn\n# a comment\n")
    ok = shared_hub.run("whitelist", "validate", cwd=tmp_path)
    assert ok.returncode == 0, ok.output
    assert ok.stdout.split() == ["pandas", "ok", "scikit-learn", "ok"]
    (tmp_path / "other.txt").write_text("pandas\nnot-a-known-lib==1.0\n")
    bad = shared_hub.run("whitelist", "validate", "other.txt", cwd=tmp_path)
    assert bad.returncode == 1
    assert "not-a-known-lib  not whitelisted" in bad.stdout and "not-a-known-lib" in bad.stderr


def test_init_makes_an_empty_workspace(shared_hub, tmp_path):
    done = shared_hub.run("init", "demo", "empty", "--token", shared_hub.token("demo", "empty", "alice"), "--no-data", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "demo-empty"
    assert (ws / ".crunchdao" / "project.json").is_file() and (ws / "resources").is_dir()
    assert not (ws / "main.py").exists() and not (ws / "requirements.txt").exists()


def test_list_filters(shared_hub, tmp_path):
    timeseries = json.loads(shared_hub.run("list", "--format", "timeseries", "--json", cwd=tmp_path).stdout)
    assert [c["name"] for c in timeseries] == ["demo"]
    none = shared_hub.run("list", "--team-based", "true", cwd=tmp_path)
    assert none.returncode == 0 and "no competition matches" in none.stdout
    every = shared_hub.run("list", cwd=tmp_path)
    assert every.stdout.splitlines()[0].split() == ["name", "format", "status", "ends", "title"]


def test_setup_short_force(shared_hub, tmp_path):
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "notes.txt").write_text("mine")
    done = shared_hub.run("setup", "demo", "forced", "ws", "--token", shared_hub.token("demo", "forced", "alice"), "-f", "--no-data", cwd=tmp_path)
    assert done.returncode == 0, done.output
    assert (tmp_path / "ws" / "notes.txt").read_text() == "mine"


def test_test_no_checks(shared_hub, tmp_path):
    ws = workspace(shared_hub, tmp_path, "nochecks", "--submission", "scratch")
    main = (ws / "main.py").read_text()
    (ws / "main.py").write_text(main.replace("    return prediction", "    return prediction.head(3)  # rows missing: the checks fail"))
    assert "prediction.head(3)" in (ws / "main.py").read_text()
    checked = shared_hub.run("test", "--no-determinism-check", cwd=ws)
    assert checked.returncode == 1 and "prediction is not valid" in checked.stderr
    unchecked = shared_hub.run("test", "--no-determinism-check", "--no-checks", cwd=ws)
    assert unchecked.returncode == 0, unchecked.output
    assert "prediction not checked (--no-checks)" in unchecked.stdout
