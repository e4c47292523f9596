"""One code cell to script text: escape Jupyter lines, keep definitions, comment out the rest.

The statement spans come from :mod:`ast` (C speed); the text between statements (comments,
blank lines, the footer of an indented block) is read straight from the source lines. The
ownership of comment lines follows the concrete syntax tree rules of the platform's
converter, so the output is the same line for line:

- comment and blank lines before a statement belong to it (its *leading lines*), except
  before the first statement, where they are the cell's *header*;
- the lines after an indented block, up to the last one that starts with the block's
  indentation, belong to the block (its *footer*);
- the lines after the last statement are the cell's *footer*; when one of them is indented,
  the lines before the last indented one are dropped (the platform's parser loses them).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

from ..exceptions import ConversionError

MAGIC_PATTERN = re.compile(r"^(\s*?)(!|%|pip3? )")

KEEP_ON = "@crunch/keep:on"
KEEP_OFF = "@crunch/keep:off"
KEEP_NONE = "@crunch/keep:none"

# Modes: NECESSARY keeps imports, functions and classes; EVERYTHING keeps all; NOTHING none.
NECESSARY = "necessary"
EVERYTHING = "everything"
NOTHING = "nothing"

_MARKERS = {KEEP_ON: EVERYTHING, KEEP_OFF: NECESSARY, KEEP_NONE: NOTHING}
_MODE_WORDS = {EVERYTHING: "everything", NECESSARY: "imports, functions and classes", NOTHING: "nothing"}
_HASH_AND_SPACE = " \t\n\r\x0b\x0c#"

_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
) + tuple(getattr(ast, name) for name in ("Match", "TryStar") if hasattr(ast, name))  # Python 3.10+, 3.11+
_PATTERN = getattr(ast, "pattern", None)
_DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORT = (ast.Import, ast.ImportFrom)
_STATEMENT_NAMES = {"AsyncFor": "For", "AsyncWith": "With", "AsyncFunctionDef": "FunctionDef"}


def source_of(cell_source: Union[str, Sequence[str]]) -> str:
    """The cell's code: its lines joined with ``\\n``, carriage returns removed, Jupyter
    lines (``!cmd``, ``%magic``, ``pip install``) turned into comments."""
    if isinstance(cell_source, str):
        pieces = cell_source.split("\n")
    else:
        pieces = list(cell_source)
    out = []
    match = MAGIC_PATTERN.match
    for piece in pieces:
        if not isinstance(piece, str):
            raise TypeError("a line of the source is not text")
        if "\r" in piece:
            piece = piece.replace("\r", "")
        if piece.endswith("\n"):
            piece = piece[:-1]
        found = match(piece)
        if found is not None:
            spaces, command = found.group(1), found.group(2)
            piece = (f"{spaces}pass  #{command}" if spaces else f"#{command}") + piece[found.end() :]
        out.append(piece)
    return "\n".join(out)


def marker_of(line: str) -> Optional[str]:
    """The keep mode a comment line switches to, or ``None``."""
    if "@crunch/keep:" not in line:
        return None
    return _MARKERS.get(line.strip(_HASH_AND_SPACE))


@dataclass
class ImportLine:
    """A top-level import the converter read, with the trailing comment of its line."""

    modules: List[str]
    comment: Optional[str]
    line: int


@dataclass
class CellResult:
    text: str  # the converted cell, without leading/trailing blank lines ("" when empty)
    imports: List[ImportLine] = field(default_factory=list)
    warnings: List[Tuple[int, str]] = field(default_factory=list)  # (line, message)
    decisions: List[str] = field(default_factory=list)


def _comment_out(text: str) -> str:
    """``#`` before every line of ``text`` (its final newline, if any, kept)."""
    parts = text.splitlines()
    out = "#" + "\n#".join(parts)
    if text.endswith("\n"):
        out += "\n"
    return out


class _Source:
    """The cell's physical lines and (line, byte column) -> text offset arithmetic."""

    __slots__ = ("text", "lines", "starts", "count")

    def __init__(self, text: str) -> None:
        self.text = text
        lines = text.split("\n")
        starts = [0] * len(lines)
        offset = 0
        for index, line in enumerate(lines):
            starts[index] = offset
            offset += len(line) + 1
        if lines[-1] == "":  # the text ends with a newline: no line after it
            lines.pop()
            starts.pop()
        self.lines = lines
        self.starts = starts
        self.count = len(lines)

    def offset(self, lineno: int, col: int) -> int:
        """Text offset of ``ast``'s 1-based line and UTF-8 byte column."""
        line = self.lines[lineno - 1] if lineno - 1 < self.count else ""
        if col and not line.isascii():
            col = len(line.encode("utf-8")[:col].decode("utf-8", "replace"))
        return self.starts[lineno - 1] + col if lineno - 1 < self.count else len(self.text)

    def line_end(self, index: int) -> int:
        """Offset just after line ``index`` (0-based), its newline included."""
        if index + 1 < self.count:
            return self.starts[index + 1]
        return len(self.text)

    def span(self, first: int, last: int) -> str:
        """Lines ``first``..``last`` (0-based, inclusive) with their newlines."""
        if first > last:
            return ""
        return self.text[self.starts[first] : self.line_end(last)]


