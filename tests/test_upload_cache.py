"""The upload cache of ``crunch push`` (crunch/submission/upload_cache.py) and the submitter
imprint (crunch/submission/imprint.py): unit tests of the cache, then ``crunch push`` against
the local hub (chunk bytes counted by the hub), then crunch-cli 13.0.1 as a peer."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from crunch.core.jsonshape import Node
from crunch.exceptions import NetworkError
from crunch.submission import upload_cache as uc
from crunch.submission.imprint import AGENT_VARIABLES, agent_name, submitter_imprint
from crunch.transfer.selected import SelectedFile

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def naive(moment: dt.datetime) -> str:
    """A time as the platform writes it: UTC without a zone."""
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()


class FakeHub:
    """The two batch calls of the cache, answered from ``uploads`` (id -> upload JSON)."""

    def __init__(self, uploads: Optional[Dict[str, Dict[str, Any]]] = None, fail: bool = False) -> None:
        self.uploads = uploads or {}
        self.fail = fail
        self.listed: List[List[str]] = []
        self.deleted: List[str] = []

    def list_uploads(self, ids: List[Any]) -> Dict[str, Optional[Node]]:
        self.listed.append(list(ids))
        if self.fail:
            raise NetworkError("the hub cannot be reached")
        return {i: (Node(self.uploads[i], f"uploads.{i}") if i in self.uploads else None) for i in ids}

    def delete_uploads(self, ids: List[Any]) -> None:
        self.deleted.extend(ids)


def upload_json(size: int, status: str = "SUCCEEDED", expires: dt.datetime = NOW + dt.timedelta(days=1), created: dt.datetime = NOW - dt.timedelta(minutes=5)) -> Dict[str, Any]:
    return {"status": status, "size": size, "expiresAt": naive(expires), "createdAt": naive(created)}


def write_cache(dot: Path, entries: List[Dict[str, Any]], version: int = 1) -> None:
    dot.mkdir(parents=True, exist_ok=True)
    (dot / uc.CACHE_FILE).write_text(json.dumps({"version": version, "entries": entries}))


def entry_json(sha: str, size: int, upload_id: str, expires: Optional[dt.datetime] = None, left: int = 3, locations: Any = ()) -> Dict[str, Any]:
    return {
        "sha256": sha, "size": size, "uploadId": upload_id,
        "expiresAt": naive(expires) if expires else None, "createdAt": naive(NOW - dt.timedelta(hours=2)),
        "pushesLeft": left, "locations": list(locations),
    }


def on_disk(tmp_path: Path, name: str, content: bytes) -> SelectedFile:
    path = tmp_path / name
    path.write_bytes(content)
    return SelectedFile(path=name, source=path, size=len(content))


def sha(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


# -- unit: reading the file -------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("data", [b"{not json", b"[]", b'{"version": 1, "entries": [{"sha256": 3}]}', b'{"version": 1, "entries": "x"}', b"\x00\xff"])
def test_a_damaged_cache_is_ignored_with_one_line(tmp_path, data):
    dot = tmp_path / ".crunchdao"
    dot.mkdir()
    (dot / uc.CACHE_FILE).write_bytes(data)
    lines: List[str] = []
    hub = FakeHub()
    cache = uc.UploadCache.load(dot, hub, lines.append, now=NOW)
    assert cache.entries == [] and not cache.checked
    assert len(lines) == 1 and "damaged" in lines[0] and "ignored" in lines[0]
    assert hub.listed == []  # nothing to ask


@pytest.mark.unit
def test_another_version_and_a_missing_file(tmp_path):
    dot = tmp_path / ".crunchdao"
    lines: List[str] = []
    assert uc.UploadCache.load(dot, FakeHub(), lines.append, now=NOW).entries == [] and lines == []
    write_cache(dot, [entry_json("a" * 64, 3, "u1")], version=7)
    cache = uc.UploadCache.load(dot, FakeHub({"u1": upload_json(3)}), lines.append, now=NOW)
    assert cache.entries == [] and len(lines) == 1 and "version 7" in lines[0]


# -- unit: what the hub says ------------------------------------------------------------------


@pytest.mark.unit
def test_only_uploads_the_hub_lists_succeeded_and_lasting_are_reused(tmp_path):
    dot = tmp_path / ".crunchdao"
    write_cache(dot, [
        entry_json("a" * 64, 3, "good"),
        entry_json("b" * 64, 3, "gone"),
        entry_json("c" * 64, 3, "failed"),
        entry_json("d" * 64, 3, "soon"),
        entry_json("e" * 64, 3, "resized"),
        entry_json("f" * 64, 3, "old", expires=NOW - dt.timedelta(minutes=1)),  # expired by the cache's own date
    ])
    hub = FakeHub({
        "good": upload_json(3),
        "failed": upload_json(3, status="FAILED"),
        "soon": upload_json(3, expires=NOW + dt.timedelta(hours=1)),  # within the margin
        "resized": upload_json(4),
        "old": upload_json(3),
    })
    lines: List[str] = []
    cache = uc.UploadCache.load(dot, hub, lines.append, now=NOW)
    assert [e.upload_id for e in cache.entries] == ["good"] and cache.checked and lines == []
    assert hub.listed == [["good", "gone", "failed", "soon", "resized"]]  # the expired one is not asked about
    assert set(cache.forgotten) == {"failed", "soon", "resized", "old"}
    assert cache.entries[0].expires_at == NOW + dt.timedelta(days=1)  # a time without zone is UTC
    assert cache.age(cache.entries[0]) == "5 min"
    cache.save(hub)
    assert sorted(hub.deleted) == ["failed", "old", "resized", "soon"]


@pytest.mark.unit
def test_a_failed_listing_reuses_nothing_and_keeps_the_entries(tmp_path):
    dot = tmp_path / ".crunchdao"
    write_cache(dot, [entry_json("a" * 64, 3, "u1")])
    lines: List[str] = []
    cache = uc.UploadCache.load(dot, FakeHub(fail=True), lines.append, now=NOW)
    assert len(lines) == 1 and "every file is sent" in lines[0]
    assert cache.reusable("x", uc.Fingerprint("a" * 64, 3, None)) is None
    assert [e.upload_id for e in cache.entries] == ["u1"]


# -- unit: one push ---------------------------------------------------------------------------


@pytest.mark.unit
def test_content_is_matched_by_sha256_and_size_and_hashed_once(tmp_path, monkeypatch):
    dot = tmp_path / ".crunchdao"
    content = b"weights" * 1000
    file = on_disk(tmp_path, "model.bin", content)
    hub = FakeHub()
    cache = uc.UploadCache.load(dot, hub, print, now=NOW)
    fingerprint = cache.fingerprint("resources/model.bin", file)
    assert (fingerprint.sha256, fingerprint.size) == (sha(content), len(content))
    cache.register("resources/model.bin", file, fingerprint, "u1")
    cache.save(hub)
    assert stat.S_IMODE((dot / uc.CACHE_FILE).stat().st_mode) == 0o600

    hashed: List[Any] = []
    real = uc.sha256_of
    monkeypatch.setattr(uc, "sha256_of", lambda f: hashed.append(f.path) or real(f))
    hub.uploads["u1"] = upload_json(len(content))
    again = uc.UploadCache.load(dot, hub, print, now=NOW)
    found = again.reusable("resources/model.bin", again.fingerprint("resources/model.bin", file))
    assert found is not None and found.upload_id == "u1" and hashed == []  # same path, size and time: not read
    # the same content under another name: read, and found by its content
    copy = on_disk(tmp_path, "copy.bin", content)
    assert again.reusable("resources/copy.bin", again.fingerprint("resources/copy.bin", copy)).upload_id == "u1"
    assert hashed == ["copy.bin"]
    # changed, same size: the new time makes it read again, and it is not the cached content
    file.source.write_bytes(b"W" + content[1:])
    os.utime(file.source, ns=(1, 1))
    changed = again.fingerprint("resources/model.bin", file)
    assert again.reusable("resources/model.bin", changed) is None and changed.sha256 == sha(b"W" + content[1:])
    # content made in memory (pinned requirements)
    made = SelectedFile(path="requirements.txt", source=None, size=3, content=b"abc")
    assert again.fingerprint("requirements.txt", made).sha256 == sha(b"abc")


@pytest.mark.unit
def test_a_file_changed_while_it_was_sent_is_not_remembered(tmp_path):
    file = on_disk(tmp_path, "main.py", b"print(1)\n")
    cache = uc.UploadCache.load(tmp_path / ".crunchdao", FakeHub(), print, now=NOW)
    fingerprint = cache.fingerprint("main.py", file)
    file.source.write_bytes(b"print(22)\n")
    cache.register("main.py", file, fingerprint, "u1")
    assert cache.entries == []


@pytest.mark.unit
def test_unused_entries_age_out_and_the_file_is_bounded(tmp_path, monkeypatch):
    dot = tmp_path / ".crunchdao"
    write_cache(dot, [entry_json("a" * 64, 3, "kept"), entry_json("b" * 64, 3, "unused", left=1)])
    hub = FakeHub({"kept": upload_json(3), "unused": upload_json(3)})
    cache = uc.UploadCache.load(dot, hub, print, now=NOW)
    assert cache.reusable("x.py", uc.Fingerprint("a" * 64, 3, None)) is not None
    cache.save(hub)
    saved = json.loads((dot / uc.CACHE_FILE).read_text())["entries"]
    assert [(e["uploadId"], e["pushesLeft"]) for e in saved] == [("kept", uc.KEEP_PUSHES)]
    assert hub.deleted == ["unused"]

    monkeypatch.setattr(uc, "MAX_ENTRIES", 5)
    many = uc.UploadCache(dot / uc.CACHE_FILE, [], print, NOW, checked=True)
    for index in range(12):
        many.register(f"f{index}", SelectedFile(f"f{index}", None, 1, bytes([index])), uc.Fingerprint(f"{index:064x}", 1, None), f"u{index}")
    many.save(hub)
    assert len(json.loads((dot / uc.CACHE_FILE).read_text())["entries"]) == 5
    assert len(set(hub.deleted) - {"unused"}) == 7


# -- unit: the imprint ------------------------------------------------------------------------


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.unit
@pytest.mark.parametrize("env, tty, expected", [
    ({"AI_AGENT": "my-agent"}, True, "agent/my-agent"),
    ({"AI_AGENT": "  spaced out  "}, True, "agent/unknown"),
    ({"AI_AGENT": "x" * 101}, False, "agent/unknown"),
    ({"AI_AGENT": "   ", "CLAUDECODE": "1"}, False, "agent/claude_code"),
    ({"CLAUDECODE": "1", "CLAUDE_CODE_IS_COWORK": "1"}, False, "agent/cowork"),
    ({"CODEX_SANDBOX": "seatbelt"}, False, "agent/codex_cli"),
    ({"CURSOR_EXTENSION_HOST_ROLE": "agent-exec"}, False, "agent/cursor-cli"),
    ({"PATH": "/home/u/.pi/agent/bin:/usr/bin"}, False, "agent/pi"),
    ({"CLAUDECODE": ""}, True, "human/cli"),
    ({}, True, "human/cli"),
    ({}, False, "unknown/cli"),
])
def test_submitter_imprint(env, tty, expected):
    assert submitter_imprint(env, stdin=_Tty(tty)) == expected


PEER_PROBE = """
import json, os, sys
from detect_agent import determine_agent
env = json.loads(sys.argv[1])
for name in list(os.environ):
    del os.environ[name]
