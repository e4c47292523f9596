"""The folder of one run: ``<scratch>/run/`` is a workspace holding the submission's code and
model files, its ``.crunchdao/`` (the project, the competition's cached metadata and code) and
``data/`` (links to the data files); ``<scratch>/tmp`` and ``<scratch>/home`` are the runner's
temporary and home folders; the spec and the result sit in ``<scratch>``."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Union

from ..exceptions import UnsafePathError

Content = Union[Path, bytes]


@dataclass
class SandboxLayout:
    files: Dict[str, Content]  # submission path -> source file or bytes (code and model files)
    dot_files: Dict[str, Any] = field(default_factory=dict)  # name under .crunchdao/ -> JSON value
    code_files: Dict[str, Content] = field(default_factory=dict)  # name under .crunchdao/code/ -> content
    data_files: Dict[str, Path] = field(default_factory=dict)  # name under data/ -> source


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafePathError(f"the file {relative} would land outside the run's folder")
    return target


def _put(target: Path, content: Content) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        shutil.copyfile(content, target)


def build_sandbox(scratch: Path, layout: SandboxLayout) -> Path:
    root = scratch / "run"
    root.mkdir(parents=True)
    (scratch / "tmp").mkdir()
    (scratch / "home").mkdir()
    for relative, content in layout.files.items():
        _put(_inside(root, relative), content)
    dot = root / ".crunchdao"
    dot.mkdir(exist_ok=True)
    for name, value in layout.dot_files.items():
        (dot / name).write_text(json.dumps(value), encoding="utf-8")
    for name, content in layout.code_files.items():
        _put(dot / "code" / name, content)
    data = root / "data"
    data.mkdir(exist_ok=True)
    for name, source in layout.data_files.items():
        target = _inside(data, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.abspath(source), target)
    (root / "prediction").mkdir(exist_ok=True)
    return root
