"""Read the data files once, sorted by moon, and hand out cheap slices of them.

The timeseries loop needs, at every moon, the rows before ``moon - embargo`` (train) and the
rows of the moon (infer). Concatenating X_train and X_test, sorting once by moon and slicing
positions makes each of those a view instead of a copy of the whole frame. The files are
read a few columns at a time and converted to pandas column by column, so at most one group
of columns exists twice in memory while reading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import numpy
    import pandas

#: Columns decoded together (parallel decoding without holding a whole file twice).
COLUMN_GROUP = 8


def copy_on_write() -> bool:
    """True when pandas copies a slice lazily, on its first write (always from pandas 3)."""
    import pandas

    major = int(pandas.__version__.split(".")[0])
    if major >= 3:
        return True
    try:
        return pandas.get_option("mode.copy_on_write") is True
    except (KeyError, ValueError, AttributeError):  # pragma: no cover - pandas without the option
        return False


def _index_columns(schema: Any) -> List[str]:
    metadata = schema.pandas_metadata or {}
    return [name for name in metadata.get("index_columns", []) if isinstance(name, str)]


def _unreadable(path: os.PathLike, error: BaseException) -> Exception:
    from ..exceptions import WorkspaceError

    reason = " ".join(str(error).split()) or type(error).__name__
    return WorkspaceError(
        f"{os.path.basename(os.fspath(path))} is not a readable parquet file ({reason}): "
        "run `crunch download --force` to get it again"
    )


def open_parquet(path: os.PathLike) -> Any:
    """A ``pyarrow.parquet.ParquetFile`` of ``path``, or a WorkspaceError naming the file."""
    import pyarrow
    import pyarrow.parquet as pq

    from ..core.fsutil import check_regular

    try:
        check_regular(path)  # a FIFO would block the reader for ever
        handle = pq.ParquetFile(os.fspath(path))
    except (pyarrow.ArrowException, OSError, ValueError) as error:
        raise _unreadable(path, error) from None
    from collections import Counter

    repeated = sorted(name for name, count in Counter(handle.schema_arrow.names).items() if count > 1)
    if repeated:
        from ..exceptions import WorkspaceError

        shown = ", ".join(f"`{name}`" for name in repeated)
        raise WorkspaceError(
            f"{os.path.basename(os.fspath(path))} has the column(s) {shown} more than once: "
            "the file is damaged or not this competition's; run `crunch download --force` to get it again"
        )
    return handle


def require_columns(path: os.PathLike, columns: Sequence[Optional[str]]) -> None:
    """A WorkspaceError when the parquet file ``path`` lacks one of ``columns``."""
    names = set(open_parquet(path).schema_arrow.names)
    missing = [name for name in columns if name and name not in names]
    if missing:
        from ..exceptions import WorkspaceError

        shown = ", ".join(f"`{name}`" for name in missing)
        raise WorkspaceError(
            f"{os.path.basename(os.fspath(path))} has no {shown} column: "
            "the file is damaged or not this competition's; run `crunch download --force` to get it again"
        )


def require_numbers(path: os.PathLike, column: str) -> None:
    """A WorkspaceError when the column ``column`` of the parquet file ``path`` does not hold
    numbers (integers or decimals): moons are compared and subtracted."""
    import pyarrow

    field = open_parquet(path).schema_arrow.field(column)
    kind = field.type.value_type if pyarrow.types.is_dictionary(field.type) else field.type
    if pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind):
        return
    from ..exceptions import WorkspaceError

    raise WorkspaceError(
        f"the `{column}` column of {os.path.basename(os.fspath(path))} holds {_arrow_kind(kind)}, not numbers: "
        "the file is damaged or not this competition's; run `crunch download --force` to get it again"
    )


def _arrow_kind(kind: Any) -> str:
    import pyarrow

    if pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind):
        return "text"
    if pyarrow.types.is_boolean(kind):
        return "true/false values"
    if pyarrow.types.is_temporal(kind):
        return "dates or times"
    if pyarrow.types.is_null(kind):
        return "only nulls"
    return f"values of type {kind}"


def read_example(path: os.PathLike) -> "pandas.DataFrame":
    """``example_prediction.parquet`` (a WorkspaceError naming it when it cannot be read)."""
    import pyarrow

    try:
        return open_parquet(path).read().to_pandas()
    except (pyarrow.ArrowException, OSError, ValueError, TypeError) as error:
        raise _unreadable(path, error) from None


def read_frame(paths: Sequence[os.PathLike], sort_by: Optional[str] = None) -> "pandas.DataFrame":
    """The rows of the parquet files ``paths`` one after the other, index 0..n (a WorkspaceError
    naming the file when one cannot be read)."""
    import pyarrow

    try:
        return _read_frame(paths, sort_by)
    except (pyarrow.ArrowException, OSError) as error:
        raise _unreadable(paths[0] if len(paths) == 1 else " or ".join(os.path.basename(os.fspath(p)) for p in paths), error) from None


def _read_frame(paths: Sequence[os.PathLike], sort_by: Optional[str] = None) -> "pandas.DataFrame":
    """The rows of the parquet files ``paths`` one after the other, index 0..n.

    With ``sort_by``, rows are stably sorted by that column (nothing is moved when they already
    are). Columns missing from a file are null there.
    """
    import numpy
    import pandas
    import pyarrow

    files = [open_parquet(path) for path in paths]
    names: List[str] = []
    types: Dict[str, Any] = {}
    for handle in files:
        schema = handle.schema_arrow
        hidden = set(_index_columns(schema))
        for field in schema:
            if field.name not in hidden and field.name not in types:
                names.append(field.name)
                types[field.name] = field.type
    rows = [handle.metadata.num_rows for handle in files]

    def column_chunks(tables: List[Any], name: str) -> Any:
        chunks = []
        for table, count in zip(tables, rows):
            if name in table.column_names:
                chunks.extend(table.column(name).chunks)
            elif count:
                chunks.append(pyarrow.nulls(count, types[name]))
        try:
            return pyarrow.chunked_array(chunks, type=types[name])
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError):
            return None

    def to_series(tables: List[Any], name: str, order: Any) -> "pandas.Series":
        chunked = column_chunks(tables, name)
        if chunked is None:  # types differ between files: let pandas find a common one
            parts = [
                table.column(name).to_pandas() if name in table.column_names else pandas.Series([None] * count)
                for table, count in zip(tables, rows)
            ]
            series = pandas.concat(parts, ignore_index=True)
            return series.take(order.to_numpy()).reset_index(drop=True) if order is not None else series
        if order is not None:
            chunked = chunked.take(order)
        return chunked.to_pandas()

    order = None
    if sort_by is not None and sort_by in types:
        tables = [handle.read(columns=[sort_by]) if sort_by in handle.schema_arrow.names else pyarrow.table({}) for handle in files]
        key = column_chunks(tables, sort_by)
        if key is not None:
            values = key.to_numpy()
            if len(values) > 1 and not bool(numpy.all(values[:-1] <= values[1:])):
                order = pyarrow.array(numpy.argsort(values, kind="stable"))

    columns: Dict[str, Any] = {}
    for start in range(0, len(names), COLUMN_GROUP):
        group = names[start : start + COLUMN_GROUP]
        tables = [
            handle.read(columns=[name for name in group if name in handle.schema_arrow.names], use_threads=True)
            for handle in files
        ]
        for name in group:
            columns[name] = to_series(tables, name, order)
        del tables
    frame = pandas.DataFrame(columns, copy=False)
    if not len(columns):
        frame = pandas.DataFrame(index=pandas.RangeIndex(sum(rows)))
    return frame


@dataclass
class MoonFrame:
    """A frame sorted by moon, with the positions of each moon's rows."""

    frame: "pandas.DataFrame"
    moons: "numpy.ndarray"
    lazy_copies: bool

    @classmethod
    def read(cls, paths: Sequence[os.PathLike], moon_column: str) -> "MoonFrame":
        frame = read_frame(paths, sort_by=moon_column)
        if moon_column not in frame.columns:
            from ..exceptions import WorkspaceError

            raise WorkspaceError(
                f"the data has no `{moon_column}` column (files: {', '.join(os.fspath(p) for p in paths)}): "
                "run `crunch download --force` to get it again"
            )
        return cls(frame, frame[moon_column].to_numpy(), copy_on_write())

    def _rows(self, start: int, stop: int) -> "pandas.DataFrame":
        import pandas

        part = self.frame.iloc[start:stop]
        if not self.lazy_copies:
            part = part.copy()  # without copy-on-write, a slice shares its memory with the frame
        part.index = pandas.RangeIndex(stop - start)
        return part

    def before(self, bound: Any) -> "pandas.DataFrame":
        """The rows with ``moon < bound``, index 0..n."""
        import numpy

        stop = int(numpy.searchsorted(self.moons, bound, side="left"))
        return self._rows(0, stop)

    def at(self, moon: Any) -> "pandas.DataFrame":
        """The rows with ``moon == moon``, index 0..n."""
        import numpy

        start = int(numpy.searchsorted(self.moons, moon, side="left"))
        stop = int(numpy.searchsorted(self.moons, moon, side="right"))
        return self._rows(start, stop)


def file_moons(path: os.PathLike, moon_column: str) -> List[Any]:
    """The distinct moons of a parquet file, in order (the loop's keys when splits are absent)."""
    import numpy
    import pyarrow

    try:
        values = open_parquet(path).read(columns=[moon_column]).column(0).to_numpy()
    except (pyarrow.ArrowException, OSError, KeyError) as error:
        raise _unreadable(path, error) from None
    return [value.item() if hasattr(value, "item") else value for value in numpy.unique(values)]