os.environ.update(env)
result = determine_agent()
print(json.dumps(result["agent"]["name"] if result["is_agent"] else None))
"""


@pytest.mark.peer
@pytest.mark.parametrize("env", [
    {"AI_AGENT": "tester"}, {"CLAUDECODE": "1"}, {"CLAUDECODE": "1", "CLAUDE_CODE_IS_COWORK": "1"}, {"GEMINI_CLI": "1"},
    {"COPILOT_MODEL": "x"}, {"OPENCODE": "1"}, {"REPL_ID": "r"}, {"GOOSE_PROVIDER": "g"}, {"PATH": "/x/.pi/agent"},
    {"JUNIE_DATA": "j", "CURSOR_TRACE_ID": "c"}, {"PI_CODING_AGENT": "1", "CLAUDECODE": "1"}, {},
])
def test_agent_detection_is_that_of_crunch_cli_13(env, tmp_path):
    from peers import crunch_cli_13

    python = crunch_cli_13().parent / "python"
    probe = subprocess.run([str(python), "-c", PEER_PROBE, json.dumps(env)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == agent_name(env)


# -- e2e: crunch push against the local hub ---------------------------------------------------


CHUNK = 64 * 1024
MODEL = os.urandom(200 * 1024 + 5)
FILES = {
    "main.py": "def train(X_train, y_train, model_directory_path):\n    pass\n\n\ndef infer(X_test, model_directory_path):\n    pass\n",
    "requirements.txt": "# deps\nnumpy>=1\n",
    "resources/model.bin": MODEL,
}


def _workspace(hub: Any, folder: Path, project: str) -> Path:
    from test_push_e2e import make_workspace

    return make_workspace(hub, folder, project=project, files=FILES)


def _env(hub: Any, **extra: str) -> Dict[str, str]:
    env = hub.env(CRUNCH_UPLOAD_CHUNK_SIZE=str(CHUNK), **extra)
    for name in AGENT_VARIABLES:
        if name not in extra:
            env.pop(name, None)
    return env


def _push(hub: Any, workspace: Path, message: str, **extra: str) -> Any:
    result = hub.run("push", "-m", message, cwd=workspace, env=_env(hub, **extra), input="")
    assert result.returncode == 0, result.output
    return result


def _chunk_bytes(hub: Any) -> int:
    return sum(count for path, count in hub.stats()["bytesReceived"].items() if path.startswith("/_upload/"))


def _submissions(hub: Any, workspace: Path) -> List[Dict[str, Any]]:
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    return hub.call("GET", f"/v4/competitions/demo/projects/{project['userId']}/{project['projectName']}/submissions?pushToken={token}")


def _cache(workspace: Path) -> Dict[str, Any]:
    return json.loads((workspace / ".crunchdao" / uc.CACHE_FILE).read_text())


@pytest.mark.e2e
def test_a_second_push_sends_only_what_changed(hub, tmp_path):
    from test_push_e2e import pulled_files

    workspace = _workspace(hub, tmp_path / "ws", "cached")
    hub.reset_stats()
    first = _push(hub, workspace, "first")
    assert "reused" not in first.output
    sent_first = _chunk_bytes(hub)
    assert sent_first >= len(MODEL) + len(FILES["main.py"])
    cache_file = workspace / ".crunchdao" / uc.CACHE_FILE
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert all(e["expiresAt"] for e in _cache(workspace)["entries"])

    hub.reset_stats()
    second = _push(hub, workspace, "second")
    assert _chunk_bytes(hub) == 0
    for name in ("main.py", "requirements.txt", "requirements.original.txt", "resources/model.bin"):
        assert f"reused {name} (" in second.output, second.output
    assert "reused resources/model.bin (200.0 KiB, uploaded " in second.output
    assert "submission #2 successfully uploaded" in second.stdout
    assert pulled_files(hub, workspace)["resources/model.bin"] == MODEL  # the submission holds the files

    (workspace / "main.py").write_text(FILES["main.py"] + "# changed\n")
    hub.reset_stats()
    third = _push(hub, workspace, "third")
    assert _chunk_bytes(hub) == len(FILES["main.py"]) + len("# changed\n")
    assert "reused main.py" not in third.output and "reused resources/model.bin" in third.output
    assert pulled_files(hub, workspace)["main.py"] == (FILES["main.py"] + "# changed\n").encode()
    assert hub.stats()["pendingUploads"] == 0


@pytest.mark.e2e
def test_an_expired_or_deleted_upload_is_sent_again(hub, tmp_path):
    workspace = _workspace(hub, tmp_path / "ws", "expiry")
    _push(hub, workspace, "first")
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    entries = _cache(workspace)["entries"]
    model_entry = next(e for e in entries if e["size"] == len(MODEL))
    main_entry = next(e for e in entries if e["size"] == len(FILES["main.py"]))

    # deleted on the hub (a submission keeps its files, the upload is no longer offered)
    hub.client(push_token=token).delete_upload(model_entry["uploadId"])
    hub.reset_stats()
    second = _push(hub, workspace, "second")
    assert _chunk_bytes(hub) == len(MODEL)
    assert "reused resources/model.bin" not in second.output and "reused main.py" in second.output

    # expired (by the date the cache holds): sent again, the old upload deleted
    data = _cache(workspace)
    for entry in data["entries"]:
        if entry["sha256"] == main_entry["sha256"]:
            entry["expiresAt"] = "2001-01-01T00:00:00"
            old = entry["uploadId"]
    (workspace / ".crunchdao" / uc.CACHE_FILE).write_text(json.dumps(data))
    hub.reset_stats()
    third = _push(hub, workspace, "third")
    assert _chunk_bytes(hub) == len(FILES["main.py"])
    assert "reused main.py" not in third.output and "reused resources/model.bin" in third.output
    listed = hub.call("POST", f"/v1/uploads/~/list?pushToken={token}", {"uploadIds": [old]})["uploads"][old]
    # deleted: the hub keeps an upload a submission holds, no longer offered (expired at once)
    assert listed is None or listed["expiresAt"].startswith("1970-01-01")


@pytest.mark.e2e
def test_a_damaged_cache_costs_one_line(hub, tmp_path):
    workspace = _workspace(hub, tmp_path / "ws", "damaged")
    (workspace / ".crunchdao" / uc.CACHE_FILE).write_text('{"version": 1, "entries": [{"sha256": ')
    hub.reset_stats()
    result = _push(hub, workspace, "first")
    assert result.output.count("upload cache") == 1 and "damaged" in result.output
    assert _chunk_bytes(hub) >= len(MODEL)
    assert _cache(workspace)["version"] == 1  # replaced by a good one
    hub.reset_stats()
    _push(hub, workspace, "second")
    assert _chunk_bytes(hub) == 0


@pytest.mark.e2e
def test_the_agent_mark_reaches_the_hub(hub, tmp_path):
    workspace = _workspace(hub, tmp_path / "ws", "marked")
    _push(hub, workspace, "by an agent", AI_AGENT="test-agent")
    _push(hub, workspace, "by claude", CLAUDECODE="1")
    _push(hub, workspace, "by a script")
    imprints = {s["message"]: s.get("submitterImprint") for s in _submissions(hub, workspace)}
    assert imprints == {"by an agent": "agent/test-agent", "by claude": "agent/claude_code", "by a script": "unknown/cli"}


# -- peer: crunch-cli 13.0.1 against the same hub ---------------------------------------------


@pytest.mark.e2e
@pytest.mark.peer
def test_crunch_cli_13_pushes_with_its_cache_and_mark(hub, tmp_path):
    from peers import crunch_cli_13

    workspace = _workspace(hub, tmp_path / "ws", "peer13")
    token_file = workspace / ".crunchdao" / "token"
    token_file.write_text(token_file.read_text().strip())  # 13.0.1 sends the file's text as it is
    env = {k: v for k, v in os.environ.items() if k not in ("API_BASE_URL", "WEB_BASE_URL", "PYTHONPATH", "PYTHONHOME") and k not in AGENT_VARIABLES}
    env["AI_AGENT"] = "peer-agent"

    def peer(message: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(crunch_cli_13()), "--api-base-url", hub.url, "push", "-m", message, "--no-pip-freeze"],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    hub.reset_stats()
    peer("peer first")
    assert _chunk_bytes(hub) >= len(MODEL)
    hub.reset_stats()
    second = peer("peer second")
    assert "reused cached model file: model.bin" in second.stdout, second.stdout
    assert _chunk_bytes(hub) == 0  # its cache works against the hub's batch list
    imprints = {s["message"]: s.get("submitterImprint") for s in _submissions(hub, workspace)}
    assert imprints == {"peer first": "agent/peer-agent", "peer second": "agent/peer-agent"}
    # both tools keep their own cache in the same workspace
    assert (workspace / ".crunchdao" / "upload-cache.json").is_file()
    _push(hub, workspace, "ours after the peer")
    assert (workspace / ".crunchdao" / "upload-cache.json").is_file() and _cache(workspace)["version"] == 1
    hub.reset_stats()
    peer("peer third")
    assert _chunk_bytes(hub) == 0

