"""What a fresh hub holds: the ``demo``, ``demo-tabular`` and ``demo-unstructured`` competitions, the library
whitelist and the quickstarters; and :func:`host_folder`, which hosts a folder of parquet files.

The demo data is synthetic and deterministic (a fixed random seed): the same files, the
same sha256, on every machine with the same pyarrow.

Checks served (``GET /v1/competitions/{c}/checks``), by function name:

``COLUMNS_NAME``
    the prediction has the columns of ``example_prediction``;
``NANS``
    no NaN or infinite value;
``IDS``
    the ids of the prediction are those of ``example_prediction`` (scope ``KEY``: per moon);
``MOONS``
    the moons of the prediction are those of ``example_prediction``;
``VALUES_BETWEEN``
    every prediction column within ``parameters.min`` .. ``parameters.max``;
``CONSTANTS``
    a prediction column is not one constant value (scope ``KEY``).
"""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .store import Store, sha256_file

SEED_VERSION = "3"
DATA_KEYS = ("X_train", "y_train", "X_test", "y_test", "example_prediction")

LIBRARIES: List[Tuple[str, List[str]]] = [
    ("scikit-learn", ["sklearn"]),
    ("pandas", []),
    ("numpy", []),
    ("scipy", []),
    ("lightgbm", []),
    ("xgboost", []),
    ("catboost", []),
    ("torch", []),
    ("torchvision", []),
    ("tensorflow", ["tf"]),
    ("keras", []),
    ("joblib", []),
    ("statsmodels", []),
    ("polars", []),
    ("pyarrow", []),
    ("matplotlib", []),
    ("seaborn", []),
    ("tqdm", []),
    ("optuna", []),
    ("numba", []),
    ("transformers", []),
    ("pillow", ["PIL"]),
    ("opencv-python", ["cv2"]),
    ("pyyaml", ["yaml"]),
    ("python-dateutil", ["dateutil"]),
    ("typing-extensions", ["typing_extensions"]),
    ("crunch-cli", ["crunch"]),
    ("requests", []),
    ("networkx", []),
    ("sktime", []),
]


def _checks(timeseries: bool, bounds: Optional[Tuple[float, float]] = (-1.0, 1.0)) -> List[Dict[str, Any]]:
    checks: List[Dict[str, Any]] = [
        {"function": "COLUMNS_NAME", "scope": "ROOT", "order": 1, "parameters": {}},
        {"function": "NANS", "scope": "ROOT", "order": 2, "parameters": {}},
    ]
    if timeseries:
        checks.append({"function": "MOONS", "scope": "ROOT", "order": 3, "parameters": {}})
    checks.append({"function": "IDS", "scope": "KEY" if timeseries else "ROOT", "order": 4, "parameters": {}})
    if bounds is not None:
        checks.append({"function": "VALUES_BETWEEN", "scope": "ROOT", "order": 5, "parameters": {"min": bounds[0], "max": bounds[1]}})
    checks.append({"function": "CONSTANTS", "scope": "KEY" if timeseries else "ROOT", "order": 6, "parameters": {}})
    return checks


