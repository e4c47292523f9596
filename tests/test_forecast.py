"""The quota forecast: ``crunch push`` and ``crunch run create`` say what they cost of the day's
submissions and of the compute time (as long as the last cloud run, else the last ``crunch
test``), and ask before spending the last of either: a terminal is asked, ``--yes`` and a run
without a terminal go on and say so; a hub without the quota calls costs one line."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import types
from pathlib import Path
from typing import Any, List

import pytest
from conftest import CRUNCH, Hub

from crunch import exceptions as exc
from crunch.core.console import Console
from crunch.project.workspace import Workspace
from crunch.submission import forecast


def workspace(hub: Hub, folder: Path, project: str) -> Path:
    done = hub.run("setup", "demo", project, "ws", "--token", hub.token("demo", project), "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def in_terminal(hub: Hub, ws: Path, args: List[str], answer: str, timeout: float = 60) -> tuple:
    """Run ``crunch ARGS`` with a pseudo-terminal as its standard input; answer the question."""
    master, slave = pty.openpty()
    process = subprocess.Popen([CRUNCH, *args], cwd=ws, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=hub.env())
    os.close(slave)
    try:
        os.write(master, answer.encode() + b"\n")  # waits in the terminal's input until the question reads it
        out, err = process.communicate(timeout=timeout)
    finally:
        os.close(master)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.e2e
def test_push_says_its_cost_and_asks_before_the_last_submission(hub: Hub, tmp_path: Path) -> None:
    ws = workspace(hub, tmp_path, "p1")
    hub.settings(dailyLimit=3)
    first = hub.run("push", "-m", "one", cwd=ws)
    assert first.returncode == 0, first.output
    assert "this push: one of the 3 submission(s) left today (0/3 used)" in first.output
    assert "going on" not in first.output
    second = hub.run("push", "-m", "two", cwd=ws)
    assert second.returncode == 0 and "one of the 2 submission(s) left today" in second.output
    # the last one: a terminal is asked; no sends nothing
    code, out, err = in_terminal(hub, ws, ["push", "-m", "three"], "n")
    assert code == 1, out + err
    assert "spends the last submission of the day: go on?" in out + err
    # the answer is echoed on the terminal, so the error line follows the question on stderr
    assert err.count("error: ") == 1 and err.rstrip().endswith(
        "error: this push not done: it would spend the last submission of the day (answer yes, or give --yes)"
    ), err
    assert hub.run("quota", cwd=ws).stdout.count("2/3") == 1
    # no terminal: it goes on, and says so
    third = hub.run("push", "-m", "three", cwd=ws)
    assert third.returncode == 0, third.output
    assert "spends the last submission of the day: going on without asking" in third.output


@pytest.mark.e2e
def test_push_yes_and_a_terminal_answering_yes(hub: Hub, tmp_path: Path) -> None:
    ws = workspace(hub, tmp_path, "p1")
    hub.settings(dailyLimit=1)
    code, out, err = in_terminal(hub, ws, ["push", "-m", "asked"], "y")
    assert code == 0, out + err
    assert "go on?" in out + err
    hub.settings(dailyLimit=2)
    done = hub.run("push", "-m", "yes", "--yes", cwd=ws)
    assert done.returncode == 0 and "spends the last submission of the day: going on (--yes)" in done.output, done.output


@pytest.mark.e2e
def test_run_create_forecasts_from_the_last_test_and_asks_before_the_last_compute(hub: Hub, tmp_path: Path) -> None:
    ws = workspace(hub, tmp_path, "p1")
    pushed = hub.run("push", "-m", "run me", cwd=ws)
    assert pushed.returncode == 0, pushed.output
    assert "a run of it" not in pushed.output  # nothing known of its cost yet
    tested = hub.run("test", cwd=ws)
    assert tested.returncode == 0, tested.output
    seconds = forecast.last_test_duration(Workspace(ws))
    assert seconds is not None and seconds > 0
    # a run like a ten-minute test, five minutes of compute left: a terminal is asked, no creates nothing
    (ws / ".crunchdao" / forecast.LAST_TEST_FILE).write_text('{"seconds": 600}')
    hub.settings(computeSeconds=300)
    code, out, err = in_terminal(hub, ws, ["run", "create"], "n")
    assert code == 1, out + err
    assert "this run: about 10m 00s of compute (as the last `crunch test`), 5m 00s left of 5m 00s" in out, out
    assert "spends the last of the compute time" in err and "error: this run not done" in err, err
    assert json.loads(hub.run("run", "list", "--json", cwd=ws).stdout) == []
    # without a terminal it goes on and says so
    created = hub.run("run", "create", cwd=ws)
    assert created.returncode == 0, created.output
    assert "spends the last of the compute time" in created.output and "going on without asking" in created.output, created.output
    run_id = re.search(r"run (\d+) created", created.stdout).group(1)
    waited = hub.run("run", "wait", run_id, "--poll-interval", "0.3", "--timeout", "300", cwd=ws, timeout=320)
    assert waited.returncode in (0, 1), waited.output
    # the last cloud run's duration is what the next one is expected to take
    hub.settings(computeSeconds=36000)
    again = hub.run("run", "create", "--yes", cwd=ws)
    assert again.returncode == 0, again.output
    assert re.search(r"this run: about [0-9.hms ]+ of compute \(as the last cloud run\), ", again.output), again.output
    assert "going on" not in again.output


# -- without the hub's answers ------------------------------------------------------------------


class Client:
    def __init__(self, runs: Any = (), missing: bool = False) -> None:
        self.runs, self.missing = list(runs), missing

    def _answer(self, value: Any) -> Any:
        if self.missing:
            raise exc.ApiError("not found", code="NOT_FOUND", status=404)
        return value

    def submit_quota(self, *where: Any) -> Any:
        return self._answer(types.SimpleNamespace(submissions_per_day=types.SimpleNamespace(current=4, maximum=5, bypass=False, remaining=1)))

    def compute_quota(self, *where: Any) -> Any:
        return self._answer(types.SimpleNamespace(available=3600.0, remaining=100.0, used=3500.0, running=False))

    def list_runs(self, *where: Any) -> Any:
        return self._answer(self.runs)


def run(id: int, duration: Any, status: str = "COMPLETED") -> Any:
    return types.SimpleNamespace(id=id, duration=duration, status=status, ended_at="2025-01-01T00:00:00" if status != "RUNNING" else None)


def test_the_last_cloud_run_is_the_latest_ended_one(tmp_path: Path) -> None:
    said: List[str] = []
    client = Client([run(3, 50.0), run(9, 700.0), run(12, 30.0, "RUNNING"), run(4, None)])
    assert forecast.last_cloud_duration(client, ("c", 1, "p"), said.append) == 700.0
    (tmp_path / ".crunchdao").mkdir()
    ws = Workspace(tmp_path)
    forecast.record_test_duration(ws, 12.5)
    made = forecast.for_run(client, ("c", 1, "p"), ws, said.append)
    assert made.lines == ["this run: about 11m 40s of compute (as the last cloud run), 1m 40s left of 1h 00m 00s"]
    assert made.last and said == []
    pushed = forecast.for_push(client, ("c", 1, "p"), ws, said.append)
    assert pushed.last == ["the last submission of the day"] and "one of the 1 submission(s) left today (4/5 used)" in pushed.lines[0]


def test_a_hub_without_the_quota_calls_costs_one_line_each(tmp_path: Path) -> None:
    (tmp_path / ".crunchdao").mkdir()
    ws = Workspace(tmp_path)
    said: List[str] = []
    made = forecast.for_run(Client(missing=True), ("c", 1, "p"), ws, said.append)
    assert made.lines == [] and made.last == [] and len(said) == 1 and "does not offer the compute quota" in said[0]
    console = Console(stream=io.StringIO(), err=io.StringIO())
    forecast.ask_before_spending(made, console, yes=False, what="this run")  # nothing to ask: goes on
    assert console.stream.getvalue() == ""
    said.clear()
    pushed = forecast.for_push(Client(missing=True), ("c", 1, "p"), ws, said.append)
    assert pushed.last == [] and len(said) == 2
