"""``crunch push`` of a file in several chunks sent at once, against a real local hub."""

from __future__ import annotations

import json

import pytest
from test_push_e2e import FILES, make_workspace, push

pytestmark = pytest.mark.e2e


def submissions(hub, workspace):
    project = json.loads((workspace / ".crunchdao" / "project.json").read_text())
    token = (workspace / ".crunchdao" / "token").read_text().strip()
    return hub.client(push_token=token).list_submissions("demo", project["userId"], project["projectName"])


def test_a_failed_parallel_push_leaves_no_submission_and_no_pending_upload(hub, tmp_path):
    files = {name: content for name, content in FILES.items() if name != "lib/empty.py"}
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    # every chunk answer waits, so the chunks of the model are in flight together when one is cut
    hub.faults(latency=0.3, drop_after=10, drop_times=1, path_prefix="/_upload/", method="PUT")
    hub.reset_stats()
    result = push(hub, workspace, "-m", "cut", CRUNCH_RETRIES="0", CRUNCH_UPLOAD_CONNECTIONS="4")
    assert result.returncode == 1, result.output
    assert "error: uploading " in result.stderr and "nothing was submitted" in result.stderr
    assert "Traceback" not in result.output
    stats = hub.stats()
    assert stats["droppedConnections"] == 1
    chunk_puts = sum(count for path, count in stats["requestsByPath"].items() if path.startswith("/_upload/"))
    assert chunk_puts > 1  # the cut chunk was not alone
    assert submissions(hub, workspace) == []
    assert stats["pendingUploads"] == 0
    assert set(stats["uploads"]) <= {"ABORTED", "DELETED", "FAILED"}


def test_parallel_chunks_each_retried_on_their_own(hub, tmp_path):
    files = {name: content for name, content in FILES.items() if name != "lib/empty.py"}
    workspace = make_workspace(hub, tmp_path / "ws", files=files)
    hub.faults(drop_after=10, drop_times=3, path_prefix="/_upload/", method="PUT")
    result = push(hub, workspace, "-m", "flaky", CRUNCH_RETRY_BACKOFF="0.05", CRUNCH_UPLOAD_CONNECTIONS="8")
    assert result.returncode == 0, result.output
    assert hub.stats()["droppedConnections"] == 3
    assert result.output.count("sending it again") == 3
    assert [s.number for s in submissions(hub, workspace)] == [1]
    assert hub.stats()["pendingUploads"] == 0


def test_bad_upload_connections_is_one_error_line(hub, tmp_path):
    workspace = make_workspace(hub, tmp_path / "ws")
    result = push(hub, workspace, "-m", "x", CRUNCH_UPLOAD_CONNECTIONS="0")
    assert result.returncode == 1
    assert result.stderr.startswith("error: CRUNCH_UPLOAD_CONNECTIONS='0'") and "Traceback" not in result.stderr
    assert hub.stats()["pendingUploads"] == 0 and submissions(hub, workspace) == []