def _last_block(node: ast.stmt, src: _Source) -> Optional[List[ast.stmt]]:
    """The statements of the last clause of a compound statement."""
    if isinstance(node, ast.If):
        if node.orelse:
            first = node.orelse[0]
            if len(node.orelse) == 1 and isinstance(first, ast.If):
                line = src.lines[first.lineno - 1]
                if line[_char_col(line, first.col_offset) :].startswith("elif"):
                    return _last_block(first, src)
            return node.orelse
        return node.body
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
        return node.orelse or node.body
    if type(node).__name__ == "Match":
        return [node.cases[-1].pattern] if node.cases else None  # type: ignore[attr-defined]
    if isinstance(node, _TRY):
        return node.finalbody or node.orelse or (node.handlers[-1].body if node.handlers else node.body)  # type: ignore[attr-defined]
    return getattr(node, "body", None)


_TRY = (ast.Try,) + ((ast.TryStar,) if hasattr(ast, "TryStar") else ())  # type: ignore[attr-defined]


def _char_col(line: str, col: int) -> int:
    if col and not line.isascii():
        return len(line.encode("utf-8")[:col].decode("utf-8", "replace"))
    return col


def _block_indent(node: ast.stmt, src: _Source) -> Optional[str]:
    """The indentation of the last clause's block, or ``None`` for a one-line body."""
    block = _last_block(node, src)
    if not block:
        return None
    first = block[0]
    line = src.lines[first.lineno - 1]
    if _PATTERN is not None and isinstance(first, _PATTERN):  # the cases of a match: their own indented block
        prefix = line[: len(line) - len(line.lstrip())]
    else:
        prefix = line[: _char_col(line, first.col_offset)]
    if prefix and not prefix.strip():
        return prefix
    return None


def _is_empty_line(line: str) -> bool:
    stripped = line.lstrip(" \t\x0c")
    return not stripped or stripped.startswith("#")


def _is_r_import(node: ast.stmt, src: _Source) -> bool:
    """``name = importr("package")``: an R package import (kept, like Python imports)."""
    if isinstance(node, ast.Assign):
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return False
    elif isinstance(node, ast.AnnAssign):
        if not isinstance(node.target, ast.Name):
            return False
    else:
        return False
    call = node.value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "importr":
        return False
    arguments: List[ast.AST] = [*call.args, *call.keywords]
    if not arguments:
        return False
    first = min(arguments, key=lambda a: (a.lineno, a.col_offset))
    value = first.value if isinstance(first, ast.keyword) else first
    if isinstance(first, ast.keyword) and first.arg is None:
        return False
    if isinstance(value, ast.Starred) or not isinstance(value, ast.Constant):
        return False
    if not isinstance(value.value, (str, bytes)):
        return False
    raw = src.text[src.offset(value.lineno, value.col_offset) : src.offset(value.end_lineno or value.lineno, value.end_col_offset or 0)]
    return _single_string(raw) and len(raw) > 2


def _single_string(raw: str) -> bool:
    import io
    import tokenize

    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(raw).readline) if t.type == tokenize.STRING]
    except (tokenize.TokenError, SyntaxError):
        return False
    return len(tokens) == 1 and tokens[0].string == raw


