"""Cloud runs and ``crunch test --isolated``, the installed ``crunch`` (and crunch-cli 13.0.1)
against a local hub: push, ``run create``, ``run logs --follow``, ``run wait``, the score on the
leaderboard, for a classic and an UNSTRUCTURED competition; a missing module, a requirement
that does not install, a file outside the workspace, a time limit, the compute quota.

The clean environments are cached by their requirements' hash in one temporary folder for the
whole session (``CRUNCH_ENVIRONMENTS_CACHE``), shared by the hubs and the isolated runs."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import CRUNCH
from peers import crunch_cli_13

pytestmark = pytest.mark.e2e

if "CRUNCH_ENVIRONMENTS_CACHE" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="crunch-test-environments-")
    atexit.register(shutil.rmtree, _CACHE, True)
    os.environ["CRUNCH_ENVIRONMENTS_CACHE"] = _CACHE

POLL = ("--poll-interval", "0.3")


def workspace(hub, folder: Path, competition: str = "demo", project: str = "p1", requirements: str = "") -> Path:
    done = hub.run("setup", competition, project, "ws", "--token", hub.token(competition, project, "alice"), "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    ws = folder / "ws"
    (ws / "requirements.txt").write_text(requirements)
    return ws


def push(hub, ws: Path, message: str = "run me") -> None:
    done = hub.run("push", "-m", message, cwd=ws)
    assert done.returncode == 0, done.output


def create_run(hub, ws: Path, *extra: str) -> int:
    done = hub.run("run", "create", *extra, cwd=ws)
    assert done.returncode == 0, done.output
    return int(re.search(r"run (\d+) created", done.stdout).group(1))


def prepend(path: Path, code: str) -> None:
    path.write_text(code + path.read_text())


def test_classic_push_run_follow_wait_and_leaderboard(hub, tmp_path):
    ws = workspace(hub, tmp_path, requirements="tabulate\n")
    prepend(ws / "main.py", "import tabulate  # installed in the clean environment from requirements.txt\n")
    push(hub, ws)
    run_id = create_run(hub, ws)
    followed = hub.run("run", "logs", run_id, "--follow", *POLL, cwd=ws)
    assert followed.returncode == 0, followed.output
    assert "prediction is valid" in followed.stdout
    assert "cloud run" in followed.stdout  # the runner's context: not a local run
    assert re.search(r"^\d\d:\d\d:\d\d \[user-code\] ", followed.stdout, re.M), followed.stdout
    assert f"run {run_id} ended: succeeded" in followed.stdout
    assert re.search(r"\[scorer\] score: target score = -?[0-9.]+ \(Spearman with the held-out y_test\)", followed.stdout), followed.stdout
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws)
    assert waited.returncode == 0, waited.output
    score = re.search(r"succeeded: score (-?[0-9.]+)", waited.stdout).group(1)
    board = hub.run("leaderboard", cwd=ws)
    assert board.returncode == 0, board.output
    assert score in board.stdout and "#1" in board.stdout
    listed = hub.run("run", "list", "--json", cwd=ws)
    runs = json.loads(listed.stdout)
    assert [r["id"] for r in runs] == [run_id] and runs[0]["status"] == "COMPLETED" and runs[0]["success"] is True
    shown = hub.run("run", "show", run_id, cwd=ws)
    assert "status      succeeded" in shown.stdout and f"score       {score}" in shown.stdout
    table = hub.run("run", "list", cwd=ws)
    assert table.stdout.splitlines()[0].split() == ["run", "status", "submission", "duration", "created", "score"]


def test_unstructured_cloud_run_reads_the_private_data(hub, tmp_path):
    ws = workspace(hub, tmp_path, "demo-unstructured")
    prepend(ws / "main.py", "import os\nprint('sees', sorted(os.listdir('data')), flush=True)\n")
    local = hub.run("test", "--no-determinism-check", cwd=ws)
    assert local.returncode == 0, local.output
    local_score = re.search(r"local score: structural_breakpoint roc-auc = ([0-9.]+)", local.stdout).group(1)
    isolated = hub.run("test", "--isolated", "--no-determinism-check", cwd=ws)
    assert isolated.returncode == 0, isolated.output
    assert f"roc-auc = {local_score}" in isolated.stdout  # the same local run, in the clean environment
    push(hub, ws)
    run_id = create_run(hub, ws)
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws)
    assert waited.returncode == 0, waited.output
    cloud_score = re.search(r"succeeded: score ([0-9.]+)", waited.stdout).group(1)
    logs = hub.run("run", "logs", run_id, cwd=ws)
    assert "cloud run" in logs.stdout
    seen = re.search(r"\[user-code\] sees (.*)", logs.stdout).group(1)
    assert "'X_test.parquet'" in seen and "y_test.parquet'" not in seen.replace("y_test.reduced.parquet'", "")  # input yes, truth no
    assert f"[scorer] score: structural_breakpoint roc-auc = {cloud_score}" in logs.stdout  # scoring.py ran after, with the truth
    # the cloud run infers on the full private X_test and scores on the private truth
    assert float(cloud_score) != pytest.approx(float(local_score), abs=1e-4)
    board = hub.run("leaderboard", cwd=ws)
    assert "structural_breakpoint" in board.stdout and cloud_score in board.stdout


def test_missing_module_fails_the_same_way_isolated_and_in_the_cloud(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    prepend(ws / "main.py", "import sklearn  # noqa\n")
    plain = hub.run("test", "--no-determinism-check", cwd=ws)
    isolated = hub.run("test", "--isolated", cwd=ws)
    assert isolated.returncode == 1, isolated.output
    line = isolated.stderr.strip().splitlines()[-1]
    assert line.startswith("error: isolated run failed: ")
    message = line.removeprefix("error: isolated run failed: ")
    assert "`sklearn`" in message and "add the line `scikit-learn` to requirements.txt" in message
    assert "Traceback" not in isolated.stderr.split("error: isolated")[0] or plain.returncode != 0
    push(hub, ws)
    run_id = create_run(hub, ws)
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws)
    assert waited.returncode == 1, waited.output
    assert waited.stderr.strip() == f"error: run {run_id} failed: {message} (`crunch run logs {run_id}` shows its output)"
    shown = hub.run("run", "show", run_id, cwd=ws)
    assert message in shown.stdout and "status      failed" in shown.stdout


def test_requirement_that_does_not_install(hub, tmp_path):
    ws = workspace(hub, tmp_path, requirements="crunch-no-such-distribution==1.0\n")
    isolated = hub.run("test", "--isolated", cwd=ws, timeout=300)
    assert isolated.returncode == 1, isolated.output
    line = isolated.stderr.strip().splitlines()[-1]
    assert "a requirement does not install in the clean environment" in line
    assert "crunch-no-such-distribution==1.0" in line and "fix requirements.txt" in line
    assert len(line) < 600  # trimmed to what matters
    push(hub, ws)
    run_id = create_run(hub, ws)
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws, timeout=300)
    assert waited.returncode == 1
    assert line.removeprefix("error: isolated run failed: ") in waited.stderr


def test_isolated_runs_a_notebook_converted_as_push_converts_it(hub, tmp_path):
    import nbformat

    ws = workspace(hub, tmp_path)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell((ws / "main.py").read_text())]
    nbformat.write(notebook, ws / "main.ipynb")
    (ws / "main.py").unlink()
    isolated = hub.run("test", "--isolated", "--no-determinism-check", cwd=ws)
    assert isolated.returncode == 0, isolated.output
    assert "converted main.ipynb" in isolated.stdout and "prediction is valid" in isolated.stdout
    assert not (ws / "main.py").exists()  # the conversion is gone with the run


def test_a_file_outside_the_workspace_is_named(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    outside = tmp_path / "private-notes.csv"
    outside.write_text("a,b\n1,2\n")
    prepend(ws / "main.py", f"open({str(outside)!r}).read()\n")
    assert hub.run("test", "--no-determinism-check", cwd=ws).returncode == 0  # it works on this machine
    isolated = hub.run("test", "--isolated", cwd=ws)
    assert isolated.returncode == 1
    assert f"the code opened {outside}, outside the submission's folder" in isolated.stderr
    before = (ws / "data" / "X_train.parquet").read_bytes()
    (ws / "main.py").write_text((ws / "main.py").read_text().replace(f"open({str(outside)!r}).read()", "open('data/X_train.parquet', 'wb').write(b'x')"))
    writing = hub.run("test", "--isolated", cwd=ws)
    assert writing.returncode == 1 and "data/ is read-only in a run" in writing.stderr
    assert (ws / "data" / "X_train.parquet").read_bytes() == before


SLEEPER = (
    "import subprocess, time\n"
    "_sleeper = subprocess.Popen(['sleep', '300'])\n"
    "print('sleeper', _sleeper.pid, flush=True)\n"
    "time.sleep(300)\n"
)


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().lower()
    except OSError:
        return False


def test_time_limit_stops_the_run_and_its_processes(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    prepend(ws / "main.py", SLEEPER)
    started = time.monotonic()
    isolated = hub.run("test", "--isolated", "--timeout", "4", cwd=ws)
    assert isolated.returncode == 1
    assert "went past its time limit of 4 s and was stopped" in isolated.stderr
    assert time.monotonic() - started < 60
    assert not alive(int(re.search(r"sleeper (\d+)", isolated.stdout).group(1)))
    hub.settings(runTimeout=4)
    push(hub, ws)
    run_id = create_run(hub, ws)
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws)
    assert waited.returncode == 1
    assert "went past its time limit of 4 s" in waited.stderr
    logs = hub.run("run", "logs", run_id, cwd=ws)
    assert not alive(int(re.search(r"sleeper (\d+)", logs.stdout).group(1)))


def test_terminate_a_running_run(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    prepend(ws / "main.py", "import time\ntime.sleep(120)\n")
    push(hub, ws)
    run_id = create_run(hub, ws)
    stopped = hub.run("run", "terminate", run_id, cwd=ws)
    assert stopped.returncode == 0 and "termination asked" in stopped.stdout
    waited = hub.run("run", "wait", run_id, *POLL, cwd=ws)
    assert waited.returncode == 3 and f"run {run_id} was terminated" in waited.stderr
    again = hub.run("run", "terminate", run_id, cwd=ws)
    assert again.returncode == 0 and "already ended" in again.stdout


def test_follow_stops_with_one_line_when_the_hub_goes_away_and_no_process_is_left(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    prepend(ws / "main.py", SLEEPER)
    push(hub, ws)
    run_id = create_run(hub, ws)
    follower = subprocess.Popen(
        [CRUNCH, "run", "logs", str(run_id), "--follow", *POLL],
        cwd=ws, env=hub.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = []
    for line in follower.stdout:
        seen.append(line)
        if "sleeper" in line:
            break
    pid = int(re.search(r"sleeper (\d+)", seen[-1]).group(1))
    assert alive(pid)
    hub.stop()
    out, err = follower.communicate(timeout=120)
    assert follower.returncode == 1, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: following run {run_id} stopped: cannot reach the hub"), err
    assert not alive(pid)  # the hub killed the run's processes when it stopped
    hub.restart()
    shown = hub.run("run", "show", run_id, cwd=ws)
    assert "status      failed" in shown.stdout and "the hub stopped during the run" in shown.stdout


def test_bad_run_numbers_and_quota(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    (tmp_path / "other").mkdir()
    other = workspace(hub, tmp_path / "other", project="p2")
    push(hub, other)
    other_run = create_run(hub, other)
    unknown = hub.run("run", "show", "42", cwd=ws)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "error: demo/p1 has no run 42: `crunch run list` shows its runs"
    foreign = hub.run("run", "logs", other_run, cwd=ws)
    assert foreign.returncode == 1 and f"demo/p1 has no run {other_run}" in foreign.stderr
    not_a_number = hub.run("run", "wait", "first", cwd=ws)
    assert not_a_number.returncode == 1 and "'first' is not a run number" in not_a_number.stderr
    never = hub.run("run", "create", cwd=ws)
    assert never.returncode == 1 and "never submitted" in never.stderr
    push(hub, ws)
    hub.settings(computeSeconds=0)
    spent = hub.run("run", "create", cwd=ws)
    assert spent.returncode == 1
    assert spent.stderr.strip().startswith("error: the compute time of demo/p1 is spent for today")
    assert json.loads(hub.run("run", "list", "--json", cwd=ws).stdout) == []
    quota = hub.run("quota", "--json", cwd=ws)
    assert quota.returncode == 0, quota.output


def test_crunch_cli_13_runs_each_run_command(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    env = {**os.environ, "CRUNCH_API_BASE_URL": hub.url}
    for name in ("API_BASE_URL", "CRUNCH_ENVIRONMENT"):
        env.pop(name, None)

    def peer(*args):
        return subprocess.run([str(crunch_cli_13()), *map(str, args)], cwd=ws, env=env, capture_output=True, text=True, timeout=300)

    created = peer("run", "create", "--runtime", "cpu")
    assert created.returncode == 0, created.stdout + created.stderr
    run_id = int(re.search(r"run: created: (\d+)", created.stdout).group(1))
    waited = peer("run", "wait", run_id, "--poll-interval", "1")
    assert waited.returncode == 0 and "SUCCEEDED" in waited.stdout, waited.stdout + waited.stderr
    listed = peer("run", "list")
    assert listed.returncode == 0 and "completed successfully" in listed.stdout, listed.stdout + listed.stderr
    shown = peer("run", "show", run_id)
    assert shown.returncode == 0 and "status: successful" in shown.stdout and "metric: 'Score'" in shown.stdout, shown.stdout
    logs = peer("run", "logs", run_id, "--follow")  # an ended run: no polling
    assert logs.returncode == 0 and "[user-code,stdout] prediction is valid" in logs.stdout, logs.stdout
    terminated = peer("run", "terminate", run_id)
    assert terminated.returncode == 0 and "already over" in terminated.stdout
    runtimes = peer("runtime", "list")
    assert runtimes.returncode == 0 and "cpu" in runtimes.stdout and "AVAILABLE" in runtimes.stdout
    missing = peer("run", "show", 99)
    assert missing.returncode != 0 and "run: not found: 99" in missing.stdout
    ours = hub.run("run", "show", run_id, cwd=ws)
    assert "status      succeeded" in ours.stdout


def run_record(hub, ws: Path, run_id: int) -> dict:
    shown = hub.run("run", "show", run_id, "--json", cwd=ws)
    assert shown.returncode == 0, shown.output
    return json.loads(shown.stdout)


def stop_runs(hub, ws: Path, *run_ids: int) -> None:
    for run_id in run_ids:  # nothing to see in them: leave the cores to the other tests
        assert hub.run("run", "terminate", run_id, cwd=ws).returncode == 0


def test_run_create_trains_at_the_first_moon_only_by_default(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    default = hub.run("run", "create", cwd=ws)
    assert default.returncode == 0, default.output
    assert "train frequency: 0 by default (train at the first moon only); `--train-frequency N` trains every N moons" in default.stdout
    first = int(re.search(r"run (\d+) created: .*, train at the first moon only,", default.stdout).group(1))
    assert run_record(hub, ws, first)["trainFrequency"] == 0  # what the hub received
    chosen = hub.run("run", "create", "--train-frequency", "3", cwd=ws)
    assert chosen.returncode == 0, chosen.output
    assert "by default" not in chosen.stdout and "train every 3 moon(s)" in chosen.stdout
    second = int(re.search(r"run (\d+) created", chosen.stdout).group(1))
    assert run_record(hub, ws, second)["trainFrequency"] == 3
    stop_runs(hub, ws, first, second)
    helped = hub.run("run", "create", "--help")
    assert "default 0" in helped.stdout and "default 1" not in helped.stdout


def test_a_competition_that_hides_run_options_refuses_them(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    hub.competition_state("demo", hideTrainFrequency=True, hideForceFirstTrain=True)
    for option, value in (("--train-frequency", "2"), ("--force-first-train", "true"), ("--force-first-train", "false")):
        refused = hub.run("run", "create", option, value, cwd=ws)
        assert refused.returncode == 1, refused.output
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the competition demo does not take " + option), refused.stderr
        assert "Traceback" not in refused.output
    assert json.loads(hub.run("run", "list", "--json", cwd=ws).stdout) == []  # no run created
    plain = hub.run("run", "create", cwd=ws)
    assert plain.returncode == 0, plain.output
    assert "by default" not in plain.stdout and "force first train as the competition decides" in plain.stdout
    run_id = int(re.search(r"run (\d+) created", plain.stdout).group(1))
    assert run_record(hub, ws, run_id)["trainFrequency"] == 0
    hub.competition_state("demo", hideForceFirstTrain=False)  # the frequency alone stays hidden
    forced = hub.run("run", "create", "--force-first-train", "true", cwd=ws)
    assert forced.returncode == 0, forced.output
    forced_id = int(re.search(r"run (\d+) created", forced.stdout).group(1))
    record = run_record(hub, ws, forced_id)
    assert record["trainFrequency"] == 0 and record["forceFirstTrain"] is True
    stop_runs(hub, ws, run_id, forced_id)


def test_crunch_cli_13_and_ours_refuse_a_hidden_train_frequency(hub, tmp_path):
    ws = workspace(hub, tmp_path)
    push(hub, ws)
    hub.competition_state("demo", hideTrainFrequency=True)
    env = {**os.environ, "CRUNCH_API_BASE_URL": hub.url}
    for name in ("API_BASE_URL", "CRUNCH_ENVIRONMENT"):
        env.pop(name, None)

    def peer(*args):
        return subprocess.run([str(crunch_cli_13()), *map(str, args)], cwd=ws, env=env, capture_output=True, text=True, timeout=300)

    theirs = peer("run", "create", "--runtime", "cpu", "--train-frequency", "2")
    assert theirs.returncode != 0 and "train frequency is not usable in this competition" in theirs.stdout, theirs.stdout + theirs.stderr
    ours = hub.run("run", "create", "--train-frequency", "2", cwd=ws)
    assert ours.returncode == 1 and "does not take --train-frequency" in ours.stderr, ours.output
    assert json.loads(hub.run("run", "list", "--json", cwd=ws).stdout) == []  # neither created a run
    theirs = peer("run", "create", "--runtime", "cpu")
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    assert "train_frequency=0" in theirs.stdout
    their_run = int(re.search(r"run: created: (\d+)", theirs.stdout).group(1))
    our_run = create_run(hub, ws)
    assert run_record(hub, ws, their_run)["trainFrequency"] == 0
    assert run_record(hub, ws, our_run)["trainFrequency"] == 0
    stop_runs(hub, ws, their_run, our_run)
