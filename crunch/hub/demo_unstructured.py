"""The seeded ``demo-unstructured`` competition: synthetic time series, some with a structural
break, in the shape of the structural-break competition, run by our own code
(``crunch/hub/competitions/demo-unstructured/scoring/``).

Files of the data release: ``X_train.parquet`` (index ``id``, ``time``; columns ``value``,
``period``), ``y_train.parquet`` (index ``id``; ``structural_breakpoint``),
``X_test.reduced.parquet`` and ``y_test.reduced.parquet`` (the local test). Private files (the
platform's test): ``X_test.parquet``, ``y_test.parquet``. Deterministic (fixed seed).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Dict, Tuple

NAME = "demo-unstructured"
METRICS = ("structural_breakpoint:roc-auc",)


def series_frames(count: int, first_id: int, rng: Any, min_length: int = 60, max_length: int = 120) -> Tuple[Any, Any]:
    """``count`` series (X indexed by id and time, y indexed by id), about half with a break."""
    import numpy as np
    import pandas as pd

    ids, times, values, periods, breaks = [], [], [], [], []
    for offset in range(count):
        series_id = first_id + offset
        length = int(rng.integers(min_length, max_length + 1))
        split = int(rng.integers(length // 3, 2 * length // 3))
        has_break = bool(rng.random() < 0.5)
        noise = rng.standard_normal(length) * 0.1
        shift = np.where(np.arange(length) >= split, rng.choice([-1.0, 1.0]) * rng.uniform(0.01, 0.1), 0.0) if has_break else 0.0
        ids.append(np.full(length, series_id, dtype=np.int64))
        times.append(np.arange(length, dtype=np.int64))
        values.append((noise + shift).astype(np.float64))
        periods.append((np.arange(length) >= split).astype(np.int64))
        breaks.append((series_id, has_break))
    index = pd.MultiIndex.from_arrays([np.concatenate(ids), np.concatenate(times)], names=["id", "time"])
    x = pd.DataFrame({"value": np.concatenate(values), "period": np.concatenate(periods)}, index=index)
    y = pd.DataFrame({"structural_breakpoint": [b for _, b in breaks]}, index=pd.Index([i for i, _ in breaks], name="id"))
    return x, y


def write_data(public: Path, private: Path, train: int = 200, test: int = 60, reduced: int = 20, seed: int = 11) -> None:
    """Write the data release into ``public`` and the platform-only files into ``private``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x_train, y_train = series_frames(train, 0, rng)
    x_test, y_test = series_frames(test, 10_000, rng)
    reduced_ids = sorted(y_test.index)[:reduced]
    public.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    x_train.to_parquet(public / "X_train.parquet")
    y_train.to_parquet(public / "y_train.parquet")
    x_test.loc[reduced_ids].to_parquet(public / "X_test.reduced.parquet")
    y_test.loc[reduced_ids].to_parquet(public / "y_test.reduced.parquet")
    x_test.to_parquet(private / "X_test.parquet")
    y_test.to_parquet(private / "y_test.parquet")


def code_folder() -> Any:
    """The competition's code folder (``scoring/``), shipped with the package."""
    return resources.files("crunch.hub") / "competitions" / NAME


def seed_demo_unstructured(store: Any, work: Path) -> Dict[str, Any]:
    """Host ``demo-unstructured`` on ``store``, building its files in ``work`` (removed after)."""
    import shutil

    from .unstructured import host_unstructured

    public, private = work / "public", work / "private"
    write_data(public, private)
    with resources.as_file(code_folder()) as code:
        summary = host_unstructured(
            store, NAME, public, code_dir=code, metrics=METRICS, private_data=private, display_name="Demo (unstructured)"
        )
    shutil.rmtree(work, ignore_errors=True)
    return summary
