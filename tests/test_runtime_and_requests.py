"""``runtime list|request``, ``run select`` and ``whitelist request``, by the installed ``crunch``
and by crunch-cli 13.0.1, against a local hub: the runtimes with their CPU/GPU options, a
runtime given on request, the run chosen for the out-of-sample phase, a library asked for; the
admin's decisions (``crunch hub requests|accept|reject``, ``/_admin/...``) and their effect."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from peers import crunch_cli_13

pytestmark = pytest.mark.e2e

if "CRUNCH_ENVIRONMENTS_CACHE" not in os.environ:  # the runs' clean environments, shared by the session
    _CACHE = tempfile.mkdtemp(prefix="crunch-test-environments-")
    atexit.register(shutil.rmtree, _CACHE, True)
    os.environ["CRUNCH_ENVIRONMENTS_CACHE"] = _CACHE

POLL = ("--poll-interval", "0.3")


def workspace(hub, folder: Path) -> Path:
    done = hub.run("setup", "demo", "p1", "ws", "--token", hub.token("demo", "p1", "alice"), "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    (folder / "ws" / "requirements.txt").write_text("")
    return folder / "ws"


def push(hub, ws: Path) -> None:
    done = hub.run("push", "-m", "first", cwd=ws)
    assert done.returncode == 0, done.output


def one_error(done) -> str:
    """The single ``error:`` line of a refused command (exit 1, no traceback)."""
    assert done.returncode == 1, done.output
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def statuses(hub, ws: Path) -> dict:
    listed = hub.run("runtime", "list", "--json", cwd=ws)
    assert listed.returncode == 0, listed.output
    return {r["name"]: r["status"] for r in json.loads(listed.stdout)}


def peer_runner(hub, ws: Path):
    env = {**os.environ, "CRUNCH_API_BASE_URL": hub.url}
    for name in ("API_BASE_URL", "CRUNCH_ENVIRONMENT"):
        env.pop(name, None)

    def peer(*args):
        return subprocess.run([str(crunch_cli_13()), *map(str, args)], cwd=ws, env=env, capture_output=True, text=True, timeout=300)

    return peer


def test_runtimes_before_and_after_a_request_and_its_acceptance(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    before = hub.run("runtime", "list", cwd=ws)
    assert before.returncode == 0, before.output
    assert re.search(r"^gpu +GPU \(local hub, on request\) +16 GB +4 cores +NVIDIA T4 \(driver 535\)", before.stdout, re.M), before.stdout
    assert "has not submitted yet" in before.stdout
    push(hub, ws)
    assert statuses(hub, ws) == {"cpu": "AVAILABLE", "gpu": "REQUESTABLE"}
    listed = hub.run("runtime", "list", cwd=ws)
    assert re.search(r"^cpu .* available$", listed.stdout, re.M) and re.search(r"^gpu .* requestable$", listed.stdout, re.M), listed.stdout
    assert "crunch runtime request NAME --justification TEXT" in listed.stdout
    assert "not available" in one_error(hub.run("run", "create", "--runtime", "gpu", cwd=ws))

    made = hub.run("runtime", "request", "gpu", "--justification", "a model of 2 GB that trains on a GPU", cwd=ws)
    assert made.returncode == 0, made.output
    request_id = int(re.search(r"request #(\d+) made for the runtime gpu on submission #1 \(pending\)", made.stdout).group(1))
    [recorded] = hub.call("GET", "/_admin/runtime-access-requests")
    assert recorded["id"] == request_id and recorded["verdict"] == "PENDING" and recorded["submissionNumber"] == 1
    assert recorded["justification"] == "a model of 2 GB that trains on a GPU" and recorded["definition"]["name"] == "gpu"
    assert statuses(hub, ws)["gpu"] == "REQUESTED"
    again = hub.run("runtime", "request", "gpu", "--justification", "still", cwd=ws)
    assert again.returncode == 0 and "already waiting for review" in again.stdout, again.output
    assert len(hub.call("GET", "/_admin/runtime-access-requests")) == 1  # no second request
    assert "no runtime 'tpu' for submission #1: the runtimes are cpu, gpu" in one_error(hub.run("runtime", "request", "tpu", "--justification", "x", cwd=ws))
    assert "no submission #7" in one_error(hub.run("runtime", "request", "gpu", "--submission", "7", "--justification", "x", cwd=ws))
    assert "--justification is empty" in one_error(hub.run("runtime", "request", "gpu", "--justification", " ", cwd=ws))

    pending = hub.run("hub", "requests", "--root", hub.root, "--json")
    assert [(r["kind"], r["id"]) for r in json.loads(pending.stdout)] == [("runtime", request_id)], pending.output
    accepted = hub.run("hub", "accept", "runtime", request_id, "--root", hub.root)
    assert accepted.returncode == 0 and "accepted: the runtime is available to that submission" in accepted.stdout, accepted.output
    assert "already decided" in one_error(hub.run("hub", "reject", "runtime", request_id, "--root", hub.root))
    assert statuses(hub, ws) == {"cpu": "AVAILABLE", "gpu": "AVAILABLE"}
    available = hub.run("runtime", "request", "gpu", "--justification", "x", cwd=ws)
    assert available.returncode == 0 and "already available to submission #1: no request needed" in available.stdout

    created = hub.run("run", "create", "--runtime", "gpu", cwd=ws)  # now accepted by the hub
    assert created.returncode == 0, created.output
    run_id = int(re.search(r"run (\d+) created: submission #1 on gpu", created.stdout).group(1))
    assert hub.run("run", "terminate", run_id, cwd=ws).returncode == 0


def test_a_rejection_that_blocks_further_requests(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    made = hub.run("runtime", "request", "gpu", "--justification", "please", "--json", cwd=ws)
    assert made.returncode == 0, made.output
    request_id = json.loads(made.stdout)["request"]["id"]
    refused = hub.run("hub", "reject", "runtime", request_id, "--block", "--reason", "no GPU left", "--root", hub.root)
    assert refused.returncode == 0 and "rejected: further requests of that runtime by the project are refused" in refused.stdout, refused.output
    [recorded] = hub.call("GET", "/_admin/runtime-access-requests")
    assert recorded["verdict"] == "REJECTED" and recorded["furtherRequestBlocked"] is True and recorded["verdictReason"] == "no GPU left"
    assert statuses(hub, ws)["gpu"] == "BLOCKED"
    assert "blocked for demo/p1" in one_error(hub.run("runtime", "request", "gpu", "--justification", "again", cwd=ws))
    assert one_error(hub.run("hub", "accept", "library", 99, "--root", hub.root)) == "error: no library request #99"
    assert "no hub at" in one_error(hub.run("hub", "requests", "--root", tmp_path / "nothing"))


def test_run_select_chooses_a_successful_run_only(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    created = hub.run("run", "create", cwd=ws)
    good = int(re.search(r"run (\d+) created", created.stdout).group(1))
    assert hub.run("run", "wait", good, *POLL, cwd=ws).returncode == 0
    stopped = int(re.search(r"run (\d+) created", hub.run("run", "create", cwd=ws).stdout).group(1))
    assert hub.run("run", "terminate", stopped, cwd=ws).returncode == 0
    assert hub.run("run", "wait", stopped, *POLL, cwd=ws).returncode == 3

    assert "only a run that succeeded can be selected" in one_error(hub.run("run", "select", stopped, cwd=ws))
    assert "demo/p1 has no run 99" in one_error(hub.run("run", "select", 99, cwd=ws))
    assert "is not a run number" in one_error(hub.run("run", "select", "abc", cwd=ws))
    token = hub.push_token("demo", "p1", "alice")
    default = hub.call("GET", f"/v4/competitions/demo/projects/alice/p1/selection?pushToken={token}")
    assert default["origin"] == "LAST_RUN" and default["runId"] == good

    selected = hub.run("run", "select", good, cwd=ws)
    assert selected.returncode == 0, selected.output
    assert selected.stdout.strip() == f"run {good} selected for the out-of-sample phase (submission #1)"
    chosen = hub.call("GET", f"/v4/competitions/demo/projects/alice/p1/selection?pushToken={token}")
    assert chosen["origin"] == "SELECTION" and chosen["runId"] == good and chosen["submission"]["number"] == 1


def test_whitelist_request_and_its_acceptance(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    made = hub.run("whitelist", "request", "--name", "tabulate-extra", "--alias", "tabulate_extra", "--gpu", "useful",
                   "--additional-details", "pretty tables", cwd=ws)
    assert made.returncode == 0, made.output
    request_id = int(re.search(r"request #(\d+) made for tabulate-extra \(pending\)", made.stdout).group(1))
    [recorded] = hub.call("GET", "/_admin/library-requests")
    assert recorded == {**recorded, "id": request_id, "name": "tabulate-extra", "alias": "tabulate_extra", "language": "PYTHON",
                        "gpuRequirement": "RECOMMENDED", "additionalDetails": "pretty tables", "verdict": "PENDING"}
    assert "LIBRARY_REQUEST_ALREADY_PENDING" in one_error(hub.run("whitelist", "request", "--alias", "tabulate_extra", cwd=ws))
    assert "LIBRARY_ALREADY_WHITELISTED" in one_error(hub.run("whitelist", "request", "--name", "pandas", cwd=ws))
    assert "give the library's --name" in one_error(hub.run("whitelist", "request", "--language", "r", cwd=ws))
    assert "--gpu" in hub.run("whitelist", "request", "--name", "x", "--gpu", "maybe", cwd=ws).stderr
    assert len(hub.call("GET", "/_admin/library-requests")) == 1  # nothing else was asked for
    assert json.loads(hub.run("whitelist", "search", "tabulate-extra", "--json", cwd=ws).stdout) == []

    accepted = hub.call("POST", f"/_admin/library-requests/{request_id}/accept", {})
    assert accepted["verdict"] == "APPROVED" and accepted["verdictAt"]
    [found] = json.loads(hub.run("whitelist", "search", "tabulate-extra", "--json", cwd=ws).stdout)
    assert found["name"] == "tabulate-extra" and found["aliases"] == ["tabulate_extra"]
    shown = hub.run("hub", "requests", "--all", "--root", hub.root)
    assert re.search(rf"^library +{request_id} +tabulate-extra / tabulate_extra \(python, gpu recommended\) +approved", shown.stdout, re.M), shown.output


def test_crunch_cli_13_runs_each_new_command(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    peer = peer_runner(hub, ws)
    early = peer("runtime", "list")
    assert early.returncode == 0 and "gpu" in early.stdout and "NVIDIA T4 (535)" in early.stdout, early.stdout + early.stderr
    push(hub, ws)
    listed = peer("runtime", "list")
    assert listed.returncode == 0 and re.search(r"gpu .*REQUESTABLE", listed.stdout), listed.stdout + listed.stderr
    asked = peer("runtime", "request", "gpu", "--justification", "a big model")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    request_id = int(re.search(r"request: created #(\d+) for gpu on submission #1 \(pending\)", asked.stdout).group(1))
    [recorded] = hub.call("GET", "/_admin/runtime-access-requests")  # the same request as ours makes
    assert recorded["id"] == request_id and recorded["justification"] == "a big model" and recorded["submissionNumber"] == 1
    assert statuses(hub, ws)["gpu"] == "REQUESTED"
    hub.call("POST", f"/_admin/runtime-access-requests/{request_id}/accept", {})
    assert re.search(r"gpu .*AVAILABLE", peer("runtime", "list").stdout)

    library = peer("whitelist", "request", "--name", "tabulate-extra", "--gpu", "required")
    assert library.returncode == 0, library.stdout + library.stderr
    assert re.search(r"request: created #\d+ for tabulate-extra \(pending\)", library.stdout), library.stdout
    [recorded] = hub.call("GET", "/_admin/library-requests")
    assert recorded["name"] == "tabulate-extra" and recorded["gpuRequirement"] == "REQUIRED" and recorded["language"] == "PYTHON"
    refused = peer("whitelist", "request", "--name", "pandas")
    assert refused.returncode != 0 and "LIBRARY_ALREADY_WHITELISTED" in refused.stdout + refused.stderr

    created = peer("run", "create", "--runtime", "gpu")
    assert created.returncode == 0, created.stdout + created.stderr
    run_id = int(re.search(r"run: created: (\d+)", created.stdout).group(1))
    waited = peer("run", "wait", run_id, "--poll-interval", "1")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    selected = peer("run", "select", run_id)
    assert selected.returncode == 0 and f"select: run {run_id} selected (submission #1)" in selected.stdout, selected.stdout + selected.stderr
    assert "selected" in peer("run", "list").stdout
    token = hub.push_token("demo", "p1", "alice")
    chosen = hub.call("GET", f"/v4/competitions/demo/projects/alice/p1/selection?pushToken={token}")
    assert chosen["origin"] == "SELECTION" and chosen["runId"] == run_id
    missing = peer("run", "select", 99)
    assert missing.returncode != 0
    ours = hub.run("run", "select", run_id, cwd=ws)  # the same run, chosen again by ours
    assert ours.returncode == 0 and f"run {run_id} selected" in ours.stdout, ours.output
