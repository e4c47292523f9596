"""Import the person's ``main.py`` and report failures in their code with their own frames.

A traceback shown to a person keeps only the frames of their files (``main.py`` and the
modules beside it, or a notebook's cells): the runner's and libraries' frames are noise.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
import types
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional, TextIO

from ..exceptions import UserCodeError

FramePredicate = Callable[[str], bool]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_MARKERS = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


def files_under(root: os.PathLike) -> FramePredicate:
    """A predicate: is a frame's file one of the person's files under ``root``."""
    base = os.path.realpath(root) + os.sep

    def is_user_file(filename: str) -> bool:
        if not filename or filename.startswith("<"):
            return False
        path = os.path.realpath(filename)
        if not path.startswith(base) or path.startswith(_PACKAGE_DIR + os.sep):
            return False
        return not any(marker in path for marker in _LIBRARY_MARKERS)

    return is_user_file


def notebook_frames(filename: str) -> bool:
    """A predicate for code typed in a notebook or an interactive shell."""
    if filename.startswith("<ipython-input-") or filename.startswith("<stdin>") or filename == "<string>":
        return True
    if not filename or filename.startswith("<"):
        return False
    path = os.path.realpath(filename)
    if path.startswith(_PACKAGE_DIR + os.sep) or any(marker in path for marker in _LIBRARY_MARKERS):
        return False
    # ipykernel compiles each cell into a file such as /tmp/ipykernel_123/4567.py
    return "ipykernel_" in path


def user_frames(error: BaseException, is_user_file: FramePredicate) -> traceback.StackSummary:
    """The frames of ``error``'s traceback that belong to the person's files."""
    frames = traceback.extract_tb(error.__traceback__)
    mine = [frame for frame in frames if is_user_file(frame.filename)]
    if not mine and frames:
        mine = [frames[-1]]
    return traceback.StackSummary.from_list(mine)


def trimmed_traceback(error: BaseException, is_user_file: FramePredicate) -> Optional[types.TracebackType]:
    """``error``'s traceback with only the person's frames (for re-raising in a notebook)."""
    kept: List[types.TracebackType] = []
    tb = error.__traceback__
    while tb is not None:
        if is_user_file(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    if not kept:
        return error.__traceback__
    for current, following in zip(kept, kept[1:]):
        current.tb_next = following
    kept[-1].tb_next = None
    return kept[0]


def describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def user_code_error(
    error: BaseException,
    what: str,
    is_user_file: FramePredicate,
    stream: Optional[TextIO] = None,
    root: Optional[os.PathLike] = None,
) -> UserCodeError:
    """Print the person's frames of ``error`` to ``stream`` and return the one-line error."""
    out = stream or sys.stderr
    lines: List[str] = []
    if isinstance(error, SyntaxError):
        # the file, line and caret; the last line (the message) is the one-line error
        lines.extend(traceback.format_exception_only(type(error), error)[:-1])
    else:
        frames = user_frames(error, is_user_file)
        if root is not None:
            base = os.path.realpath(root) + os.sep
            for frame in frames:
                real = os.path.realpath(frame.filename) if not frame.filename.startswith("<") else frame.filename
                if real.startswith(base):
                    frame.filename = real[len(base):]
        if len(frames):
            lines.append("Traceback (your code, most recent call last):\n")
            lines.extend(traceback.format_list(frames))
    if lines:
        print("".join(lines).rstrip("\n"), file=out, flush=True)
    failure = UserCodeError(f"{what} raised {describe(error)}")
    failure.original = error  # type: ignore[attr-defined]
    return failure


@contextmanager
def on_sys_path(folder: os.PathLike) -> Iterator[None]:
    """Put ``folder`` first on ``sys.path`` for the duration (the platform runs from there)."""
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        try:
            sys.path.remove(entry)
        except ValueError:
            pass


def load_module(path: Path, root: Path, stream: Optional[TextIO] = None, name: Optional[str] = None) -> types.ModuleType:
    """Import ``path`` as a module named ``name``, by default after its stem (``main``), with
    ``root`` on sys.path.

    The module stays registered in ``sys.modules`` so that objects pickled from it (a model
    class defined in main.py) can be loaded back. The caller keeps ``root`` on ``sys.path``.
    """
    if name is None:
        name = path.stem if path.stem.isidentifier() else "main"
    spec = importlib.util.spec_from_file_location(name, str(path))
    if spec is None or spec.loader is None:
        raise UserCodeError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit included: sys.exit() in main.py is a failure of it
        if previous is not None:
            sys.modules[name] = previous
        else:
            sys.modules.pop(name, None)
        raise user_code_error(error, f"importing {path.name}", files_under(root), stream, root) from error
    return module


def require_function(module: object, name: str, where: str) -> Callable[..., object]:
    function = getattr(module, name, None)
    if function is None:
        raise UserCodeError(f"{where} has no `{name}` function: define `def {name}(...)` (see the quickstarter)")
    if not callable(function):
        raise UserCodeError(f"`{name}` in {where} is a {type(function).__name__}, not a function")
    return function