def _write_frames(folder: Path, frames: Dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, frame in frames.items():
        frame.to_parquet(folder / f"{key}.parquet", index=False)


def _describe(store: Store, folder: Path, keys: Sequence[str]) -> Dict[str, Dict[str, Any]]:
    entries: Dict[str, Dict[str, Any]] = {}
    for key in keys:
        path = folder / f"{key}.parquet"
        if not path.is_file():
            continue
        entries[key] = {
            "name": path.name,
            "path": path.relative_to(store.files).as_posix(),
            "size": path.stat().st_size,
            "sha256": sha256_file(path),
        }
    return entries


def timeseries_frames(rows: int, train_moons: int, test_moons: int, features: int, seed: int = 42, first_train_moon: int = 0) -> Dict[str, Any]:
    """X_train, y_train, X_test, y_test, example_prediction of a synthetic moon-based data set."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def block(moons: List[int]) -> Tuple[Any, Any]:
        count = rows * len(moons)
        moon = np.repeat(np.array(moons, dtype=np.int64), rows)
        index = np.tile(np.arange(rows, dtype=np.int64), len(moons))
        x = pd.DataFrame(
            rng.standard_normal((count, features), dtype=np.float32), columns=[f"feature_{i}" for i in range(features)]
        )
        x.insert(0, "moon", moon)
        x.insert(0, "id", [f"{m}_{i}" for m, i in zip(moon, index)])
        noise = rng.standard_normal(count) * 0.01
        y = pd.DataFrame({"id": x["id"], "moon": moon, "target": (x["feature_0"] * 0.1 + noise).astype(np.float32)})
        return x, y

    train = list(range(first_train_moon, first_train_moon + train_moons))
    first_test = first_train_moon + train_moons
    test = list(range(first_test, first_test + test_moons))
    x_train, y_train = block(train)
    x_test, y_test = block(test)
    example = pd.DataFrame({"id": x_test["id"], "moon": x_test["moon"], "prediction": np.float32(0.5)})
    return {"X_train": x_train, "y_train": y_train, "X_test": x_test, "y_test": y_test, "example_prediction": example}


def tabular_frames(train_rows: int, test_rows: int, features: int, seed: int = 7) -> Dict[str, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)

    def block(start: int, count: int) -> Tuple[Any, Any]:
        x = pd.DataFrame(rng.standard_normal((count, features), dtype=np.float32), columns=[f"feature_{i}" for i in range(features)])
        x.insert(0, "id", np.arange(start, start + count, dtype=np.int64))
        target = np.tanh(x["feature_0"] * 0.5 - x["feature_1"] * 0.25) + rng.standard_normal(count) * 0.05
        y = pd.DataFrame({"id": x["id"], "target": np.clip(target, -1, 1).astype(np.float32)})
        return x, y

    x_train, y_train = block(0, train_rows)
    x_test, y_test = block(train_rows, test_rows)
    example = pd.DataFrame({"id": x_test["id"], "prediction": np.float32(0.0)})
    return {"X_train": x_train, "y_train": y_train, "X_test": x_test, "y_test": y_test, "example_prediction": example}


def _install_quickstarter(
    store: Store, competition_id: int, competition: str, main_resource: str, title: str = "A linear model (numpy, pandas)"
) -> None:
    folder = store.files / "quickstarters" / competition / "default"
    folder.mkdir(parents=True, exist_ok=True)
    package = resources.files("crunch.hub") / "quickstarter"
    (folder / "main.py").write_bytes((package / main_resource).read_bytes())
    (folder / "requirements.txt").write_bytes((package / "requirements.txt").read_bytes())
    files = [
        {"name": name, "path": (folder / name).relative_to(store.files).as_posix()} for name in ("main.py", "requirements.txt")
    ]
    store.add_quickstarter(competition_id, "default", title, files)


def seed_demo(store: Store) -> None:
    folder = store.files / "competitions" / "demo"
    _write_frames(folder / "DEFAULT", timeseries_frames(rows=200, train_moons=30, test_moons=5, features=10, seed=42))
    _write_frames(folder / "SMALL", timeseries_frames(rows=40, train_moons=10, test_moons=5, features=10, seed=43, first_train_moon=20))
    splits: List[Dict[str, Any]] = [{"key": m, "group": "TRAIN", "reduced": None} for m in range(30)]
    splits += [{"key": m, "group": "TEST", "reduced": "X"} for m in range(30, 35)]
    competition_id = store.add_competition(
        name="demo",
        display_name="Demo (timeseries)",
        format="TIMESERIES",
        checks=_checks(True),
        embargo=2,
        number_of_features=10,
        column_names={"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}},
        splits=splits,
        files={v: _describe(store, folder / v, DATA_KEYS) for v in ("DEFAULT", "SMALL")},
        replace=True,
    )
    _install_quickstarter(store, competition_id, "demo", "demo-main.py")


def seed_tabular(store: Store) -> None:
    folder = store.files / "competitions" / "demo-tabular"
    _write_frames(folder / "DEFAULT", tabular_frames(train_rows=2000, test_rows=500, features=10))
    competition_id = store.add_competition(
        name="demo-tabular",
        display_name="Demo (tabular)",
        format="REGULAR",
        checks=_checks(False),
        embargo=0,
        number_of_features=10,
        column_names={"id": "id", "moon": None, "targets": {"target": {"input": "target", "output": "prediction"}}},
        splits=[{"key": 0, "group": "TRAIN", "reduced": None}, {"key": 1, "group": "TEST", "reduced": None}],
        files={"DEFAULT": _describe(store, folder / "DEFAULT", DATA_KEYS)},
        replace=True,
    )
    _install_quickstarter(store, competition_id, "demo-tabular", "demo-tabular-main.py")


def seed_unstructured(store: Store) -> None:
    from .demo_unstructured import NAME, seed_demo_unstructured

    summary = seed_demo_unstructured(store, store.root / "seed-work")
    _install_quickstarter(store, summary["id"], NAME, "demo-unstructured-main.py", "A gap between the two periods (numpy, pandas)")


def seed_libraries(store: Store) -> None:
    for name, aliases in LIBRARIES:
        store.add_library(name, aliases)
    from ..core.packages import stdlib_names

    for name in sorted(stdlib_names()):
        if not name.startswith("_"):
            store.add_library(name, [], standard=True)


def seed_if_needed(store: Store) -> bool:
    """Seed a fresh root; returns whether it did. A restart keeps the existing state."""
    if store.meta("seeded") == SEED_VERSION:
        return False
    from filelock import FileLock

    with FileLock(str(store.root / "seed.lock")):  # `hub serve` and `hub token` may start together
        if store.meta("seeded") == SEED_VERSION:
            return False
        store.secret  # noqa: B018 - creates the signing secret
        seed_libraries(store)
        seed_demo(store)
        seed_tabular(store)
        seed_unstructured(store)
        store.set_meta("seeded", SEED_VERSION)
    return True


# -- hosting a folder -------------------------------------------------------------------------


def _parquet_columns(path: Path) -> List[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _column_values(path: Path, column: str) -> List[Any]:
    """The distinct values of one column, read row group by row group."""
    import pyarrow.parquet as pq

    found: Dict[Any, None] = {}
    parquet = pq.ParquetFile(path)
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=[column])
        for value in table.column(0).unique().to_pylist():
            found.setdefault(value, None)
    return list(found)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def host_folder(
    store: Store,
    name: str,
    data_dir: os.PathLike | str,
    *,
    timeseries: bool = False,
    embargo: int = 0,
    id_column: str = "id",
    moon_column: str = "moon",
    targets: Sequence[str] = (),
    display_name: Optional[str] = None,
) -> Dict[str, Any]:
    """Host ``data_dir``'s parquet files as competition ``name`` (replacing one of that name).

    Files are hard-linked (or copied) into the hub's folder, hashed while streamed, never
    loaded whole. Returns a short summary.
    """
    source = Path(data_dir)
    missing = [k for k in ("X_train", "y_train", "X_test", "example_prediction") if not (source / f"{k}.parquet").is_file()]
    if missing:
        raise ValueError(f"{source} has no {', '.join(k + '.parquet' for k in missing)}")
    pairs: Dict[str, Dict[str, str]] = {}
    for spec in targets or ("target:prediction",):
        if ":" not in spec:
            raise ValueError(f"--target {spec!r}: expected INPUT:OUTPUT, e.g. target:prediction")
        input_, output = (part.strip() for part in spec.split(":", 1))
        if not input_ or not output:
            raise ValueError(f"--target {spec!r}: expected INPUT:OUTPUT, e.g. target:prediction")
        pairs[input_] = {"input": input_, "output": output}
    columns = _parquet_columns(source / "X_train.parquet")
    if id_column not in columns:
        raise ValueError(f"X_train.parquet has no id column {id_column!r} (see --id-column)")
    if timeseries and moon_column not in columns:
        raise ValueError(f"X_train.parquet has no moon column {moon_column!r} (see --moon-column)")
    features = [c for c in columns if c not in (id_column, moon_column if timeseries else None)]
    folder = store.files / "competitions" / name / "DEFAULT"
    if folder.exists():
        shutil.rmtree(folder)
    for key in DATA_KEYS:
        path = source / f"{key}.parquet"
        if path.is_file():
            _link_or_copy(path, folder / path.name)
    if timeseries:
        train_moons = sorted(_column_values(source / "X_train.parquet", moon_column))
        test_moons = sorted(_column_values(source / "X_test.parquet", moon_column))
        splits = [{"key": m, "group": "TRAIN", "reduced": None} for m in train_moons if m not in set(test_moons)]
        splits += [{"key": m, "group": "TEST", "reduced": "X"} for m in test_moons]
        key_type = "INTEGER" if all(isinstance(m, int) for m in test_moons) else "STRING"
    else:
        splits = [{"key": 0, "group": "TRAIN", "reduced": None}, {"key": 1, "group": "TEST", "reduced": None}]
        key_type = "INTEGER"
    competition_id = store.add_competition(
        name=name,
        display_name=display_name or name,
        format="TIMESERIES" if timeseries else "REGULAR",
        checks=_checks(timeseries, bounds=None),
        embargo=embargo,
        number_of_features=len(features),
        column_names={"id": id_column, "moon": moon_column if timeseries else None, "targets": pairs},
        splits=splits,
        files={"DEFAULT": _describe(store, folder, DATA_KEYS)},
        split_key_type=key_type,
        replace=True,
    )
    return {
        "id": competition_id,
        "name": name,
        "features": len(features),
        "testKeys": [s["key"] for s in splits if s["group"] == "TEST"],
        "files": sorted(p.name for p in folder.iterdir()),
    }
