"""Call ``train()`` and ``infer()`` the way the platform's runner does.

TIMESERIES competitions loop over the test moons: at a moon, ``train`` (when due) sees the
rows of X and y with ``moon < current_moon - embargo``, then ``infer`` sees the rows of the
moon. Other formats train once on X_train/y_train and infer once on X_test.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ..api.models import DataRelease
from ..core.console import Console
from ..exceptions import UserCodeError, WorkspaceError
from .loader import FramePredicate, user_code_error
from .params import Binder

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    import pandas


@dataclass
class CallStats:
    calls: int = 0
    seconds: float = 0.0
    durations: List[float] = field(default_factory=list)  # each call's, for the median and the slowest


@dataclass
class LoopOptions:
    timeseries: bool
    model_directory_path: str
    force_first_train: bool = True
    train_frequency: int = 1
    has_gpu: bool = False
    determinism_check: bool = True


@dataclass
class DataPaths:
    x_train: Path
    y_train: Path
    x_test: Path
    y_test: Optional[Path] = None


@dataclass
class LoopResult:
    prediction: "pandas.DataFrame"
    stats: Dict[str, CallStats]
    read_seconds: float
    moons: List[Any] = field(default_factory=list)
    trained_at: List[Any] = field(default_factory=list)
    deterministic: Optional[bool] = None
    determinism_detail: str = ""


def should_train(index: int, moon: Any, train_frequency: int, force_first_train: bool, has_model: bool) -> bool:
    """Train at a moon when the frequency says so, or at the first moon when forced or when
    there is no model yet."""
    if train_frequency != 0:
        try:
            if int(moon) % train_frequency == 0:
                return True
        except (TypeError, ValueError):
            pass
    return index == 0 and (force_first_train or not has_model)


def has_model_files(model_dir: Path) -> bool:
    try:
        return any(model_dir.iterdir())
    except OSError:
        return False


class Loop:
    def __init__(
        self,
        train: Callable[..., Any],
        infer: Callable[..., Any],
        release: DataRelease,
        paths: DataPaths,
        options: LoopOptions,
        console: Console,
        is_user_file: FramePredicate,
        root: Optional[os.PathLike] = None,
        keys: Optional[List[Any]] = None,
        raise_original: bool = False,
    ) -> None:
        self.train = train
        self.infer = infer
        self.release = release
        self.paths = paths
        self.options = options
        self.console = console
        self.is_user_file = is_user_file
        self.root = root
        self.keys = keys
        self.raise_original = raise_original
        self.binder = Binder(console.warn)
        self.stats: Dict[str, CallStats] = {"train": CallStats(), "infer": CallStats()}

    # -- calling the person's code ---------------------------------------------------------

    def _call(self, name: str, function: Callable[..., Any], values: Dict[str, Any], where: str) -> Any:
        args, kwargs = self.binder.bind(function, values)
        stats = self.stats[name]
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: B036 - SystemExit in user code is a failure too
            if self.raise_original:
                if hasattr(error, "add_note"):
                    error.add_note(f"(raised by {name}(){where}, called by crunch's runner)")
                raise
            raise user_code_error(error, f"{name}(){where}", self.is_user_file, self.console.err, self.root) from error
        finally:
            took = time.perf_counter() - start
            stats.calls += 1
            stats.seconds += took
            stats.durations.append(took)

    def _common_values(self) -> Dict[str, Any]:
        columns = self.release.column_names
        inputs, outputs = columns.inputs, columns.outputs
        return {
            "number_of_features": self.release.number_of_features,
            "model_directory_path": self.options.model_directory_path,
            "id_column_name": columns.id,
            "moon_column_name": columns.moon,
            "target_column_name": inputs[0] if inputs else None,
            "target_column_names": inputs,
            "prediction_column_name": outputs[0] if outputs else None,
            "prediction_column_names": outputs,
            "column_names": columns,
            "embargo": self.release.embargo,
            "has_gpu": self.options.has_gpu,
        }

    def _checked(self, prediction: Any, where: str) -> "pandas.DataFrame":
        import pandas

        if not isinstance(prediction, pandas.DataFrame):
            columns = self.release.column_names
            names = [columns.id] + ([columns.moon] if self.options.timeseries else []) + columns.outputs
            expected = ", ".join(f"`{name}`" for name in names)
            raise UserCodeError(
                f"infer(){where} returned {type(prediction).__name__}, expected a pandas DataFrame with the columns {expected}"
            )
        repeated = sorted({str(name) for name in prediction.columns[prediction.columns.duplicated()]})
        if repeated:
            names = ", ".join(f"`{name}`" for name in repeated)
            raise UserCodeError(f"infer(){where} returned a DataFrame with the column(s) {names} more than once: name each column once")
        return prediction

    # -- the loops -------------------------------------------------------------------------

    def run(self) -> LoopResult:
        if self.options.timeseries:
            return self._timeseries()
        return self._regular()

    def _progress(self, total: int) -> Any:
        return self.console.progress(total=total, desc="moons", unit="moon")

    def _require_columns(self, moon_column: Optional[str]) -> None:
        """Every data file is readable parquet; with a moon column (timeseries), every file has
        the id and moon columns and the y files the targets."""
        from .data import require_columns, require_numbers

        names = self.release.column_names
        keys = [names.id, moon_column] if moon_column else []
        targets = list(names.inputs) if moon_column else []
        for path in (self.paths.x_train, self.paths.x_test):
            require_columns(path, keys)
        for path in (self.paths.y_train, self.paths.y_test):
            if path is not None:
                require_columns(path, keys + targets)
        if moon_column:
            for path in (self.paths.x_train, self.paths.x_test, self.paths.y_train, self.paths.y_test):
                if path is not None:
                    require_numbers(path, moon_column)

    def _timeseries(self) -> LoopResult:
        from .data import MoonFrame, file_moons

        moon_column = self.release.column_names.moon
        start = time.perf_counter()
        self._require_columns(moon_column)
        x = MoonFrame.read([self.paths.x_train, self.paths.x_test], moon_column)
        y_paths = [self.paths.y_train] + ([self.paths.y_test] if self.paths.y_test else [])
        y = MoonFrame.read(y_paths, moon_column)
        keys = self.keys if self.keys is not None else self.release.test_keys
        if not keys:
            keys = file_moons(self.paths.x_test, moon_column)
        keys = [int(key) if isinstance(key, str) and key.lstrip("-").isdigit() else key for key in keys]
        odd = [key for key in keys if isinstance(key, bool) or not isinstance(key, (int, float))]
        if odd:
            raise WorkspaceError(
                f"the TEST splits of the cached data release have keys that are not moon numbers ({', '.join(repr(k) for k in odd[:3])}): "
                "run `crunch download --force` to fetch it again"
            )
        if not keys:
            raise WorkspaceError(f"no test moon in the data release nor in {self.paths.x_test.name}: run `crunch download --force`")
        read_seconds = time.perf_counter() - start

        embargo = self.release.embargo
        # without y_test, train sees X only where y is known, so that both cover the same moons
        y_complete = self.paths.y_test is not None
        has_model = has_model_files(Path(self.options.model_directory_path))
        common = self._common_values()
        frequency = self.options.train_frequency
        every = "never (except the first moon)" if frequency == 0 else ("every moon" if frequency == 1 else f"every {frequency} moons")
        self.console.print(
            f"timeseries loop: {len(keys)} moon(s) from {keys[0] if keys else '-'} to {keys[-1] if keys else '-'}, "
            f"embargo {embargo}, train {every}"
        )

        predictions: List[pandas.DataFrame] = []
        trained_at: List[Any] = []
        last_values: Dict[str, Any] = {}
        with self._progress(len(keys)) as bar:
            for index, moon in enumerate(keys):
                train = should_train(index, moon, frequency, self.options.force_first_train, has_model)
                values = dict(common, moon=moon, has_trained=train)
                where = f" at {moon_column} {moon}"
                if train:
                    bound = moon - embargo
                    x_bound = bound if y_complete or not len(y.moons) else min(bound, y.moons[-1] + 1)
                    self._call("train", self.train, dict(values, X_train=x.before(x_bound), y_train=y.before(bound)), where)
                    trained_at.append(moon)
                    has_model = True
                last_values = dict(values, X_test=x.at(moon))
                prediction = self._checked(self._call("infer", self.infer, last_values, where), where)
                predictions.append(prediction)
                bar.update(1)

        result = LoopResult(self._concat(predictions), self.stats, read_seconds, list(keys), trained_at)
        if self.options.determinism_check and keys:
            last_values["X_test"] = x.at(keys[-1])
            self._determinism(result, predictions[-1], last_values, f" at {moon_column} {keys[-1]} (determinism check)")
        return result

    def _regular(self) -> LoopResult:
        from .data import read_frame

        start = time.perf_counter()
        self._require_columns(None)
        x_train = read_frame([self.paths.x_train])
        y_train = read_frame([self.paths.y_train])
        x_test = read_frame([self.paths.x_test])
        read_seconds = time.perf_counter() - start

        self.console.print(f"{len(x_train)} train rows and {len(x_test)} test rows: train once, infer once")
        has_model = has_model_files(Path(self.options.model_directory_path))
        train = should_train(0, None, self.options.train_frequency, self.options.force_first_train, has_model) or self.options.train_frequency != 0
        common = self._common_values()
        values = dict(common, has_trained=train)
        trained_at = []
        if train:
            self._call("train", self.train, dict(values, X_train=x_train, y_train=y_train), "")
            trained_at.append(None)
        del x_train, y_train
        data = x_test.copy(deep=False) if _lazy() else x_test.copy()
        prediction = self._checked(self._call("infer", self.infer, dict(values, X_test=data), ""), "")
        result = LoopResult(self._concat([prediction]), self.stats, read_seconds, [], trained_at)
        if self.options.determinism_check:
            data = x_test.copy(deep=False) if _lazy() else x_test.copy()
            self._determinism(result, prediction, dict(values, X_test=data), " (determinism check)")
        return result

    @staticmethod
    def _concat(predictions: List["pandas.DataFrame"]) -> "pandas.DataFrame":
        import pandas

        if len(predictions) == 1:
            return predictions[0].reset_index(drop=True)
        return pandas.concat(predictions, ignore_index=True)

    def _determinism(self, result: LoopResult, first: "pandas.DataFrame", values: Dict[str, Any], where: str) -> None:
        second = self._checked(self._call("infer", self.infer, values, where), where)
        result.deterministic, result.determinism_detail = compare(first, second)


def _lazy() -> bool:
    from .data import copy_on_write

    return copy_on_write()


def compare(first: "pandas.DataFrame", second: "pandas.DataFrame", rtol: float = 1e-6, atol: float = 1e-9) -> "tuple[bool, str]":
    """Whether two outputs of infer() agree, and where they differ when they do not."""
    import numpy
    import pandas

    if list(first.columns) != list(second.columns):
        return False, f"the columns differ: {list(first.columns)} then {list(second.columns)}"
    if len(first) != len(second):
        return False, f"{len(first)} rows then {len(second)} rows"
    for position in range(len(first.columns)):
        name = first.columns[position]
        a, b = first.iloc[:, position], second.iloc[:, position]
        types = pandas.api.types
        if types.is_numeric_dtype(a.dtype) and types.is_numeric_dtype(b.dtype) and not types.is_bool_dtype(a.dtype):
            kind = "complex128" if types.is_complex_dtype(a.dtype) or types.is_complex_dtype(b.dtype) else "float64"
            left = a.to_numpy(dtype=kind, na_value=numpy.nan)
            right = b.to_numpy(dtype=kind, na_value=numpy.nan)
            same = numpy.isclose(left, right, rtol=rtol, atol=atol, equal_nan=True)
        else:
            same = _same_cells(a, b)
        same = numpy.asarray(same, dtype=bool)
        if not same.all():
            row = int(numpy.flatnonzero(~same)[0])
            count = int((~same).sum())
            return False, f"column `{name}` differs in {count} row(s), first at row {row}: {a.iat[row]!r} then {b.iat[row]!r}"
    return True, "infer() gave the same output twice"


def _same_cells(a: "pandas.Series", b: "pandas.Series") -> "numpy.ndarray":
    """Cell by cell equality of two columns of any content (arrays and lists in cells too)."""
    import numpy

    try:
        same = numpy.asarray((a.to_numpy() == b.to_numpy()) | (a.isna().to_numpy() & b.isna().to_numpy()), dtype=bool)
        if same.shape == (len(a),):
            return same
    except (TypeError, ValueError):  # cells holding arrays compare to arrays, not booleans
        pass
    return numpy.array([_same_cell(x, y) for x, y in zip(a.array, b.array)], dtype=bool)


def _same_cell(x: Any, y: Any) -> bool:
    import numpy

    try:
        if isinstance(x, (list, tuple, numpy.ndarray)) or isinstance(y, (list, tuple, numpy.ndarray)):
            return bool(numpy.array_equal(numpy.asarray(x, dtype=object), numpy.asarray(y, dtype=object)))
        return bool(x == y) or (x is y) or (x != x and y != y)
    except (TypeError, ValueError):
        return repr(x) == repr(y)
