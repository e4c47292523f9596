"""Reading what crunch-cli 13.0.1 writes and reads: the token file, a project.json it rewrote
or a 3.x one, its variables and its .env file; and the terminal formatting of the new commands."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crunch.core.display import human_duration, human_size, local_time, table
from crunch.project.dotenv import environment_with_dotenv, parse_dotenv
from crunch.project.settings import Settings
from crunch.project.workspace import ProjectInfo, Workspace

HUB = "http://127.0.0.1:8123/"


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace(tmp_path)
    ws.create_layout()
    ws.write_project(ProjectInfo("demo", "p1", 7, api_base_url=HUB, web_base_url=HUB, model_directory="models"))
    return ws


def test_token_written_without_newline_and_read_with_or_without(workspace):
    workspace.write_token("push-abc123\n")
    assert workspace.token_file.read_bytes() == b"push-abc123"
    assert workspace.read_token() == "push-abc123"
    workspace.token_file.write_text("push-abc123\r\n")
    assert workspace.read_token() == "push-abc123"


def test_keys_the_peer_drops_are_read_back_from_workspace_json(workspace):
    # what crunch-cli 13.0.1 writes when it rewrites project.json
    workspace.project_file.write_text(json.dumps({"competitionName": "demo", "projectName": "p1", "userId": 7, "sizeVariant": "SMALL"}))
    info = workspace.project()
    assert (info.api_base_url, info.web_base_url, info.model_directory, info.size_variant) == (HUB, HUB, "models", "SMALL")


def test_project_json_wins_over_workspace_json(workspace):
    data = json.loads(workspace.project_file.read_text())
    data["apiBaseUrl"] = "http://127.0.0.1:9999/"
    workspace.project_file.write_text(json.dumps(data))
    assert workspace.project().api_base_url == "http://127.0.0.1:9999/"


def test_a_3x_project_json_is_the_default_project(workspace):
    workspace.project_file.write_text(json.dumps({"competitionName": "demo", "userId": 7}))
    info = workspace.project()
    assert (info.competition_name, info.project_name, info.user_id) == ("demo", "default", 7)


def test_parse_dotenv():
    text = "\n".join([
        "# comment",
        "CRUNCH_API_BASE_URL=http://a/",
        "export CRUNCH_WEB_BASE_URL = 'http://b/'",
        'CRUNCH_DEBUG="1"  # inline',
        "PLAIN=value # note",
        "not a line",
        "EMPTY=",
    ])
    assert parse_dotenv(text) == {
        "CRUNCH_API_BASE_URL": "http://a/",
        "CRUNCH_WEB_BASE_URL": "http://b/",
        "CRUNCH_DEBUG": "1",
        "PLAIN": "value",
        "EMPTY": "",
    }


def test_dotenv_never_replaces_a_variable(tmp_path):
    (tmp_path / ".env").write_text("CRUNCH_API_BASE_URL=http://from-file/\nCRUNCH_DEBUG=1\nAPI_BASE_URL=http://for-my-code/\n")
    merged = environment_with_dotenv({"CRUNCH_API_BASE_URL": "http://from-env/"}, tmp_path)
    assert merged["CRUNCH_API_BASE_URL"] == "http://from-env/" and merged["CRUNCH_DEBUG"] == "1"
    assert "API_BASE_URL" not in merged  # a .env that also serves the person's code: only CRUNCH_* is read
    assert environment_with_dotenv({}, tmp_path / "none") == {}


@pytest.mark.parametrize(
    "environ, option, expected",
    [
        ({"CRUNCH_API_BASE_URL": "http://peer/"}, None, "http://peer/"),
        ({"CRUNCH_API_BASE_URL": "http://peer/", "API_BASE_URL": "http://ours/"}, None, "http://ours/"),
        ({"CRUNCH_API_BASE_URL": "http://peer/"}, "http://option/", "http://option/"),
        ({"CRUNCH_API_BASE_URL": "http://peer/", "CRUNCH_ENVIRONMENT": "staging"}, None, "http://peer/"),
        ({"CRUNCH_ENVIRONMENT": "staging"}, None, "https://api.hub.crunchdao.io/"),
    ],
)
def test_precedence_of_urls(environ, option, expected):
    settings = Settings.resolve(api_base_url=option, environ=environ)
    assert settings.api_base_url == expected and settings.explicit


def test_web_url_of_the_peer_variable():
    settings = Settings.resolve(environ={"CRUNCH_API_BASE_URL": "http://peer/", "CRUNCH_WEB_BASE_URL": "http://web/"})
    assert settings.web_base_url == "http://web/"


def test_settings_read_the_current_folders_dotenv(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("API_BASE_URL", "CRUNCH_API_BASE_URL", "CRUNCH_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("CRUNCH_API_BASE_URL=http://127.0.0.1:5555\n")
    settings = Settings.resolve()
    assert settings.api_base_url == "http://127.0.0.1:5555/" and settings.explicit
    # the workspace's recorded hub does not win over an explicit choice
    assert settings.for_workspace(HUB).api_base_url == "http://127.0.0.1:5555/"


def test_table_aligns_columns():
    lines = table(["#", "name"], [(1, "a"), (12, "long name")], right=(0,))
    assert lines == [" #  name", "--  ---------", " 1  a", "12  long name"]


def test_human_size_and_duration():
    assert [human_size(n) for n in (0, 1023, 1536, 5 * 1024**3)] == ["0 B", "1023 B", "1.5 KiB", "5.0 GiB"]
    assert [human_duration(s) for s in (5, 65, 3725)] == ["5s", "1m 05s", "1h 02m 05s"]


def test_local_time_shows_the_local_zone():
    utc = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert local_time("2026-01-02T03:04:00Z") == utc.astimezone().strftime("%Y-%m-%d %H:%M")
    assert local_time("2026-01-02T03:04:00") == local_time("2026-01-02T03:04:00+00:00")
    assert local_time(None) == "-" and local_time("not a time") == "not a time"


def test_local_time_follows_tz(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert local_time("2026-01-02T03:04:00Z") == "2026-01-02 12:04"
    finally:
        monkeypatch.undo()
        time.tzset()
