"""Small workspaces for the runner's tests: project.json, caches and parquet data."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pandas as pd

from crunch.project.workspace import (
    CACHE_CHECKS,
    CACHE_COMPETITION,
    CACHE_DATA_RELEASE,
    CACHE_LIBRARIES,
    ProjectInfo,
    Workspace,
)

MAIN_PY = '''
import os

import pandas as pd

STATE = {}


def train(X_train, y_train, model_directory_path):
    STATE["mean"] = float(y_train["target"].mean())
    with open(os.path.join(model_directory_path, "model.txt"), "w") as handle:
        handle.write(str(STATE["mean"]))


def infer(X_test, model_directory_path, id_column_name, moon_column_name):
    with open(os.path.join(model_directory_path, "model.txt")) as handle:
        mean = float(handle.read())
    return pd.DataFrame({
        id_column_name: X_test[id_column_name],
        moon_column_name: X_test[moon_column_name],
        "prediction": X_test["feature_0"] * 0.1 + mean,
    })
'''

REGULAR_MAIN_PY = '''
import pandas as pd

STATE = {}


def train(X_train, y_train):
    STATE["mean"] = float(y_train["target"].mean())


def infer(X_test):
    return pd.DataFrame({"id": X_test["id"], "prediction": X_test["feature_0"] * 0.1 + STATE["mean"]})
'''


def write_data(folder: Path, rows: int = 20, train_moons: int = 12, test_moons: int = 4, features: int = 3, shuffle: bool = False, seed: int = 7, timeseries: bool = True) -> Dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def block(moons: List[int]):
        n = rows * len(moons)
        moon = np.repeat(np.array(moons, dtype=np.int64), rows)
        ids = np.tile(np.arange(rows, dtype=np.int64), len(moons))
        x = pd.DataFrame(rng.standard_normal((n, features)).astype(np.float32), columns=[f"feature_{i}" for i in range(features)])
        x.insert(0, "moon", moon)
        x.insert(0, "id", [f"{m}_{i}" for m, i in zip(moon, ids)])
        y = pd.DataFrame({"id": x["id"], "moon": moon, "target": (x["feature_0"] * 0.1).astype(np.float32)})
        if shuffle:
            order = rng.permutation(n)
            x, y = x.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True)
        return x, y

    train = list(range(train_moons))
    test = list(range(train_moons, train_moons + test_moons))
    x_train, y_train = block(train)
    x_test, y_test = block(test)
    x_train.to_parquet(folder / "X_train.parquet", index=False)
    y_train.to_parquet(folder / "y_train.parquet", index=False)
    x_test.to_parquet(folder / "X_test.parquet", index=False)
    y_test.to_parquet(folder / "y_test.parquet", index=False)
    example = pd.DataFrame({"id": x_test["id"], "moon": x_test["moon"], "prediction": 0.5})
    if not timeseries:
        example = example.drop(columns=["moon"])
    example.to_parquet(folder / "example_prediction.parquet", index=False)
    return {"train": train, "test": test, "features": features}


def data_release(folder: Path, train: List[int], test: List[int], embargo: int, features: int, splits: bool = True) -> Dict[str, Any]:
    files = {}
    for key in ("X_train", "y_train", "X_test", "y_test", "example_prediction"):
        path = folder / f"{key}.parquet"
        files[key] = {"name": path.name, "url": f"http://127.0.0.1:9/{path.name}", "size": path.stat().st_size, "signed": False, "compressed": False}
    return {
        "id": 1,
        "number": 1,
        "name": "release",
        "embargo": embargo,
        "numberOfFeatures": features,
        "hash": None,
        "columnNames": {"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}},
        "splits": ([{"key": k, "group": "TRAIN"} for k in train] + [{"key": k, "group": "TEST", "reduced": "X"} for k in test]) if splits else [],
        "dataFiles": files,
    }


def make_workspace(
    root: Path,
    *,
    main: Optional[str] = MAIN_PY,
    rows: int = 20,
    train_moons: int = 12,
    test_moons: int = 4,
    features: int = 3,
    embargo: int = 2,
    timeseries: bool = True,
    checks: Optional[List[Dict[str, Any]]] = None,
    libraries: Optional[List[str]] = None,
    shuffle: bool = False,
    splits: bool = True,
) -> Workspace:
    workspace = Workspace(root)
    workspace.create_layout()
    workspace.write_project(ProjectInfo("demo", "me-project", "me", api_base_url="http://127.0.0.1:9/"))
    meta = write_data(workspace.data_dir, rows, train_moons, test_moons, features, shuffle=shuffle, timeseries=timeseries)
    workspace.write_cache(CACHE_DATA_RELEASE, data_release(workspace.data_dir, meta["train"], meta["test"], embargo, features, splits and timeseries))
    workspace.write_cache(CACHE_COMPETITION, {"id": 1, "name": "demo", "displayName": "Demo", "format": "TIMESERIES" if timeseries else "REGULAR", "status": "OPEN"})
    if checks is not None:
        workspace.write_cache(CACHE_CHECKS, checks)
    if libraries is not None:
        workspace.write_cache(CACHE_LIBRARIES, [{"name": name, "aliases": [], "standard": False, "language": "PYTHON"} for name in libraries])
    if main is not None:
        (root / "main.py").write_text(textwrap.dedent(main), encoding="utf-8")
    return workspace


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
