"""What a competition's ``runner.py`` writes only on the platform, read from its source, and
which missing file an error names.

A competition's ``runner.py`` may write some predictions only when ``context.is_local`` is false
(structural-break-open-benchmark runs a second inference on hidden data and writes
``prediction.noisy.parquet``); its ``scoring.py`` then reads them. :func:`runner_strings` finds
the strings the runner uses only in code that runs on the platform: under ``if not
context.is_local:`` (or the ``else`` of ``if context.is_local:``), in the rest of a block after
``if context.is_local: return``, on the platform's side of ``a if context.is_local else b``;
directly, through a module-level constant, or in a module-level function called only from such
code. Nothing is run. How :mod:`.local_score` uses it is written there.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _is_local_flag(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "is_local") or (isinstance(node, ast.Name) and node.id == "is_local")


def _platform_when(test: ast.AST, truth: bool) -> bool:
    """Whether ``test`` evaluating to ``truth`` implies that ``is_local`` is false."""
    if _is_local_flag(test):
        return not truth
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _platform_when(test.operand, not truth)
    if isinstance(test, ast.BoolOp):
        parts = [_platform_when(value, truth) for value in test.values]
        if isinstance(test.op, ast.And):  # true: every part true; false: some part false
            return any(parts) if truth else all(parts)
        return all(parts) if truth else any(parts)
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, operator, right = test.left, test.ops[0], test.comparators[0]
        if _is_local_flag(right):
            left, right = right, left
        if _is_local_flag(left) and isinstance(right, ast.Constant) and isinstance(right.value, bool):
            equal = isinstance(operator, (ast.Is, ast.Eq))
            if equal or isinstance(operator, (ast.IsNot, ast.NotEq)):
                is_local = right.value if equal == truth else not right.value
                return not is_local
    return False


def _exits(body: List[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], _EXITS)


def _module_constants(tree: ast.Module) -> Dict[str, str]:
    constants: Dict[str, str] = {}
    for statement in tree.body:
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Constant)
            and isinstance(statement.value.value, str)
        ):
            constants[statement.targets[0].id] = statement.value.value
    return constants


@dataclass
class _Strings:
    """The strings of ``runner.py``, each with where it stands."""

    constants: Dict[str, str]
    functions: Set[str]
    found: Dict[Tuple[Optional[str], bool], Set[str]] = field(default_factory=dict)  # (top-level function, platform-only) -> strings
    calls: List[Tuple[str, Optional[str], bool]] = field(default_factory=list)  # (callee, caller, platform-only)

    def add(self, owner: Optional[str], platform: bool, text: str) -> None:
        self.found.setdefault((owner, platform), set()).add(text)

    def body(self, statements: List[ast.stmt], platform: bool, owner: Optional[str]) -> None:
        for statement in statements:
            self.node(statement, platform, owner)
            if not platform and isinstance(statement, ast.If):
                # `if context.is_local: return` -> what follows runs on the platform only
                if (_exits(statement.body) and _platform_when(statement.test, False)) or (
                    _exits(statement.orelse) and _platform_when(statement.test, True)
                ):
                    platform = True

    def node(self, node: ast.AST, platform: bool, owner: Optional[str]) -> None:
        if isinstance(node, (ast.If, ast.IfExp)):
            self.node(node.test, platform, owner)
            then, otherwise = platform or _platform_when(node.test, True), platform or _platform_when(node.test, False)
            if isinstance(node, ast.If):
                self.body(node.body, then, owner)
                self.body(node.orelse, otherwise, owner)
            else:
                self.node(node.body, then, owner)
                self.node(node.orelse, otherwise, owner)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and owner is None:
            for decorator in node.decorator_list:
                self.node(decorator, platform, owner)
            self.node(node.args, platform, owner)
            self.body(node.body, platform, node.name)
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring
        if owner is None and isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a module-level constant: counted where it is used
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.add(owner, platform, node.value)
        elif isinstance(node, ast.Name) and node.id in self.constants:
            self.add(owner, platform, self.constants[node.id])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
            self.calls.append((node.func.id, owner, platform))
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                if value and all(isinstance(item, ast.stmt) for item in value):
                    self.body(value, platform, owner)
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self.node(item, platform, owner)
            elif isinstance(value, ast.AST):
                self.node(value, platform, owner)


@dataclass(frozen=True)
class RunnerStrings:
    """The strings of a ``runner.py`` used only in code that runs on the platform
    (``platform``), and those used anywhere else (``elsewhere``)."""

    platform: FrozenSet[str]
    elsewhere: FrozenSet[str]

    def writes_only_on_platform(self, name: str) -> bool:
        """Whether the file ``name`` (relative to its folder) is named only in platform-only code."""
        base = name.replace(os.sep, "/").rsplit("/", 1)[-1]
        if not base:
            return False

        def names(text: str) -> bool:
            text = text.replace(os.sep, "/")
            return text == base or text.endswith("/" + base)

        return any(names(text) for text in self.platform) and not any(names(text) for text in self.elsewhere)


def runner_strings(source: str) -> RunnerStrings:
    """Read ``runner.py``'s source (nothing is run); a source that does not parse names nothing."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return RunnerStrings(frozenset(), frozenset())
    functions = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    strings = _Strings(_module_constants(tree), functions)
    strings.body(tree.body, False, None)
    callers: Dict[str, List[Tuple[Optional[str], bool]]] = {}
    for callee, caller, platform in strings.calls:
        callers.setdefault(callee, []).append((caller, platform))
    platform_functions: Set[str] = set()
    changed = True
    while changed:  # a function called only from platform-only code (or such functions) is platform-only
        changed = False
        for name, sites in callers.items():
            if name not in platform_functions and all(platform or caller in platform_functions for caller, platform in sites):
                platform_functions.add(name)
                changed = True
    platform_texts: Set[str] = set()
    elsewhere: Set[str] = set()
    for (owner, platform), texts in strings.found.items():
        (platform_texts if platform or owner in platform_functions else elsewhere).update(texts)
    return RunnerStrings(frozenset(platform_texts), frozenset(elsewhere))


def missing_under(error: BaseException, folder: str) -> Optional[str]:
    """The path, relative to ``folder``, that ``error`` or one of its causes says is missing: a
    :class:`FileNotFoundError` naming it in ``filename`` or only in its message (as pyarrow does)."""
    prefixes = {str(Path(folder)) + os.sep, os.path.realpath(folder) + os.sep}
    seen: Set[int] = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, FileNotFoundError):
            texts = [str(current.filename)] if current.filename else []
            texts.append(str(current))
            for text in texts:
                for prefix in prefixes:
                    at = text.find(prefix)
                    if at != -1:
                        rest = re.split(r"[\s'\"]", text[at + len(prefix):], maxsplit=1)[0]
                        if rest:
                            return rest
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True)
class LocalRun:
    """What a local run of the competition's runner had: its prediction folder and what its
    ``runner.py`` writes only on the platform."""

    prediction_dir: str
    runner: RunnerStrings
    runner_file: str = "runner.py"

    @classmethod
    def of(cls, prediction_dir: str, runner_file: Optional[str]) -> "LocalRun":
        """From the path of the runner's source (``None`` or unreadable: it names nothing)."""
        source = ""
        if runner_file:
            try:
                source = Path(runner_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                source = ""
        return cls(prediction_dir, runner_strings(source), Path(runner_file).name if runner_file else "runner.py")
