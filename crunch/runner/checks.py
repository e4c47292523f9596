"""The prediction checks, keyed by the function names the hub gives in ``checks.json``.

Each check returns failures that name the check, the column and a few offending rows.
Checks with the scope ``KEY`` look at each moon on its own (timeseries competitions);
``ROOT`` checks look at the whole prediction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Sequence, Set

from ..api.models import Check, ColumnNames

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from ..core.jsonshape import Node

#: How many offending rows a failure shows.
SHOWN_ROWS = 5


@dataclass
class CheckFailure:
    check: str
    message: str
    column: Optional[str] = None
    rows: List[str] = field(default_factory=list)
    count: int = 0  # offending rows (or keys) in all, when more than shown

    def format(self) -> str:
        where = f" on column `{self.column}`" if self.column else ""
        lines = [f"check {self.check} failed{where}: {self.message}"]
        lines.extend(f"    {row}" for row in self.rows)
        if self.count > len(self.rows) and self.rows:
            lines.append(f"    ... and {self.count - len(self.rows)} more")
        return "\n".join(lines)


@dataclass
class Context:
    prediction: "pandas.DataFrame"
    example: Optional["pandas.DataFrame"]
    columns: ColumnNames
    timeseries: bool

    @property
    def key_columns(self) -> List[str]:
        return [self.columns.id, self.columns.moon] if self.timeseries else [self.columns.id]

    @property
    def expected_columns(self) -> List[str]:
        if self.example is not None:
            return list(self.example.columns)
        return [*self.key_columns, *self.columns.outputs]


def _value(value: Any) -> str:
    import numpy

    text = repr(value.item() if isinstance(value, numpy.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _rows(ctx: Context, frame: "pandas.DataFrame", mask: Any, column: Optional[str]) -> List[str]:
    """A few offending rows of ``frame`` (where ``mask``), as ``row 12: id='a' moon=3 prediction=nan``."""
    import numpy

    positions = numpy.flatnonzero(numpy.asarray(mask))[:SHOWN_ROWS]
    shown = [name for name in ctx.key_columns if name in frame.columns and name != column]
    if column is not None and column in frame.columns:
        shown.append(column)
    out = []
    for position in positions:
        values = " ".join(f"{name}={_value(frame[name].iat[position])}" for name in shown)
        out.append(f"row {position}: {values}")
    return out


def _keys(frame: "pandas.DataFrame", columns: Sequence[str]) -> List[str]:
    return [" ".join(f"{name}={_value(value)}" for name, value in zip(columns, row)) for row in frame[list(columns)].itertuples(index=False)]


# -- the checks --------------------------------------------------------------------------------


def cell_types(ctx: Context) -> List[CheckFailure]:
    """TYPES, run before the others: every expected column holds one kind of single values
    (numbers, texts or dates), the kind of example_prediction's column when it has one."""
    import numpy
    import pandas

    from .celltypes import SCALARS, cell_kind, column_kinds, describe_kinds

    failures = []
    for name in ctx.expected_columns:
        if name not in ctx.prediction.columns:
            continue  # reported by COLUMNS_NAME
        series = ctx.prediction[name]
        if not isinstance(series, pandas.Series):
            continue  # a repeated column name: refused before the checks
        counts = column_kinds(series)
        odd = {kind: count for kind, count in counts.items() if kind not in SCALARS}
        if odd:
            mask = numpy.array([cell_kind(value) in odd for value in series.array], dtype=bool)
            count = sum(odd.values())
            what = f"{next(iter(odd))} values" if len(odd) == 1 else f"values no check can compare ({describe_kinds(odd)})"
            message = f"{count} cell(s) hold {what}: each cell holds one number or text"
            failures.append(CheckFailure("TYPES", message, name, _rows(ctx, ctx.prediction, mask, name), count))
            continue
        if len(counts) > 1:
            main = max(counts, key=lambda kind: counts[kind])
            mask = numpy.array([cell_kind(value) not in (None, main) for value in series.array], dtype=bool)
            failures.append(
                CheckFailure("TYPES", f"mixed types ({describe_kinds(counts)}): give the column one type", name, _rows(ctx, ctx.prediction, mask, name), int(mask.sum()))
            )
            continue
        if ctx.example is not None and name in ctx.example.columns and counts:
            expected = column_kinds(ctx.example[name])
            if len(expected) == 1 and set(expected) != set(counts):
                [got], [want] = list(counts), list(expected)
                mask = series.notna().to_numpy()
                failures.append(
                    CheckFailure("TYPES", f"{got} values where example_prediction has {want} values", name, _rows(ctx, ctx.prediction, mask, name), int(mask.sum()))
                )
    return failures


CheckFunction = Callable[[Context, Optional[str], Dict[str, Any], bool], List[CheckFailure]]


