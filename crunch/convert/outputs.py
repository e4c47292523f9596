"""The files a conversion writes (the script, requirements.txt, embedded files), checked
before the first one is written: each text can be saved as UTF-8, no two land on one file
(by name, case or unicode form), none replaces a folder or needs a file to be a folder, and
none replaces a file of another case on a system that ignores case.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple

from ..exceptions import ConversionError
from ..transfer.names import same_file_key

Output = Tuple[Path, str, str]  # (where, text, what it is: "the script", "embedded file `x`"...)


def unencodable(text: str) -> Optional[str]:
    """Where ``text`` cannot be saved as UTF-8 (a lone surrogate), said for a person, or ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        char = text[error.start]
        line = text.count("\n", 0, error.start) + 1
        return f"the character \\u{ord(char):04x} (a lone surrogate, half of a pair) on line {line}"
    return None


def check_text(text: str, what: str) -> None:
    where = unencodable(text)
    if where is not None:
        raise ConversionError(f"{what} cannot be saved as UTF-8: it holds {where}; remove it from the notebook (nothing was written)")


def check_outputs(outputs: Sequence[Output], reserved: Iterable[Tuple[Path, str]] = (), workspace: Optional[Path] = None) -> None:
    """Refuse ``outputs`` before anything is written (see the module); ``reserved`` are
    files no output may land on, such as the notebook itself; nothing lands in the
    ``.crunchdao/`` of ``workspace`` (the push token), by name or through a link."""
    from ..project.modeldir import Protected, lands_in_secret_folder

    protected = Protected(workspace) if workspace is not None else None
    seen: Dict[str, str] = {}
    for path, what in reserved:
        seen[same_file_key(os.path.abspath(path))] = what
    for path, text, label in outputs:
        check_text(text, label)
        what = label if f"`{path}`" in label else f"{label} ({path})"
        if workspace is not None and lands_in_secret_folder(workspace, os.path.relpath(os.path.abspath(path), workspace), protected):
            raise ConversionError(f"{what} would be written into .crunchdao/, which holds your push token: choose another name (nothing was written)")
        key = same_file_key(os.path.abspath(path))
        if key in seen:
            raise ConversionError(f"{what} and {seen[key]} are one file, which would be written twice: rename one of them (nothing was written)")
        seen[key] = what
        if path.is_dir():
            raise ConversionError(f"{what} would be written over the folder {path}: rename one of them (nothing was written)")
        parent = _file_in_the_way(path)
        if parent is not None:
            raise ConversionError(f"{what} needs {parent} to be a folder, but it is a file: rename one of them (nothing was written)")
        twin = _twin(path)
        if twin is not None:
            raise ConversionError(
                f"{what} would replace {twin} on systems that ignore case or unicode form: "
                "rename one of them (nothing was written)"
            )


def _file_in_the_way(path: Path) -> Optional[Path]:
    for parent in Path(os.path.abspath(path)).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
        if os.path.lexists(parent):  # a broken link
            return parent
    return None


def _twin(path: Path) -> Optional[Path]:
    """Another entry of ``path``'s folder that is the same file where case or unicode form do not count."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    key = same_file_key(path.name)
    for name in names:
        if name != path.name and same_file_key(name) == key:
            return folder / name
    return None
