"""What a column of a prediction holds: numbers, texts, dates, or things no check expects.

A prediction cell holds one value. :func:`column_kinds` names the kinds of the values of a
column (``number``, ``text``, ``date or time``; anything else, such as ``list or array`` or
``complex number``, is a kind no check can compare), counting the cells of each, without a
Python loop for the common columns (numeric or text dtypes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict

if TYPE_CHECKING:  # pragma: no cover
    import pandas

NUMBER, TEXT, TIME = "number", "text", "date or time"
#: The kinds a check can compare.
SCALARS = frozenset({NUMBER, TEXT, TIME})

_BY_INFERENCE = {
    "integer": NUMBER,
    "floating": NUMBER,
    "mixed-integer-float": NUMBER,
    "decimal": NUMBER,
    "boolean": NUMBER,
    "string": TEXT,
    "datetime64": TIME,
    "datetime": TIME,
    "date": TIME,
    "timedelta64": TIME,
    "timedelta": TIME,
    "time": TIME,
    "period": TIME,
    "complex": "complex number",
    "bytes": "bytes",
}


def cell_kind(value: Any) -> Any:
    """The kind of one cell, or ``None`` for a missing value (None, NaN, NA, NaT)."""
    import datetime
    import decimal
    import numbers

    import numpy
    import pandas

    if isinstance(value, (list, tuple, numpy.ndarray, pandas.Series, pandas.Index)):
        return "list or array"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, (set, frozenset)):
        return "set"
    if isinstance(value, (complex, numpy.complexfloating)):
        return "complex number"
    try:
        if pandas.isna(value):
            return None
    except (TypeError, ValueError):
        return type(value).__name__
    if isinstance(value, (bool, numpy.bool_, numbers.Real, decimal.Decimal)):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, numpy.datetime64, numpy.timedelta64, pandas.Period)):
        return TIME
    return type(value).__name__


def column_kinds(series: "pandas.Series") -> Dict[str, int]:
    """{kind: number of cells} of ``series``, missing values left out."""
    import pandas
    from pandas.api import types

    dtype = series.dtype
    present = int(series.notna().sum()) if not types.is_object_dtype(dtype) else None
    if types.is_complex_dtype(dtype):
        return {"complex number": present or 0}
    if types.is_bool_dtype(dtype) or types.is_numeric_dtype(dtype):
        return {NUMBER: present} if present else {}
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype) or isinstance(dtype, pandas.PeriodDtype):
        return {TIME: present} if present else {}
    if isinstance(dtype, pandas.StringDtype):
        return {TEXT: present} if present else {}
    if isinstance(dtype, pandas.CategoricalDtype):
        values = series.astype(object)
    else:
        values = series
    try:
        inferred = types.infer_dtype(values, skipna=True)
    except (TypeError, ValueError):
        inferred = "mixed"
    if inferred == "empty":
        return {}
    kind = _BY_INFERENCE.get(inferred)
    if kind is not None:
        return {kind: int(values.notna().sum())}
    counts: Dict[str, int] = {}
    for value in values.array:
        found = cell_kind(value)
        if found is not None:
            counts[found] = counts.get(found, 0) + 1
    return counts


def describe_kinds(counts: Dict[str, int]) -> str:
    """``3 number(s) and 2 text(s)``."""
    parts = [f"{count} {kind}(s)" for kind, count in sorted(counts.items(), key=lambda item: -item[1])]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
