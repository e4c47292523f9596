"""Each check fails on a crafted bad prediction, naming the check, the column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crunch.api.models import Check, ColumnNames
from crunch.exceptions import DocumentError
from crunch.runner.checks import default_checks, parse_checks, run_checks

COLUMNS = ColumnNames.from_dict({"id": "id", "moon": "moon", "targets": {"target": {"input": "target", "output": "prediction"}}})


def example() -> pd.DataFrame:
    moons = np.repeat([10, 11, 12], 4)
    ids = [f"{m}_{i}" for m, i in zip(moons, np.tile(range(4), 3))]
    return pd.DataFrame({"id": ids, "moon": moons, "prediction": 0.5})


def good() -> pd.DataFrame:
    frame = example()
    frame["prediction"] = np.linspace(0.1, 0.9, len(frame))
    return frame


def check(function, scope="ROOT", **parameters):
    return Check(function, scope, 0, parameters)


def failures_of(prediction, checks, timeseries=True, warnings=None):
    sink = [] if warnings is None else warnings
    return run_checks(checks, prediction, example(), COLUMNS, timeseries, sink.append)


def test_a_good_prediction_passes_every_standard_check():
    assert failures_of(good(), default_checks(True)) == []
    assert [c.function for c in default_checks(True)] == ["COLUMNS_NAME", "NANS", "IDS", "MOONS", "CONSTANTS"]
    assert "MOONS" not in [c.function for c in default_checks(False)]


def test_columns_name():
    bad = good().rename(columns={"prediction": "pred"})
    [failure] = failures_of(bad, [check("COLUMNS_NAME")])
    text = failure.format()
    assert failure.check == "COLUMNS_NAME" and "missing `prediction`" in text and "extra `pred`" in text


def test_missing_column_is_reported_even_without_the_columns_check():
    bad = good().drop(columns=["moon"])
    failures = failures_of(bad, [check("IDS"), check("CONSTANTS", "KEY")])
    assert [f.check for f in failures] == ["COLUMNS_NAME"]


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "infinite"), (-np.inf, "infinite")])
def test_nans(value, word):
    bad = good()
    bad.loc[5, "prediction"] = value
    [failure] = failures_of(bad, [check("NANS")])
    text = failure.format()
    assert failure.check == "NANS" and failure.column == "prediction"
    assert f"1 {word}" in text and "row 5: id='11_1' moon=11 prediction=" in text


def test_values_between():
    bad = good()
    bad.loc[[0, 7], "prediction"] = [-1.0, 3.0]
    [failure] = failures_of(bad, [check("VALUES_BETWEEN", min=0, max=1)])
    text = failure.format()
    assert "check VALUES_BETWEEN failed on column `prediction`: 2 value(s) not between 0.0 and 1.0" in text
    assert "row 0:" in text and "row 7:" in text and "prediction=3.0" in text


def test_values_allowed():
    bad = good()
    bad["prediction"] = 1
    bad.loc[3, "prediction"] = 2
    [failure] = failures_of(bad, [check("VALUES_ALLOWED", values=[0, 1])])
    assert failure.check == "VALUES_ALLOWED" and "1 value(s) not in the allowed set (0, 1)" in failure.format()
    assert "row 3:" in failure.format()


def test_moons():
    bad = good()
    bad.loc[bad["moon"] == 12, "moon"] = 13
    failures = failures_of(bad, [check("MOONS")])
    assert len(failures) == 1
    text = failures[0].format()
    assert "check MOONS failed on column `moon`" in text and "1 moon(s) missing: 12" in text and "1 moon(s) of no example row: 13" in text


def test_ids_missing_duplicated_and_unexpected():
    bad = good()
    bad.loc[1, "id"] = "10_0"  # a duplicate, and 10_1 goes missing
    bad.loc[2, "id"] = "zzz"  # unexpected, and 10_2 goes missing
    failures = failures_of(bad, [check("IDS")])
    texts = [f.format() for f in failures]
    assert all(f.check == "IDS" and f.column == "id" for f in failures)
    assert any("1 duplicated id(s) within a moon" in t and "row 1: id='10_0' moon=10" in t for t in texts)
    assert any("2 id(s) of example_prediction missing" in t and "id='10_1' moon=10" in t for t in texts)
    assert any("1 id(s) not in example_prediction" in t and "id='zzz'" in t for t in texts)


def test_ids_may_repeat_across_moons_but_not_within_one():
    frame = example()
    frame["id"] = np.tile([f"a{i}" for i in range(4)], 3)
    prediction = frame.copy()
    prediction["prediction"] = np.arange(len(frame)) / 100
    assert run_checks([check("IDS")], prediction.iloc[::-1], frame, COLUMNS, True, print) == []


def test_constants_per_moon_and_whole():
    bad = good()
    bad.loc[bad["moon"] == 11, "prediction"] = 0.25
    [failure] = failures_of(bad, [check("CONSTANTS", "KEY")])
    assert "constant within 1 of 3 moon(s)" in failure.format() and "moon=11: every prediction is 0.25" in failure.format()
    assert failures_of(bad, [check("CONSTANTS", "ROOT")]) == []
    bad["prediction"] = 0.3
    [failure] = failures_of(bad, [check("CONSTANTS", "ROOT")])
    assert "every value is 0.3" in failure.format()


def test_unknown_check_warns_once_and_is_skipped():
    warnings = []
    checks = [check("SOMETHING_NEW"), check("SOMETHING_NEW"), check("NANS")]
    assert failures_of(good(), checks, warnings=warnings) == []
    assert len(warnings) == 1 and "SOMETHING_NEW" in warnings[0]


def test_a_check_that_cannot_run_is_a_failure():
    [failure] = failures_of(good(), [check("VALUES_ALLOWED", values="abc")])
    assert "not a list" in failure.message


def test_parse_checks_and_order():
    raw = [{"function": "NANS", "scope": "ROOT", "order": 2, "parameters": {}}, {"function": "IDS", "scope": "ROOT", "order": 1}]
    checks = parse_checks(raw)
    assert [c.function for c in checks] == ["NANS", "IDS"]
    assert parse_checks(None) is None and parse_checks([]) is None
    with pytest.raises(DocumentError, match=r'^\[2\]: expected an object, got "junk"$'):
        parse_checks([*raw, "junk"])
    with pytest.raises(DocumentError, match=r"^\[0\]\.order: expected an integer, got \"first\"$"):
        parse_checks([{"function": "NANS", "order": "first"}])
    bad = good()
    bad.loc[0, "prediction"] = np.nan
    bad.loc[1, "id"] = "zzz"
    assert [f.check for f in failures_of(bad, checks)][0] == "IDS"


def test_regular_format_ids():
    ex = pd.DataFrame({"id": ["a", "b", "c"], "prediction": 0.0})
    columns = ColumnNames.from_dict({"id": "id", "targets": {"t": {"input": "t", "output": "prediction"}}})
    prediction = pd.DataFrame({"id": ["c", "a", "a"], "prediction": [1.0, 2.0, 3.0]})
    failures = run_checks(default_checks(False), prediction, ex, columns, False, print)
    texts = " | ".join(f.format() for f in failures)
    assert "1 duplicated id(s)" in texts and "id='b'" in texts


# -- shapes no check expects: one TYPES failure, no internal error ---------------------------------


def with_column(name, values):
    frame = good()
    frame[name] = values
    return frame


@pytest.mark.parametrize(
    "values, message",
    [
        ([[0.1, 0.2]] * 12, "12 cell(s) hold list or array values"),
        ([np.array([0.1, 0.2])] * 12, "12 cell(s) hold list or array values"),
        ([{"a": 1}] * 12, "12 cell(s) hold dict values"),
        ([{1}] * 12, "12 cell(s) hold set values"),
        (np.linspace(0.1, 0.9, 12) + 1j, "12 cell(s) hold complex number values"),
        ([b"x"] * 12, "12 cell(s) hold bytes values"),
        ([0.5] * 11 + ["x"], "mixed types (11 number(s) and 1 text(s))"),
        ([str(v) for v in np.linspace(0.1, 0.9, 12)], "text values where example_prediction has number values"),
        (pd.Series([pd.Timestamp("2020-01-01")] * 12), "date or time values where example_prediction has number values"),
    ],
)
def test_a_prediction_of_an_unexpected_shape_is_one_types_failure(values, message):
    bad = with_column("prediction", values)
    checks = default_checks(True) + [check("VALUES_BETWEEN", min=0, max=1)]
    failures = failures_of(bad, checks)
    assert [f.check for f in failures] == ["TYPES"], [f.format() for f in failures]
    assert failures[0].column == "prediction" and message in failures[0].message
    assert failures[0].rows and failures[0].rows[0].startswith("row ")


def test_a_text_moon_is_named_and_the_key_checks_wait():
    bad = with_column("moon", good()["moon"].astype(str))
    failures = failures_of(bad, default_checks(True))
    assert [(f.check, f.column) for f in failures] == [("TYPES", "moon")]
    assert "text values where example_prediction has number values" in failures[0].message


def test_mixed_rows_shown_are_the_odd_ones():
    bad = with_column("prediction", [0.5] * 5 + ["x"] + list(np.linspace(0.1, 0.9, 6)))
    [failure] = failures_of(bad, [check("NANS")])
    assert failure.rows == ["row 5: id='11_1' moon=11 prediction='x'"] and failure.count == 1


def test_numbers_of_other_dtypes_are_numbers():
    for values in (np.arange(12), np.linspace(0, 1, 12).astype("float32"), pd.array(np.linspace(0, 1, 12), dtype="Float64"), [True, False] * 6):
        assert [f.check for f in failures_of(with_column("prediction", values), [check("NANS")])] == []