def columns_name(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    expected = ctx.expected_columns
    actual = [str(name) for name in ctx.prediction.columns]
    missing = [name for name in expected if name not in actual]
    extra = [name for name in actual if name not in expected]
    if not missing and not extra:
        return []
    parts = []
    if missing:
        parts.append("missing " + ", ".join(f"`{name}`" for name in missing))
    if extra:
        parts.append("extra " + ", ".join(f"`{name}`" for name in extra))
    expected_text = ", ".join(f"`{name}`" for name in expected)
    return [CheckFailure("COLUMNS_NAME", f"{'; '.join(parts)} (expected exactly {expected_text})")]


def nans(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    import numpy
    import pandas

    failures = []
    for name in ctx.expected_columns:
        if name not in ctx.prediction.columns:
            continue
        series = ctx.prediction[name]
        mask = series.isna().to_numpy()
        what = "NaN"
        types = pandas.api.types
        if types.is_numeric_dtype(series.dtype) and not types.is_bool_dtype(series.dtype) and not types.is_complex_dtype(series.dtype):
            values = series.to_numpy(dtype="float64", na_value=numpy.nan)
            infinite = numpy.isinf(values)
            if infinite.any():
                what = "NaN or infinite" if mask.any() else "infinite"
                mask = mask | infinite
        count = int(mask.sum())
        if count:
            failures.append(
                CheckFailure("NANS", f"{count} {what} value(s)", name, _rows(ctx, ctx.prediction, mask, name), count)
            )
    return failures


def _number(parameters: Dict[str, Any], name: str) -> Optional[float]:
    value = parameters.get(name)
    return None if value is None else float(value)


def values_between(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    low, high = _number(parameters, "min"), _number(parameters, "max")
    series = ctx.prediction[column]
    mask = None
    if low is not None:
        mask = (series < low).to_numpy()
    if high is not None:
        above = (series > high).to_numpy()
        mask = above if mask is None else (mask | above)
    if mask is None:
        return []
    count = int(mask.sum())
    if not count:
        return []
    bounds = f"between {low} and {high}" if low is not None and high is not None else (f">= {low}" if low is not None else f"<= {high}")
    return [CheckFailure("VALUES_BETWEEN", f"{count} value(s) not {bounds}", column, _rows(ctx, ctx.prediction, mask, column), count)]


def values_allowed(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    allowed = parameters.get("values")
    if not isinstance(allowed, (list, tuple, set)):
        return [CheckFailure("VALUES_ALLOWED", f"the check's `values` parameter is not a list ({allowed!r})", column)]
    mask = (~ctx.prediction[column].isin(list(allowed))).to_numpy()
    count = int(mask.sum())
    if not count:
        return []
    shown = ", ".join(_value(v) for v in list(allowed)[:10])
    return [CheckFailure("VALUES_ALLOWED", f"{count} value(s) not in the allowed set ({shown})", column, _rows(ctx, ctx.prediction, mask, column), count)]


def moons(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    import numpy

    name = ctx.columns.moon
    if not ctx.timeseries or ctx.example is None or name not in ctx.prediction.columns or name not in ctx.example.columns:
        return []  # a missing column is reported by COLUMNS_NAME
    got = set(numpy.unique(ctx.prediction[name].to_numpy()).tolist())
    want = set(numpy.unique(ctx.example[name].to_numpy()).tolist())
    if got == want:
        return []
    parts = []
    missing, extra = sorted(want - got, key=str), sorted(got - want, key=str)
    if missing:
        parts.append(f"{len(missing)} moon(s) missing: {', '.join(map(str, missing[:10]))}")
    if extra:
        parts.append(f"{len(extra)} moon(s) of no example row: {', '.join(map(str, extra[:10]))}")
    return [CheckFailure("MOONS", "; ".join(parts) + " (compared with example_prediction)", name)]


def ids(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    import numpy

    keys = ctx.key_columns
    id_name = ctx.columns.id
    prediction = ctx.prediction
    example = ctx.example
    if any(name not in prediction.columns for name in keys):
        return []  # reported by COLUMNS_NAME
    if example is not None and any(name not in example.columns for name in keys):
        example = None
    # the common case first: the same keys in the same order
    if example is not None and len(prediction) == len(example) and all(
        numpy.array_equal(prediction[name].to_numpy(), example[name].to_numpy()) for name in keys
    ):
        return []
    failures = []
    duplicated = prediction.duplicated(keys).to_numpy()
    count = int(duplicated.sum())
    if count:
        scope = " within a moon" if ctx.timeseries else ""
        failures.append(CheckFailure("IDS", f"{count} duplicated id(s){scope}", id_name, _rows(ctx, prediction, duplicated, None), count))
    if example is None:
        return failures
    merged = prediction[keys].drop_duplicates().merge(example[keys].drop_duplicates(), how="outer", on=keys, indicator=True)
    missing = merged[merged["_merge"] == "right_only"]
    extra = merged[merged["_merge"] == "left_only"]
    if len(missing):
        failures.append(
            CheckFailure("IDS", f"{len(missing)} id(s) of example_prediction missing from the prediction", id_name, _keys(missing.head(SHOWN_ROWS), keys), len(missing))
        )
    if len(extra):
        failures.append(
            CheckFailure("IDS", f"{len(extra)} id(s) not in example_prediction", id_name, _keys(extra.head(SHOWN_ROWS), keys), len(extra))
        )
    return failures


def constants(ctx: Context, column: Optional[str], parameters: Dict[str, Any], per_moon: bool) -> List[CheckFailure]:
    prediction = ctx.prediction
    if not len(prediction):
        return []
    if per_moon and ctx.timeseries and ctx.columns.moon in prediction.columns:
        counts = prediction.groupby(ctx.columns.moon, sort=True)[column].nunique(dropna=False)
        constant = counts[counts <= 1]
        if not len(constant):
            return []
        firsts = prediction.drop_duplicates(ctx.columns.moon).set_index(ctx.columns.moon)[column]
        rows = [f"{ctx.columns.moon}={_value(moon)}: every {column} is {_value(firsts.loc[moon])}" for moon in constant.index[:SHOWN_ROWS]]
        return [CheckFailure("CONSTANTS", f"constant within {len(constant)} of {len(counts)} moon(s)", column, rows, len(constant))]
    if prediction[column].nunique(dropna=False) <= 1:
        return [CheckFailure("CONSTANTS", f"every value is {_value(prediction[column].iat[0])}", column)]
    return []


@dataclass(frozen=True)
class Descriptor:
    function: CheckFunction
    per_column: bool  # run once per prediction column
    on_keys: bool = False  # compares the id (and moon) columns


REGISTRY: Dict[str, Descriptor] = {
    "COLUMNS_NAME": Descriptor(columns_name, False),
    "NANS": Descriptor(nans, False),
    "VALUES_BETWEEN": Descriptor(values_between, True),
    "VALUES_ALLOWED": Descriptor(values_allowed, True),
    "MOONS": Descriptor(moons, False, on_keys=True),
    "IDS": Descriptor(ids, False, on_keys=True),
    "CONSTANTS": Descriptor(constants, True),
}


def default_checks(timeseries: bool) -> List[Check]:
    """The checks run when the competition's are not cached: those that need no parameter."""
    names = ["COLUMNS_NAME", "NANS", "IDS"] + (["MOONS"] if timeseries else []) + ["CONSTANTS"]
    return [Check(name, "KEY" if name == "CONSTANTS" and timeseries else "ROOT", order, {}) for order, name in enumerate(names)]


def read_checks(node: "Node") -> Optional[List[Check]]:
    """``checks.json`` (a list of checks) read strictly; ``None`` when absent or empty."""
    checks = [Check.read(item) for item in node.items([])]
    return checks or None


def parse_checks(raw: Any) -> Optional[List[Check]]:
    """``checks.json`` as a list of checks, or ``None`` when absent or empty (a DocumentError
    naming the field when malformed)."""
    from ..core.jsonshape import Node

    return read_checks(Node(raw))


def run_checks(
    checks: Iterable[Check],
    prediction: "pandas.DataFrame",
    example: Optional["pandas.DataFrame"],
    columns: ColumnNames,
    timeseries: bool,
    warn: Callable[[str], None],
    warned: Optional[Set[str]] = None,
) -> List[CheckFailure]:
    """Run ``checks`` in their order; unknown function names are skipped with one warning."""
    warned = set() if warned is None else warned
    ctx = Context(prediction, example, columns, timeseries)
    failures: List[CheckFailure] = []
    ordered = sorted(checks, key=lambda check: check.order)
    names = {check.function for check in ordered}
    missing = [name for name in ctx.expected_columns if name not in prediction.columns]
    if missing and "COLUMNS_NAME" not in names:
        failures.extend(columns_name(ctx, None, {}, False))
    typed = cell_types(ctx)
    failures.extend(typed)
    odd_columns = {failure.column for failure in typed}
    for check in ordered:
        descriptor = REGISTRY.get(check.function)
        if descriptor is None:
            if check.function not in warned:
                warned.add(check.function)
                warn(f"unknown check `{check.function}`: skipped (a newer crunch may know it)")
            continue
        if descriptor.on_keys and odd_columns.intersection(ctx.key_columns):
            continue  # keys of a wrong type: reported by TYPES
        per_moon = check.scope == "KEY"
        targets: List[Optional[str]] = [None]
        if descriptor.per_column:
            target = check.parameters.get("column") or check.parameters.get("columnName")
            targets = [target] if target else list(columns.outputs)
        for column in targets:
            if column is not None and column not in prediction.columns:
                continue  # reported by COLUMNS_NAME
            if column in odd_columns:
                continue  # its values are not what the check compares: reported by TYPES
            try:
                failures.extend(descriptor.function(ctx, column, check.parameters, per_moon))
            except Exception as error:  # a check that cannot run is a failure, not a crash
                if odd_columns:
                    continue  # the values the check compares are of a wrong type: reported by TYPES
                failures.append(CheckFailure(check.function, f"the check could not run: {type(error).__name__}: {error}", column))
    return failures
