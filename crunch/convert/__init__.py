"""Notebook to script, line for line the platform's converter (rules: docs/convert.md).

Keep what defines things (imports, functions, classes), comment out what does things, read
the version comments of imports, and collect the files embedded in markdown cells.

>>> conversion = convert_notebook("main.ipynb")
>>> conversion.script, conversion.requirements_txt, conversion.embedded_files
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from ..core.fsutil import read_bytes
from ..exceptions import ConversionError
from ..transfer.names import same_file_key
from .cells import convert_code, source_of
from .embedded import EmbeddedFile, read_markdown
from .outputs import check_outputs, check_text
from .requirements import Requirement, requirements_txt, resolve
from .versions import IGNORED, ModuleRequirement, VersionInfo, merge, parse_comment

__all__ = ["Conversion", "CellDecision", "Requirement", "EmbeddedFile", "convert_notebook", "load_notebook", "temporary_script"]

NotebookInput = Union[str, bytes, "os.PathLike[str]", Dict[str, Any]]

NO_WHITELIST_WARNING = (
    "no library whitelist (not in a workspace, or the hub is unreachable and nothing is cached): "
    "requirement names come from the installed distributions"
)


@dataclass
class CellDecision:
    """What the converter did with one cell (for ``--verbose``)."""

    index: int
    id: str
    cell_type: str
    action: str  # "converted", "empty", "embedded", "skipped"
    lines: int = 0
    details: List[str] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"cell {self.index} (id {self.id}, {self.cell_type}): {self.action}"
        if self.action == "converted":
            head += f", {self.lines} line(s)"
        return head


@dataclass
class Conversion:
    script: str
    requirements: List[Requirement]
    requirements_txt: str
    embedded_files: Dict[str, str]
    warnings: List[str]
    cells: List[CellDecision]
    modules: Dict[str, ModuleRequirement] = field(default_factory=dict)


def load_notebook(notebook: NotebookInput) -> Tuple[Dict[str, Any], str]:
    """The notebook as a dict, and a name for messages. Errors are one line each."""
    if isinstance(notebook, dict):
        return notebook, "the notebook"
    if isinstance(notebook, bytes):
        data, name = notebook, "the notebook"
    elif isinstance(notebook, str) and notebook.lstrip().startswith("{"):
        data, name = notebook.encode("utf-8", "surrogatepass"), "the notebook"
    else:
        name = os.fspath(notebook)  # type: ignore[arg-type]
        try:
            data = read_bytes(name)
        except FileNotFoundError:
            raise ConversionError(f"{name}: no such notebook file") from None
        except IsADirectoryError:
            raise ConversionError(f"{name}: is a folder, not a notebook file") from None
        except OSError as error:
            raise ConversionError(f"{name}: cannot read the notebook: {error.strerror or error}") from None
    try:
        value = json.loads(data)
    except UnicodeDecodeError:
        raise ConversionError(f"{name} is not a notebook: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ConversionError(f"{name} is not a notebook: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except (ValueError, RecursionError) as error:
        raise ConversionError(f"{name} is not a notebook: {error}") from None
    if not isinstance(value, dict):
        raise ConversionError(f"{name} is not a notebook: the JSON is not an object with `cells`")
    return value, name


def _check_format(notebook: Dict[str, Any], name: str) -> List[Any]:
    version = notebook.get("nbformat")
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool):
            raise ConversionError(f"{name} is not a notebook: `nbformat` is {version!r}")
        if version < 4:
            raise ConversionError(
                f"{name} is an nbformat {version} notebook: only nbformat 4 is supported "
                "(open and save it with a recent Jupyter to upgrade it)"
            )
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        if "worksheets" in notebook:
            raise ConversionError(f"{name} is an nbformat 3 notebook: only nbformat 4 is supported (open and save it with a recent Jupyter)")
        raise ConversionError(f"{name} is not a notebook: it has no `cells` list")
    return cells


def _cell_id(cell: Dict[str, Any], index: int) -> str:
    metadata = cell.get("metadata")
    value = metadata.get("id") if isinstance(metadata, dict) else None
    if not value:
        value = cell.get("id")
    return str(value) if value else f"cell_{index}"


def convert_notebook(
    notebook: NotebookInput,
    *,
    whitelist: Optional[list] = None,
    freeze: bool = True,
    verbose: bool = False,
) -> Conversion:
    """Convert a notebook (a path, its JSON text or bytes, or a dict) into a script.

    ``whitelist`` is the competition's list of :class:`crunch.api.models.Library` (``None``:
    the installed distributions give the requirement names, and a warning says so).
    Raises :class:`ConversionError` (one line naming the cell) on any problem.
    """
    import gc

    # The conversion makes many short-lived, acyclic AST objects: collecting cycles meanwhile
    # only costs time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _convert(notebook, whitelist, freeze, verbose)
    finally:
        if enabled:
            gc.enable()


def _convert(notebook: NotebookInput, whitelist: Optional[list], freeze: bool, verbose: bool) -> Conversion:
    data, name = load_notebook(notebook)
    cells = _check_format(data, name)

    chunks: List[str] = []
    chunk_cells: List[int] = []
    warnings: List[str] = []
    decisions: List[CellDecision] = []
    modules: Dict[str, ModuleRequirement] = {}
    embedded: Dict[str, EmbeddedFile] = {}

    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise ConversionError(f"cell {index} of {name} is not a cell (a JSON object)")
        cell_id = _cell_id(cell, index)

        def describe(index: int = index, cell_id: str = cell_id) -> str:
            return f"cell {index} (id {cell_id})"

        cell_type = cell.get("cell_type")
        raw = cell.get("source", "")
        if not isinstance(raw, (str, list)):
            raise ConversionError(f"{describe()}: `source` is not text or a list of lines")
        if cell_type == "code":
            try:
                source = source_of(raw)
            except TypeError:
                raise ConversionError(f"{describe()}: `source` is not text or a list of lines") from None
            if not source:
                decisions.append(CellDecision(index, cell_id, "code", "empty"))
                continue
            result = convert_code(source, describe, verbose)
            for line, message in result.warnings:
                warnings.append(f"{describe()}, line {line}: {message}")
            for found in result.imports:
                where = f"{describe()}, line {found.line}"
                try:
                    info = parse_comment(found.comment)
                except ValueError as error:
                    raise ConversionError(f"{where}: version comment `{found.comment}`: {error}") from None
                if info is IGNORED:
                    continue
                for module in found.modules:
                    merge(modules, module, info if isinstance(info, VersionInfo) else VersionInfo(), where)
            if result.text:
                chunks.append(result.text)
                chunk_cells.append(index)
                decisions.append(CellDecision(index, cell_id, "code", "converted", result.text.count("\n") + 1, result.decisions))
            else:
                decisions.append(CellDecision(index, cell_id, "code", "empty", 0, result.decisions))
        elif cell_type == "markdown":
            lines = [_cut(line) if isinstance(line, str) else "" for line in (raw.split("\n") if isinstance(raw, str) else raw)]
            found_file = read_markdown(lines, describe) if lines and lines[0] == "---" else None
            if found_file is None:
                decisions.append(CellDecision(index, cell_id, "markdown", "skipped"))
                continue
            check_text(found_file.content, f"{describe()}: embedded file `{found_file.path}`")
            key = same_file_key(found_file.normalized_path)  # one file where case or unicode form do not count
            previous = embedded.get(key)
            if previous is not None:
                raise ConversionError(f"{describe()}: embedded file `{found_file.path}` is also embedded by an earlier cell (as `{previous.path}`)")
            embedded[key] = found_file
            decisions.append(CellDecision(index, cell_id, "markdown", "embedded", 0, [f"file {found_file.normalized_path}: {len(found_file.content)} character(s)"]))
        else:
            decisions.append(CellDecision(index, cell_id, str(cell_type), "skipped"))

    script = "\n\n\n".join(chunks) + "\n" if chunks else ""
    _check_compiles(script, chunks, chunk_cells, cells)

    requirements = resolve(modules, whitelist, freeze=freeze)
    if whitelist is None and requirements:
        warnings.append(NO_WHITELIST_WARNING)
    return Conversion(
        script=script,
        requirements=requirements,
        requirements_txt=requirements_txt(requirements),
        embedded_files={item.normalized_path: item.content for item in embedded.values()},
        warnings=warnings,
        cells=decisions,
        modules=modules,
    )


def _cut(line: str) -> str:
    line = line.replace("\r", "")
    return line[:-1] if line.endswith("\n") else line


def _check_compiles(script: str, chunks: List[str], chunk_cells: List[int], cells: List[Any]) -> None:
    try:
        # Compiling to bytecode makes no Python AST objects: much faster than ast.parse. It is
        # stricter (``return`` outside a function...), so a failure is confirmed by ast.parse.
        compile(script, "<script>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        return
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:
        ast.parse(script)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        lineno = getattr(error, "lineno", None) or 0
        where = ""
        if lineno:
            start = 1
            for chunk, index in zip(chunks, chunk_cells):
                size = chunk.count("\n") + 1
                if lineno < start + size:
                    where = f" in cell {index} (id {_cell_id(cells[index], index)}), line {lineno - start + 1}"
                    break
                start += size + 2
        message = getattr(error, "msg", None) or str(error) or type(error).__name__
        raise ConversionError(f"the converted script does not compile{where}: {message} (script line {lineno})") from None


@contextlib.contextmanager
def temporary_script(
    root: Union[str, "os.PathLike[str]"],
    notebook_path: Union[str, "os.PathLike[str]"],
    *,
    main_file: str = "main.py",
    whitelist: Optional[list] = None,
    freeze: bool = True,
    script_path: Optional[Union[str, "os.PathLike[str]"]] = None,
    requirements: bool = True,
) -> Iterator[Tuple[Conversion, List[Path]]]:
    """Convert ``notebook_path`` and write ``main_file``, ``requirements.txt`` and the embedded
    files into ``root`` for the time of the ``with`` block.

    Only files that do not exist are written (a person's ``requirements.txt`` or embedded
    file is kept); exactly the files (and folders) written are removed on exit, also on error.
    ``script_path`` writes the script there instead of ``root/main_file`` (a place no one takes
    for the person's own file); ``requirements=False`` writes no ``requirements.txt``.
    Yields the conversion and the list of files written.
    """
    from ..core.fsutil import is_within, write_text_atomic

    base = Path(root)
    conversion = convert_notebook(Path(base, notebook_path), whitelist=whitelist, freeze=freeze)
    main = Path(script_path) if script_path is not None else base / main_file
    if main.exists():
        raise ConversionError(f"{main} already exists: it would be replaced by the conversion of {notebook_path}")
    planned: List[Tuple[Path, str, str]] = [(main, conversion.script, f"the conversion of {notebook_path}")]
    requirements_path = base / "requirements.txt"
    if requirements and not requirements_path.exists():
        planned.append((requirements_path, conversion.requirements_txt, "requirements.txt"))
    for relative, content in conversion.embedded_files.items():
        target = base / relative
        if not is_within(target.parent if target.parent.exists() else base, base) or not _inside(base, relative):
            raise ConversionError(f"embedded file `{relative}` would be written outside {base}")
        if same_file_key(os.path.abspath(target)) == same_file_key(os.path.abspath(main)):
            raise ConversionError(f"embedded file `{relative}` of {notebook_path} is its converted script {main_file}: rename the embedded file")
        if target.is_file() and not target.is_symlink():
            continue  # the person's own file is kept
        planned.append((target, content, f"the embedded file `{relative}`"))
    # a script_path is crunch's own choice (a fresh folder under .crunchdao/converted/ for `crunch test`),
    # not a name from the person or the notebook: the checks of chosen names are for the others
    chosen = planned if script_path is None else planned[1:]
    check_outputs(chosen, reserved=[(Path(base, notebook_path), "the notebook")], workspace=base)

    created: List[Path] = []
    folders: List[Path] = []
    try:
        for target, content, _what in planned:
            missing = []
            parent = target.parent
            while not parent.exists():
                missing.append(parent)
                parent = parent.parent
            for folder in reversed(missing):
                folder.mkdir()
                folders.append(folder)
            write_text_atomic(target, content)
            created.append(target)
        yield conversion, list(created)
    finally:
        for path in reversed(created):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for folder in reversed(folders):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _inside(base: Path, relative: str) -> bool:
    from ..core.fsutil import is_within

    return is_within(base / relative, base)
