"""The hub's UNSTRUCTURED competitions: hosting (``hub add-competition --unstructured``), the data
release of any files, the code at the public cache's layout, targets and metrics as crunch-cli 13
reads them, private files kept apart, and the client's typed targets and metrics."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.test import Client

from crunch.hub.app import HubApp
from crunch.hub.demo_unstructured import write_data
from crunch.hub.faults import Faults
from crunch.hub.seed import seed_if_needed
from crunch.hub.store import Store
from crunch.hub.unstructured import check_inputs, host_unstructured, parse_metrics

RUNNER = "def run(context):\n    context.execute(command='infer')\n"


def make_code(folder: Path, **files: str) -> Path:
    scoring = folder / "scoring"
    scoring.mkdir(parents=True)
    for name, text in {"runner.py": RUNNER, "scoring.py": "def score():\n    return {}\n", **files}.items():
        (scoring / name).write_text(text)
    return folder


def make_data(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "X_test.reduced.parquet").write_bytes(b"PAR1 reduced")
    (folder / "cells.h5ad").write_bytes(b"\x89HDF" + b"\x00" * 100)
    (folder / "sub").mkdir()
    (folder / "sub" / "train.csv").write_text("id,value\n1,2\n")
    return folder


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("hub-unstructured"))
    seed_if_needed(store)
    return HubApp(store, Faults())


@pytest.fixture
def client(app):
    return Client(app)


def test_parse_metrics():
    targets = parse_metrics(["y:roc-auc", "y:accuracy", "z:mse"])
    assert [(t["name"], t["primary"], [m["name"] for m in t["metrics"]]) for t in targets] == [
        ("y", True, ["roc-auc", "accuracy"]),
        ("z", False, ["mse"]),
    ]
    assert parse_metrics([]) == []
    for bad in ("y", ":m", "y:", "y:m:n"):
        with pytest.raises(ValueError, match="TARGET:METRIC"):
            parse_metrics([bad])
    with pytest.raises(ValueError, match="given twice"):
        parse_metrics(["y:m", "y:m"])


def test_host_any_files_code_targets_and_private(app, client, tmp_path):
    data = make_data(tmp_path / "data")
    code = make_code(tmp_path / "code", **{"submission.py": "def check():\n    pass\n"})
    private = tmp_path / "private"
    private.mkdir()
    (private / "y_test.parquet").write_bytes(b"secret truth")
    summary = host_unstructured(app.store, "cells", data, code_dir=code, metrics=["y:mse", "y:spearman"], private_data=private)
    assert summary["files"] == ["X_test.reduced.parquet", "cells.h5ad", "sub/train.csv"]
    assert summary["code"] == ["runner.py", "scoring.py", "submission.py"] and summary["private"] == 1

    competition = client.get("/v1/competitions/cells").json
    assert competition["format"] == "UNSTRUCTURED"
    release = client.get("/v2/competitions/cells/rounds/@current/phases/submission/data-release").json
    assert sorted(release["dataFiles"]) == summary["files"]
    served = {}
    for key, entry in release["dataFiles"].items():
        assert entry["name"] == key
        parts = urlsplit(entry["url"])
        body = client.get(parts.path, query_string=parts.query)
        assert body.status_code == 200 and len(body.data) == entry["size"]
        assert hashlib.sha256(body.data).hexdigest() == entry["sha256"]
        served[key] = body.data
    assert served["sub/train.csv"] == (data / "sub" / "train.csv").read_bytes()
    assert b"secret truth" not in b"".join(served.values())
    served_folder = [p for p in app.store.files.rglob("*") if p.is_file()]
    assert all(p.read_bytes() != b"secret truth" for p in served_folder)  # nothing private where files are served
    assert (app.store.private_dir("cells") / "y_test.parquet").read_bytes() == b"secret truth"

    runner = client.get("/competitions/cells/scoring/runner.py")
    assert runner.status_code == 200 and runner.data.decode() == RUNNER
    assert client.get("/competitions/cells/scoring/runner.py?reference=main").data.decode() == RUNNER
    assert client.get("/competitions/cells/scoring/leaderboard.py").status_code == 404
    assert client.get("/competitions/cells/scoring/../../DEFAULT/cells.h5ad").status_code == 404
    assert client.get("/competitions/cells/scoring/%2e%2e/%2e%2e/DEFAULT/cells.h5ad").status_code == 404
    assert client.get("/competitions/nope/scoring/runner.py").status_code == 404

    targets = client.get(f"/v1/competitions/{competition['id']}/targets").json
    assert [(t["name"], t["primary"], t["virtual"]) for t in targets] == [("y", True, False)]
    assert set(targets[0]) == {"id", "name", "displayName", "virtual", "primary"}
    assert client.get("/v1/competitions/cells/targets", query_string={"name": "zz"}).json == []
    assert client.get("/v1/competitions/cells/targets/y").json["id"] == targets[0]["id"]
    assert client.get("/v1/competitions/cells/targets/zz").status_code == 404
    metrics = client.get("/v1/competitions/cells/targets/y/metrics").json
    assert [m["name"] for m in metrics] == ["mse", "spearman"]
    assert set(metrics[0]) == {"id", "name", "displayName", "unit", "weight", "score", "multiplier"}
    assert set(metrics[0]["unit"]) == {"prefix", "scale", "suffix"}
    assert client.get("/v1/competitions/cells/targets/y/metrics/spearman").json["id"] == metrics[1]["id"]
    everything = client.get(f"/v1/competitions/{competition['id']}/metrics").json
    assert [(m["name"], m["target"]["name"]) for m in everything] == [("mse", "y"), ("spearman", "y")]

    # hosting again replaces: code, data, targets and the private files
    (code / "scoring" / "submission.py").unlink()
    (data / "cells.h5ad").unlink()
    summary = host_unstructured(app.store, "cells", data, code_dir=code / "scoring", metrics=["w:acc"])
    assert summary["files"] == ["X_test.reduced.parquet", "sub/train.csv"] and summary["code"] == ["runner.py", "scoring.py"]
    assert client.get("/competitions/cells/scoring/submission.py").status_code == 404
    assert [m["target"]["name"] for m in client.get("/v1/competitions/cells/metrics").json] == ["w"]
    assert not app.store.private_dir("cells").exists()


def test_quickstarters_of_a_competition_folder(app, client, tmp_path):
    code = make_code(tmp_path / "structural-break")
    baseline = code / "quickstarters" / "baseline"
    (baseline / "images").mkdir(parents=True)
    (baseline / "baseline.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (baseline / "baseline.kaggle.ipynb").write_text("{}")
    (baseline / "images" / "example.png").write_bytes(b"png")
    (baseline / "quickstarter.json").write_text(json.dumps({"title": "Baseline", "notebook": True, "entrypoint": "baseline.ipynb"}))
    (code / "quickstarters" / "no-metadata").mkdir()
    summary = host_unstructured(app.store, "with-quickstarters", make_data(tmp_path / "data"), code_dir=code)
    assert summary["quickstarters"] == ["baseline"]
    assert summary["files"] == ["X_test.reduced.parquet", "cells.h5ad", "sub/train.csv"]
    listed = client.get("/v2/competitions/with-quickstarters/quickstarters").json
    assert [(q["name"], q["title"], q["notebook"]) for q in listed] == [("baseline", "Baseline", True)]
    assert "files" not in listed[0]  # the platform lists quickstarters without their files: one quickstarter's answer has them
    one = client.get("/v2/competitions/with-quickstarters/quickstarters/baseline").json
    assert [f["name"] for f in one["files"]] == ["baseline.ipynb"]
    parts = urlsplit(one["files"][0]["url"])
    assert client.get(parts.path, query_string=parts.query).data == (baseline / "baseline.ipynb").read_bytes()
    # the scoring folder given directly has no quickstarters; hosting again drops the old ones
    host_unstructured(app.store, "with-quickstarters", tmp_path / "data", code_dir=code / "scoring")
    assert client.get("/v2/competitions/with-quickstarters/quickstarters").json == []
    (baseline / "quickstarter.json").write_text(json.dumps({"title": "Baseline", "entrypoint": "missing.ipynb"}))
    with pytest.raises(ValueError, match="entrypoint"):
        check_inputs(tmp_path / "data", code)
    (baseline / "quickstarter.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        check_inputs(tmp_path / "data", code)


def test_code_is_copied_not_linked(app, client, tmp_path):
    code = make_code(tmp_path / "code")
    host_unstructured(app.store, "copied", make_data(tmp_path / "data"), code_dir=code)
    (code / "scoring" / "runner.py").write_text("changed = True\n")
    assert client.get("/competitions/copied/scoring/runner.py").data.decode() == RUNNER


@pytest.mark.parametrize(
    "case, message",
    [
        ("no runner", "no runner.py"),
        ("syntax", "scoring.py line 1 does not compile"),
        ("empty data", "holds no file"),
        ("bad metric", "TARGET:METRIC"),
        ("private is a file", "not a folder"),
    ],
)
def test_check_inputs_refuses(tmp_path, case, message):
    data = make_data(tmp_path / "data")
    code = make_code(tmp_path / "code")
    metrics, private = ["y:m"], None
    if case == "no runner":
        (code / "scoring" / "runner.py").unlink()
    elif case == "syntax":
        (code / "scoring" / "scoring.py").write_text("def score(:\n")
    elif case == "empty data":
        data = tmp_path / "empty"
        data.mkdir()
    elif case == "bad metric":
        metrics = ["y"]
    elif case == "private is a file":
        private = data / "cells.h5ad"
    with pytest.raises(ValueError, match=message):
        check_inputs(data, code, metrics, private)


def test_seeded_demo_unstructured(app, client):
    competition = client.get("/v1/competitions/demo-unstructured").json
    assert competition["format"] == "UNSTRUCTURED"
    release = client.get("/v2/competitions/demo-unstructured/rounds/@current/phases/submission/data-release").json
    assert sorted(release["dataFiles"]) == ["X_test.reduced.parquet", "X_train.parquet", "y_test.reduced.parquet", "y_train.parquet"]
    for name in ("runner.py", "scoring.py", "submission.py"):
        assert client.get(f"/competitions/demo-unstructured/scoring/{name}").status_code == 200
    assert sorted(p.name for p in app.store.private_dir("demo-unstructured").iterdir()) == ["X_test.parquet", "y_test.parquet"]
    metrics = client.get("/v1/competitions/demo-unstructured/metrics").json
    assert [(m["target"]["name"], m["name"]) for m in metrics] == [("structural_breakpoint", "roc-auc")]
    [listed] = client.get("/v2/competitions/demo-unstructured/quickstarters").json
    one = client.get(f"/v2/competitions/demo-unstructured/quickstarters/{listed['name']}").json
    assert [f["name"] for f in one["files"]] == ["main.py", "requirements.txt"]


def test_demo_unstructured_data_shape(tmp_path):
    import pandas as pd

    write_data(tmp_path / "public", tmp_path / "private", train=12, test=8, reduced=3)
    x_train = pd.read_parquet(tmp_path / "public" / "X_train.parquet")
    y_train = pd.read_parquet(tmp_path / "public" / "y_train.parquet")
    assert list(x_train.index.names) == ["id", "time"] and list(x_train.columns) == ["value", "period"]
    assert sorted(set(x_train.index.get_level_values("id"))) == sorted(y_train.index) and len(y_train) == 12
    assert y_train["structural_breakpoint"].dtype == bool
    reduced = pd.read_parquet(tmp_path / "public" / "y_test.reduced.parquet")
    full = pd.read_parquet(tmp_path / "private" / "y_test.parquet")
    assert len(reduced) == 3 and set(reduced.index) <= set(full.index) and len(full) == 8
    write_data(tmp_path / "again", tmp_path / "again-private", train=12, test=8, reduced=3)
    assert (tmp_path / "again" / "X_train.parquet").read_bytes() == (tmp_path / "public" / "X_train.parquet").read_bytes()


# -- end to end: the command and the client ---------------------------------------------------


@pytest.mark.e2e
def test_add_competition_unstructured_and_client(hub, crunch, tmp_path):
    data = make_data(tmp_path / "data")
    code = make_code(tmp_path / "code")
    private = tmp_path / "private"
    private.mkdir()
    (private / "y_test.parquet").write_bytes(b"truth")
    result = crunch(
        "hub", "add-competition", "cells", data, "--root", hub.root, "--unstructured", "--code", code,
        "--metric", "y:mse", "--metric", "y:spearman", "--metric", "z:accuracy", "--private-data", private,
    )
    assert result.returncode == 0, result.stderr
    assert "UNSTRUCTURED, 3 data file(s)" in result.stdout and "y:mse, y:spearman, z:accuracy" in result.stdout
    client = hub.client()
    assert client.get_competition("cells").format.value == "UNSTRUCTURED"
    targets = client.get_targets("cells")
    assert [(t.name, t.primary, [m.name for m in t.metrics]) for t in targets] == [
        ("y", True, ["mse", "spearman"]),
        ("z", False, ["accuracy"]),
    ]
    assert all(m.target is t for t in targets for m in t.metrics)
    metrics = client.get_metrics("cells")
    assert [(m.name, m.target.name) for m in metrics] == [("mse", "y"), ("spearman", "y"), ("accuracy", "z")]
    grouped = client.get_target_and_metrics("cells")
    assert [(t.name, [m.id for m in ms]) for t, ms in grouped] == [("y", [metrics[0].id, metrics[1].id]), ("z", [metrics[2].id])]
    release = client.get_data_release("cells")
    assert sorted(release.data_files) == ["X_test.reduced.parquet", "cells.h5ad", "sub/train.csv"]
    # a classic competition: the targets of its data release, each ranked by one "score" metric
    assert [(t.name, t.primary, [m.name for m in t.metrics]) for t in client.get_targets("demo")] == [("target", True, ["score"])]


@pytest.mark.e2e
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--unstructured"], "--unstructured needs --code"),
        (["--unstructured", "--code", "{empty}"], "no runner.py"),
        (["--unstructured", "--code", "{code}", "--metric", "nocolon"], "TARGET:METRIC"),
        (["--code", "{code}"], "only go with --unstructured"),
        (["--unstructured", "--code", "{broken}"], "does not compile"),
        (["--unstructured", "--code", "{code}", "--timeseries", "--target", "a:b"], "--timeseries, --target describe the columns"),
    ],
)
def test_add_competition_unstructured_refusals_create_nothing(crunch, tmp_path, extra, message):
    data = make_data(tmp_path / "data")
    code = make_code(tmp_path / "code")
    broken = make_code(tmp_path / "broken", **{"scoring.py": "def score(:\n"})
    empty = tmp_path / "empty"
    empty.mkdir()
    root = tmp_path / "root"
    args = [a.format(code=code, empty=empty, broken=broken) for a in extra]
    result = crunch("hub", "add-competition", "cells", data, "--root", root, *args)
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert not root.exists()


def test_hub_json_shapes_are_what_crunch_cli_13_decodes(client):
    """13.0.1 decodes these answers with its dataclasses: every field it declares is present."""
    metric = client.get("/v1/competitions/demo-unstructured/metrics").json[0]
    assert {"id", "name", "displayName", "unit", "weight", "score", "multiplier"} <= set(metric)
    assert isinstance(metric["score"], bool) and isinstance(metric["weight"], int) and isinstance(metric["multiplier"], float)
    target = metric["target"]
    assert {"id", "name", "displayName", "virtual", "primary"} <= set(target)
    json.dumps(metric)