def parse_cell(source: str, describe: Callable[[], str]) -> ast.Module:
    """``ast.parse`` with the parser's message turned into a :class:`ConversionError`."""
    try:
        return ast.parse(source)
    except SyntaxError as error:
        where = f" (line {error.lineno}" + (f", column {error.offset}" if error.offset else "") + ")" if error.lineno else ""
        raise ConversionError(f"{describe()} cannot be parsed: {error.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise ConversionError(f"{describe()} cannot be parsed: {error or type(error).__name__}") from None


def convert_code(source: str, describe: Callable[[], str], verbose: bool = False) -> CellResult:
    """Convert one code cell's escaped ``source`` (see :func:`source_of`)."""
    tree = parse_cell(source, describe)
    src = _Source(source)
    body = tree.body
    result = CellResult("")
    out: List[str] = []
    decisions = result.decisions if verbose else None

    # Group the top-level statements into units: a compound statement, or the small
    # statements of one logical line. Each unit: (kind, statements, first line, last line).
    units: List[Tuple[bool, List[ast.stmt], int, int]] = []
    index = 0
    total = len(body)
    while index < total:
        node = body[index]
        if isinstance(node, _COMPOUND):
            first = node.lineno
            decorators = getattr(node, "decorator_list", None)
            if decorators:
                first = min(first, *(d.lineno for d in decorators))
            units.append((True, [node], first - 1, (node.end_lineno or node.lineno) - 1))
            index += 1
            continue
        group = [node]
        index += 1
        while index < total:
            following = body[index]
            if isinstance(following, _COMPOUND):
                break
            previous = group[-1]
            gap = source[src.offset(previous.end_lineno or previous.lineno, previous.end_col_offset or 0) : src.offset(following.lineno, following.col_offset)]
            if "\n" in gap.replace("\\\n", ""):
                break
            group.append(following)
            index += 1
        last = group[-1]
        units.append((False, group, group[0].lineno - 1, (last.end_lineno or last.lineno) - 1))

    def scan_markers(mode: str, start: int, stop: int) -> str:
        """The mode after the markers of lines ``start`` to ``stop - 1``."""
        for line_index in range(start, stop):
            found = marker_of(src.lines[line_index])
            if found is not None:
                mode = found
                if decisions is not None:
                    decisions.append(f"line {line_index + 1}: marker, now keeping {_MODE_WORDS[found]}")
        return mode

    mode = NECESSARY
    cursor = 0  # first line not yet written
    for position, (compound, statements, first, last) in enumerate(units):
        leading = src.span(cursor, first - 1)
        if position == 0 and leading:
            # the header: visited for markers, always written as it is
            mode = scan_markers(mode, cursor, first)
            out.append(leading)
            leading = ""
        if compound:
            node = statements[0]
            end = last
            indent = _block_indent(node, src)
            if indent is not None:
                limit = units[position + 1][2] if position + 1 < len(units) else src.count
                for line_index in range(last + 1, limit):
                    if src.lines[line_index].startswith(indent):
                        end = line_index
            name = type(node).__name__
            name = _STATEMENT_NAMES.get(name, name)
            if not isinstance(node, _DEFINITION):
                nested = sum(1 for child in ast.walk(node) if isinstance(child, _IMPORT))
                if nested:
                    result.warnings.append((first + 1, f"found {nested} nested import{'s' if nested > 1 else ''} in {name} statement"))
            code = src.span(first, end)
            out.append(leading)
            keep = mode == EVERYTHING or (mode == NECESSARY and isinstance(node, _DEFINITION))
            out.append(code if keep else _comment_out(code))
            if decisions is not None:
                decisions.append(f"line {first + 1}: {name} {'kept' if keep else 'commented out'}")
            cursor = end + 1
            continue

        # a logical line of small statements: its leading lines are visited first
        if leading:
            mode = scan_markers(mode, cursor, first)
        line_text = src.span(first, last)
        if mode == NOTHING:
            out.append(_comment_out(leading + line_text))
            if decisions is not None:
                decisions.append(f"line {first + 1}: commented out (keep none)")
            cursor = last + 1
            continue
        out.append(leading)
        start = src.starts[first]
        stop = src.offset(statements[-1].end_lineno or statements[-1].lineno, statements[-1].end_col_offset or 0)
        trailing = source[stop : src.line_end(last)]
        comment = None
        rest = trailing.strip()
        if rest.startswith(";"):
            rest = rest[1:].lstrip()
        if rest.startswith("#"):
            comment = rest
        pieces: List[str] = []
        count = len(statements)
        for number, node in enumerate(statements):
            begin = src.offset(node.lineno, node.col_offset)
            finish = src.offset(statements[number + 1].lineno, statements[number + 1].col_offset) if number + 1 < count else stop
            if number == 0 and begin > start:
                pieces.append(source[start:begin])
            text = source[begin:finish]
            is_import = isinstance(node, _IMPORT)
            if is_import:
                modules = _modules_of(node)  # type: ignore[arg-type]
                if modules:
                    result.imports.append(ImportLine(modules, comment if number + 1 == count else None, node.lineno))
            keep = mode == EVERYTHING or is_import or _is_r_import(node, src)
            pieces.append(text if keep else _comment_out(text))
            if decisions is not None:
                what = type(node).__name__
                decisions.append(f"line {node.lineno}: {what} {'kept' if keep else 'commented out'}")
        pieces.append(trailing)
        out.append("".join(pieces))
        cursor = last + 1

    # the cell's footer
    if cursor < src.count:
        footer_lines = src.lines[cursor:]
        for line in footer_lines:
            found = marker_of(line)
            if found is not None:
                mode = found
        if units:
            # before the first comment at column 0, the lines before the last indented one are lost
            last_indented = 0
            for line_index, line in enumerate(footer_lines):
                head = line[:1]
                if head == "#":
                    break
                if head in (" ", "\t"):
                    last_indented = line_index
            cursor += last_indented
        out.append(src.span(cursor, src.count - 1))

    text = "".join(out).strip("\r\n")
    result.text = "\n".join(text.splitlines())
    return result


def _modules_of(node: Union[ast.Import, ast.ImportFrom]) -> List[str]:
    """Top-level module names of an import (``import a.b.c`` -> ``a``); none for relative ones."""
    if isinstance(node, ast.Import):
        names: List[str] = []
        for alias in node.names:
            top = alias.name.split(".", 1)[0]
            if top not in names:
                names.append(top)
        return names
    if node.level or not node.module:
        return []
    return [node.module.split(".", 1)[0]]
