"""The time of each call into the participant's code in ``crunch test``: the classic loop's
calls, and for a competition's own runner (the real-time pattern: a generator resumed once per
value) each resumption, against the per-call limit the competition's runner.py states."""

from __future__ import annotations

import multiprocessing
import os
import time
import types
from pathlib import Path

import pytest
from conftest import Hub
from test_unstructured_e2e import FIXTURES, host, setup

from crunch.runner.timings import CallTimings, limits_of, percentile


def test_percentiles_are_nearest_rank_and_the_median_the_middle():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.5
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([5.0], 0.99) == 5.0


def test_a_generator_is_timed_per_resumption_without_its_setup_and_clean_up():
    timings = CallTimings()

    def infer(datasets, model_directory_path):
        time.sleep(0.05)  # setup, up to the first yield: not a call
        yield
        for value in datasets:
            time.sleep(0.01 if value < 4 else 0.03)
            yield value * 2
        time.sleep(0.05)  # clean-up: not a call

    wrapped = timings.wrap("infer", infer)
    import inspect

    assert list(inspect.signature(wrapped).parameters) == ["datasets", "model_directory_path"]
    generator = wrapped(iter(range(5)), "resources")
    assert isinstance(generator, types.GeneratorType)
    assert next(generator) is None
    assert [next(generator) for _ in range(5)] == [0, 2, 4, 6, 8]
    assert next(generator, "end") == "end"
    timings.gather()
    steps = timings.samples["infer"]
    assert len(steps) == 5
    assert all(0.009 <= s < 0.045 for s in steps), steps
    assert max(steps) >= 0.03
    lines = timings.lines({"infer": 0.02})
    assert lines[0] == "calls into your code:"
    assert "5 calls: median " in lines[1] and "99th percentile" in lines[1] and "slowest" in lines[1]
    assert "1 over the competition's limit of 20.0 ms a call" in lines[1]
    assert timings.over_limit({"infer": 0.02}) == {"infer": 1}
    assert "all within the competition's limit" in timings.lines({"*": 1.0})[1]


def test_a_plain_function_is_timed_per_call_and_errors_pass_through():
    timings = CallTimings()

    def train(x):
        if x < 0:
            raise ValueError("negative")
        return x + 1

    wrapped = timings.wrap("train", train)
    assert wrapped(1) == 2 and wrapped(2) == 3
    with pytest.raises(ValueError, match="negative"):
        wrapped(-1)
    timings.gather()
    assert len(timings.samples["train"]) == 2
    assert "train()" in timings.lines()[1] and "2 calls" in timings.lines()[1]


def test_a_generator_returned_by_a_plain_function_and_values_sent_in():
    timings = CallTimings()

    def echo():
        received = yield
        while received is not None:
            received = yield received * 10

    def factory():
        return echo()

    generator = timings.wrap("infer", factory)()
    assert next(generator) is None
    assert generator.send(1) == 10 and generator.send(2) == 20
    with pytest.raises(StopIteration):
        generator.send(None)
    assert len(timings.samples["infer"]) == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked workers need fork")
def test_resumptions_in_forked_workers_are_read_back():
    timings = CallTimings()

    def infer(values):
        yield
        yield from values

    wrapped = timings.wrap("infer", infer)

    def worker(count):
        generator = wrapped(iter(range(count)))
        next(generator)
        for _ in range(count):
            next(generator)
        next(generator, None)
        os._exit(0)

    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=worker, args=(n,)) for n in (3, 4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
        assert process.exitcode == 0
    timings.gather()
    assert len(timings.samples["infer"]) == 7


def test_the_limit_is_read_from_the_runner_module():
    assert limits_of(types.SimpleNamespace(PER_CALL_TIME_LIMIT=0.5)) == {"*": 0.5}
    assert limits_of(types.SimpleNamespace(PER_CALL_TIME_LIMIT={"infer": 0.05, "train": "x"})) == {"infer": 0.05}
    assert limits_of(types.SimpleNamespace(PER_CALL_TIME_LIMIT=True)) == {}
    assert limits_of(types.SimpleNamespace()) == {}
    assert limits_of(None) == {}


@pytest.mark.e2e
def test_crunch_test_reports_each_call_against_the_competition_limit(hub: Hub, tmp_path: Path) -> None:
    host(hub, "real-time", tmp_path)
    workspace = setup(hub, "real-time", "timed", tmp_path, FIXTURES / "real-time" / "main.py")
    tested = hub.run("test", cwd=workspace)
    assert tested.returncode == 0, tested.output
    lines = tested.stdout.splitlines()
    assert "calls into your code:" in lines, tested.stdout
    infer = next(line for line in lines if line.strip().startswith("infer()"))
    assert "calls: median " in infer and "99th percentile" in infer and "slowest" in infer, infer
    assert "all within the competition's limit of 250.0 ms a call" in infer, infer
    train = next(line for line in lines if line.strip().startswith("train()") and "call" in line)
    assert "1 call:" in train and "limit" not in train, train
    assert "local score: " in tested.stdout

    # a slow participant: every call over a tight limit, counted
    main = workspace / "main.py"
    main.write_text(main.read_text().replace("            yield float(", "            time.sleep(0.004)\n            yield float(").replace("import json", "import json\nimport time"))
    slow = hub.run("test", cwd=workspace, env=hub.env(FIXTURE_PER_CALL_TIME_LIMIT="0.002"))
    assert slow.returncode == 0, slow.output
    infer = next(line for line in slow.stdout.splitlines() if line.strip().startswith("infer()"))
    count = int(infer.split("calls:")[0].split()[-1])
    assert f"; {count} over the competition's limit of 2.0 ms a call" in infer, infer


def test_the_classic_report_gives_the_distribution_of_the_calls():
    from crunch.runner.loop import CallStats
    from crunch.runner.report import Report

    report = Report({"infer": CallStats(3, 0.6, [0.1, 0.2, 0.3]), "train": CallStats(1, 1.0, [1.0])}, 2.0, 0.1, None, None, 0)
    lines = report.lines()
    at = lines.index(next(line for line in lines if line.startswith("infer()")))
    assert lines[at + 1].strip() == "median 200.0 ms, 99th percentile 300.0 ms, slowest 300.0 ms"
    assert not any("median" in line for line in lines[at + 2 :])
