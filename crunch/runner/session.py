"""What every local run needs, whichever family runs it (the classic loop or the competition's
own runner): the participant's module loaded from the workspace's root, the model directory,
and the time and memory the run took.
"""

from __future__ import annotations

import contextlib
import os
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, TextIO

from ..core.fsutil import human_size
from .loader import importable_by_child_processes, load_module, on_sys_path
from .memory import current_rss_bytes, peak_rss_bytes


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextlib.contextmanager
def participant_module(
    root: Path, script: Path, stream: Optional[TextIO] = None, name: Optional[str] = None, folder: Optional[Path] = None
) -> Iterator[types.ModuleType]:
    """``script`` imported (as ``name``, by default after its stem) with its folder (or ``folder``:
    where a notebook's converted script runs from) first on ``sys.path`` and the workspace's
    ``root`` as the working directory, for the whole run; the processes the run starts import
    it by the same name."""
    if name is None:
        name = script.stem if script.stem.isidentifier() else "main"
    search = folder or script.parent
    with on_sys_path(search), importable_by_child_processes(script, name, search), working_directory(root):
        yield load_module(script, root, stream, name=name)


def model_directory(root: Path, override: Optional[str], default: str) -> Path:
    """The model directory (``override`` or the workspace's ``default``, relative to ``root``), made."""
    from ..core.fsutil import ensure_folder

    # written by train(): a file in the way or a read-only folder is said before the person's code runs
    return ensure_folder(root / (override or default), writable=True)


def relative_or_absolute(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (as the platform passes it), else absolute."""
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path.resolve())


@dataclass
class Usage:
    """Wall time since ``started`` and memory (resident now, and the peak of the process)."""

    started: float = field(default_factory=time.perf_counter)
    memory_before: Optional[int] = field(default_factory=current_rss_bytes)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    @property
    def peak(self) -> Optional[int]:
        return max(filter(None, (peak_rss_bytes(), current_rss_bytes())), default=None)

    def lines(self) -> List[str]:
        elapsed = self.seconds
        after = current_rss_bytes()
        peak = self.peak

        def shown(value: Optional[int]) -> str:
            return human_size(value) if value else "unknown"

        return [
            f"duration - time={time.strftime('%H:%M:%S', time.gmtime(elapsed))} ({elapsed:.3f} s)",
            f"memory - before={shown(self.memory_before)} after={shown(after)} peak={shown(peak)}",
        ]
