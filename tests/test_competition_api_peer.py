"""Oracle: the same competition-code calls, run against crunch-cli 13.0.1's API (in its own
environment) and against ours, give the same results: delta_message/truncate texts, smart_call's
arguments and warnings, Tracer's lines, GeneratorWrapper's values and error messages, the
domain enums, ScoredMetric, File and the leaderboard/reward objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from peers import crunch_cli_13

pytestmark = [pytest.mark.e2e]

SCRIPT = r'''
import json, logging, os, re, sys, tempfile

from crunch.api import PhaseType, SubmissionType
from crunch.container import GeneratorWrapper
from crunch.unstructured import (
    ComparedSimilarity, File, RankableProject, RankedProject, RankPass, RewardableProject, RewardedProject,
    ScoredMetric, ScoredMetricDetail,
)
from crunch.unstructured.utils import delta_message, find_file_by_path, truncate
from crunch.utils import Tracer, smart_call

out = {}

out["delta"] = [
    delta_message([1, 2, 3], [3, 2, 1]),
    delta_message([1, 2], [1]),
    delta_message([1], [1, 5]),
    delta_message([1, 2], [3]),
    delta_message(range(30), range(25, 40)),
    delta_message(["a", "b"], []),
]
out["truncate"] = [truncate([]), truncate(list(range(10))), truncate(list(range(11))), truncate(list(range(25)), 3), truncate(["x"])]

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append([record.levelname, record.getMessage()])
logger = logging.getLogger("oracle")
logger.addHandler(Keep())
logger.setLevel(logging.DEBUG)
logger.propagate = False

def train(X_train, y_train, model_directory_path):
    return [X_train, y_train, model_directory_path]
def infer(X_test, verbose=2, *args, **kwargs):
    return [X_test, verbose, list(args), sorted(kwargs)]
def keyword(*, context, loop_moon):
    return [context, loop_moon]

out["smart_call"] = [
    smart_call(train, {"X_train": 1, "y_train": 2, "model_directory_path": "m", "other": 3}, {"X_train": 9}, logger=logger),
    smart_call(infer, {"X_test": 1, "verbose": 0, "args": 1, "kwargs": 1}, logger=logger),
    smart_call(keyword, {"context": "c"}, logger=logger),
    smart_call(keyword, {"context": "c"}, logger=logger),
]
out["smart_call_logs"] = records

lines = []
tracer = Tracer(lines.append)
with tracer.log("outer"):
    for value in tracer.loop([1, 2], "item {value}"):
        pass
    for value in tracer.loop(["a"], lambda v: f"called {v}!"):
        with tracer.log("inner"):
            pass
stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? ")
out["tracer"] = [re.sub(r"took .*$", "took <duration>", stamp.sub("<start> ", line)) for line in lines]

def run(consumer, items=(1, 2, 3), expected=3, **kwargs):
    try:
        wrapper = GeneratorWrapper(iter(items), consumer, **kwargs)
        values, durations = wrapper.collect(expected)
        return ["ok", values, len(durations)]
    except Exception as error:
        return [type(error).__name__, str(error)]

def good(stream):
    yield
    for x in stream:
        yield x * 2
def not_generator(stream):
    return [1]
def first_value(stream):
    yield 5
def takes_first(stream):
    next(stream)
    yield
def takes_two(stream):
    yield
    for x in stream:
        next(stream)
        yield x
def yields_twice(stream):
    yield
    for x in stream:
        yield x
        yield x
def stops(stream):
    yield
    for x in stream:
        yield x
        return
def none_at_all(stream):
    yield

out["wrapper"] = [
    run(good, element_wrapper_factory=lambda x: x + 1, post_processor=lambda y: -y),
    run(good, expected=2),
    run(not_generator),
    run(first_value),
    run(takes_first),
    run(takes_two),
    run(yields_twice),
    run(stops),
    run(none_at_all),
    run(none_at_all, items=(), expected=0),
]

out["enums"] = [
    [p.name for p in PhaseType], [p.first_chain_height() for p in PhaseType],
    [s.name for s in SubmissionType], [r.name for r in RankPass],
]
out["scored"] = [repr(ScoredMetric(0.5)), repr(ScoredMetric(None, [ScoredMetricDetail("k", 1.0, True)]))]

folder = tempfile.mkdtemp()
with open(os.path.join(folder, "notes.md"), "w") as f:
    f.write("hello")
with open(os.path.join(folder, "model.bin"), "wb") as f:
    f.write(b"\0\1")
text_file = File.from_local(os.path.join(folder, "notes.md"), "docs/notes.md")
binary_file = File.from_local(os.path.join(folder, "model.bin"), "model.bin")
out["files"] = [
    [text_file.path, text_file.name, text_file.directory, text_file.size, text_file.text],
    [binary_file.path, binary_file.name, binary_file.directory, binary_file.size, binary_file.text],
    find_file_by_path([text_file, binary_file], "DOCS/Notes.MD").path,
]

project = RankableProject(id=1, group="g", rewardable=True)
rewardable = RewardableProject(id=2, group="h", rewardable=False)
out["projects"] = [
    project.get_metric(5), project.metrics, rewardable.get_metric(1),
    repr(RankedProject(id=1, rank=2, reward_rank=None)), repr(ComparedSimilarity(1, 2, 3, 0.5)),
    repr(RewardedProject(id=1, amount=2.5)),
]

print(json.dumps(out, default=repr))
'''


def run(python: str) -> dict:
    # one hash seed for both: a set of strings is then iterated in the same order by both
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-c", SCRIPT], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_api_behaves_as_crunch_cli_13():
    theirs = run(str(crunch_cli_13().parent / "python"))
    ours = run(sys.executable)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        assert ours[key] == theirs[key], key
