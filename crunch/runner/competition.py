"""The UNSTRUCTURED family: the competition's own ``runner.py`` drives the participant's code.

As the platform (and crunch-cli 13.0.1's local runner) does: the working directory is the
workspace's root, ``data_directory_path`` is ``"data"`` (relative), the model directory is
relative to the root, ``prediction_directory_path`` is absolute; the participant's code is the
module ``user_code``; ``runner.run(context=..., data_directory_path=..., model_directory_path=...,
prediction_directory_path=..., tracer=...)`` is called by parameter name. ``context.execute()``
calls ``runner.execute(...)`` for the handlers at every call, in the calling process.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, TextIO

from ..data.competition_code import CompetitionCodeError, require_function
from ..exceptions import CrunchError, ParticipantVisibleError, UserCodeError
from .timings import CallTimings
from .tracing import RunnerTracer, to_execute_span_attributes

USER_MODULE_NAME = "user_code"
DATA_DIRECTORY = "data"


@dataclass
class CompetitionRun:
    """The state of one local run, shared by the contexts handed to the competition's code."""

    root: Path
    runner_module: types.ModuleType
    user_module: types.ModuleType
    user_file: str
    model_directory_path: str
    prediction_directory_path: str
    data_directory_path: str = DATA_DIRECTORY
    train_frequency: int = 1
    force_first_train: bool = True
    determinism_check_enabled: bool = True
    has_gpu: bool = False
    is_local: bool = True  # False in a cloud run: the runner reads the platform-side files
    write: Callable[[str, bool], None] = field(default=lambda line, error: print(line, file=sys.stderr if error else sys.stdout, flush=True))
    started_at: datetime = field(default_factory=datetime.now)
    tracer: RunnerTracer = field(default_factory=RunnerTracer)
    timings: CallTimings = field(default_factory=CallTimings)  # each call into the participant's code
    deterministic: Optional[bool] = None

    def __post_init__(self) -> None:
        self.deterministic = True if self.determinism_check_enabled else None

    # -- what the contexts call ------------------------------------------------------------------

    def log(self, message: str, *, important: bool = False, error: bool = False) -> bool:
        self.write(f"{time.strftime('%H:%M:%S')} {message}", error)
        return True

    def execute(
        self,
        command: str,
        parameters: Optional[Dict[str, Any]],
        *,
        trace: bool = True,
        span_hidden_parameters: Optional[List[str]] = None,
        span_attributes: Optional[Dict[str, Any]] = None,
    ) -> None:
        from ..utils import smart_call
        from .unstructured import LocalRunnerExecutorContext, LocalUserModule

        self.log(f"executing - command={command}")
        attributes = to_execute_span_attributes(command, parameters, span_hidden_parameters, span_attributes)
        with self.tracer.span("execute", attributes=attributes, skip=not trace):
            execute = require_function(self.runner_module, "execute")
            handlers = smart_call(
                execute,
                {
                    "context": LocalRunnerExecutorContext(self),
                    "module": LocalUserModule(self),
                    "data_directory_path": self.data_directory_path,
                    "model_directory_path": self.model_directory_path,
                    "prediction_directory_path": self.prediction_directory_path,
                },
            )
            handler = handlers.get(command) if isinstance(handlers, dict) else None
            if handler is None:
                self.log(f"command not found: {command}", error=True)
                return None
            smart_call(handler, parameters or {})

    # -- the run ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Call the competition's ``run()``; its exceptions become one-line errors."""
        from ..utils import smart_call
        from .unstructured import LocalRunnerContext

        run = require_function(self.runner_module, "run")
        self.log("running local test")
        self.log("internet access isn't restricted, no check will be done", important=True)
        with self.tracer.span("executing runner script"), _main_pickles_from(self.user_module), _notebook_display():
            smart_call(
                run,
                {
                    "context": LocalRunnerContext(self),
                    "data_directory_path": self.data_directory_path,
                    "model_directory_path": self.model_directory_path,
                    "prediction_directory_path": self.prediction_directory_path,
                    "tracer": self.tracer,
                },
            )
        shown = os.path.relpath(self.prediction_directory_path, self.root)
        self.log(f"save prediction - path={shown}{os.sep}", important=True)
        if self.determinism_check_enabled:
            if self.deterministic:
                self.log("determinism check: passed")
            else:
                self.log("determinism check: failed", error=True)


