"""Reading the data once, sorted by moon, and handing out slices that cannot be corrupted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_runner_support import write_data

from crunch.runner.data import MoonFrame, file_moons, read_frame


@pytest.fixture
def data(tmp_path):
    write_data(tmp_path, rows=5, train_moons=6, test_moons=3, features=2, shuffle=True)
    return tmp_path


def test_read_frame_matches_pandas_and_sorts(data):
    paths = [data / "X_train.parquet", data / "X_test.parquet"]
    frame = read_frame(paths, sort_by="moon")
    reference = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    assert list(frame.columns) == list(reference.columns)
    assert frame.dtypes.to_dict() == reference.dtypes.to_dict()
    assert isinstance(frame.index, pd.RangeIndex) and len(frame) == len(reference) == 45
    assert frame["moon"].is_monotonic_increasing
    expected = reference.sort_values("moon", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)


def test_read_frame_keeps_order_without_sort_and_fills_missing_columns(tmp_path):
    pd.DataFrame({"a": [3, 1], "b": [1.0, 2.0]}).to_parquet(tmp_path / "one.parquet", index=False)
    pd.DataFrame({"a": [2]}).to_parquet(tmp_path / "two.parquet", index=False)
    frame = read_frame([tmp_path / "one.parquet", tmp_path / "two.parquet"])
    assert frame["a"].tolist() == [3, 1, 2]
    assert frame["b"].iloc[:2].tolist() == [1.0, 2.0] and np.isnan(frame["b"].iloc[2])


def test_read_frame_drops_a_stored_index(tmp_path):
    pd.DataFrame({"a": [1, 2]}, index=pd.Index(["x", "y"], name="key")).to_parquet(tmp_path / "i.parquet")
    frame = read_frame([tmp_path / "i.parquet"])
    assert list(frame.columns) == ["a"] and list(frame.index) == [0, 1]


@pytest.mark.parametrize("lazy", [True, False])
def test_slices_have_fresh_index_and_writes_do_not_leak(data, lazy):
    moons = MoonFrame.read([data / "X_train.parquet", data / "X_test.parquet"], "moon")
    moons.lazy_copies = lazy and moons.lazy_copies
    before = moons.frame.copy()

    train = moons.before(4)
    assert sorted(set(train["moon"])) == [0, 1, 2, 3]
    assert list(train.index) == list(range(20))
    current = moons.at(7)
    assert set(current["moon"]) == {7} and list(current.index) == list(range(5))
    assert len(moons.at(100)) == 0 and len(moons.before(-1)) == 0

    train["feature_0"] = 0.0
    train.loc[0, "feature_1"] = 1e9
    current["moon"] += 1
    del current["id"]
    pd.testing.assert_frame_equal(moons.frame, before)
    assert set(moons.at(7)["moon"]) == {7}


def test_file_moons(data):
    assert file_moons(data / "X_test.parquet", "moon") == [6, 7, 8]