@contextlib.contextmanager
def _notebook_display() -> Iterator[None]:
    """``display(...)`` (a notebook's) prints, while the run lasts, when nothing defines it."""
    import builtins

    if hasattr(builtins, "display"):
        yield
        return
    builtins.display = print  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del builtins.display  # type: ignore[attr-defined]


@contextlib.contextmanager
def _main_pickles_from(user_module: types.ModuleType) -> Iterator[None]:
    """While running, an object pickled from a notebook (class ``__main__.X``) loads from the
    participant's module when ``__main__`` has no such name (pickle's Python unpickler, which
    pandas and joblib use)."""
    import pickle

    unpickler = pickle._Unpickler
    original = unpickler.find_class

    def find_class(self: Any, module: str, name: str) -> Any:
        if module == "__main__" and not hasattr(sys.modules.get("__main__"), name) and hasattr(user_module, name):
            module = USER_MODULE_NAME
        return original(self, module, name)

    unpickler.find_class = find_class
    try:
        yield
    finally:
        unpickler.find_class = original


# -- errors ----------------------------------------------------------------------------------------


def _origin(error: BaseException, root: Path, code_dir: Path) -> str:
    """``"user"`` when the participant's files are in the traceback, else ``"competition"``
    when the competition's files are, else ``"crunch"``."""
    frames = traceback.extract_tb(error.__traceback__)
    base = str(root.resolve()) + os.sep
    code = str(code_dir.resolve()) + os.sep
    seen = "crunch"
    for frame in frames:
        path = os.path.realpath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if path.startswith(code):
            seen = "competition"
        elif path.startswith(base) and os.sep + ".crunchdao" + os.sep not in path[len(base) - 1 :]:
            if "site-packages" not in path:
                return "user"
    return seen


def _print_frames(error: BaseException, root: Path, stream: TextIO) -> None:
    base = str(root.resolve()) + os.sep
    kept = []
    for frame in traceback.extract_tb(error.__traceback__):
        path = os.path.realpath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if path.startswith(base) and "site-packages" not in path:
            frame.filename = path[len(base) :]
            kept.append(frame)
    if kept:
        lines = ["Traceback (your code and the competition's, most recent call last):\n"]
        lines.extend(traceback.format_list(kept))
        print("".join(lines).rstrip("\n"), file=stream, flush=True)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def describe_failure(error: BaseException, run: CompetitionRun, code_dir: Path, stream: TextIO) -> CrunchError:
    """The one-line error for an exception raised during the run (frames printed first)."""
    import re

    if isinstance(error, CrunchError):
        return error
    runner_file = Path(run.runner_module.__file__ or "runner.py").name
    missing = re.fullmatch(r"no `(\w+)` (function|value) found", str(error)) if isinstance(error, ValueError) else None
    if missing:
        name, kind = missing.groups()
        hint = f"define `def {name}(...)`" if kind == "function" else f"define `{name}`"
        return UserCodeError(
            f"{run.user_file} has no `{name}` {kind}, which the competition's {runner_file} asks for: {hint} (see the quickstarter)"
        )
    _print_frames(error, run.root, stream)
    if type(error).__name__ == "ParticipantVisibleError":
        return ParticipantVisibleError(f"the competition's {runner_file} refused the run: {error}")
    origin = _origin(error, run.root, code_dir)
    if origin == "user":
        failure = UserCodeError(f"your code raised {_first_line(error)} (called by the competition's {runner_file})")
    else:
        failure = CompetitionCodeError(
            f"the competition's {runner_file} raised {_first_line(error)}: "
            "check that your functions return what the competition expects (see the quickstarter)"
        )
    failure.original = error  # type: ignore[attr-defined]
    return failure
