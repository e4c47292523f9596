"""Names of the files that come from the hub: what a clone, a submission checkout, a
quickstarter or a data release may write into a workspace.

Three rules, each checked on the whole list before anything is written:

- **No file twice.** Two names are the same file when they are equal once normalised: ``./X``
  is ``X``, names that differ only by case are one file on macOS and Windows, and the two
  unicode spellings of an accented letter (NFC, NFD) are one file on macOS. A name that is also
  the folder of another (``lib`` and ``lib/x.py``) cannot be written either. Otherwise two
  transfers share one ``.part`` and one file's bytes can end up under the other's name.
- **Nothing that steers the workspace.** A name that ``crunch``, git, Python or the tools
  around them obey when they find it in a folder (``.git/``, ``.crunchdao/``, ``.env``,
  ``sitecustomize.py``, ``site-packages/``...: :data:`STEERING` and :func:`steering_reason`, the list
  and its reasons are in docs/guarantees.md) is refused: the person reads the code they run,
  not the configuration a hub could plant beside it.
- **Names the file system can hold.** A component longer than :data:`NAME_LIMIT` bytes (255,
  less room for the ``.part`` and temporary names written beside it), a path longer than the
  system allows, a control character, and on Windows the names it reserves (``CON``, ``aux.py``,
  ``a:b``, a trailing dot or space) are refused with a line naming them, never an ``OSError``
  half-way.
"""

from __future__ import annotations

import os
import posixpath
import re
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple

from ..exceptions import UnsafePathError

NAME_LIMIT = 255 - 32
"""Bytes (UTF-8) of one component: 255 on every common file system, less room for the longest
name written beside a file while it arrives (``.<name>.part.ranges.<random>.tmp``)."""

HELPER_ROOM = 32
"""Bytes a path grows by while its file arrives (the same temporary names)."""

STEERING: Dict[str, str] = {
    ".git": "git takes a folder (or file) of that name for a repository's own data: hooks, config, objects",
    ".crunchdao": "crunch takes it for a workspace (its token, its hub address) wherever it finds one above the current folder",
    ".crunch-hub": "it holds a local hub's store and secrets",
    ".env": "crunch reads the CRUNCH_* variables of the current folder's .env (the hub address among them), and other tools load it too",
    ".envrc": "direnv runs it when a shell enters the folder",
    ".gitattributes": "git obeys it: it chooses the filters (git-lfs among them) that rewrite files on commit and checkout",
    ".gitmodules": "git fetches the addresses it names on `git submodule update`",
    ".lfsconfig": "git-lfs reads it: it tells where file contents are sent",
    "__pycache__": "Python runs the compiled files it holds instead of the source beside them",
    "sitecustomize.py": "Python imports it on start-up from every folder of its path",
    "usercustomize.py": "Python imports it on start-up from every folder of its path",
    "site-packages": "Python runs the `import` lines of the .pth files of a site folder on start-up, and imports its packages",
    "dist-packages": "Python runs the `import` lines of the .pth files of a site folder on start-up, and imports its packages",
    "pyvenv.cfg": "it makes its folder a virtual environment for the Python started from it",
    ".venv": "the usual folder of the workspace's virtual environment, whose scripts and packages are run",
    "pip.conf": "pip reads it in a virtual environment (the package index to trust among others)",
    "pip.ini": "pip reads it in a virtual environment (the package index to trust among others)",
    ".vscode": "VS Code runs the interpreter and tasks it names in a folder it trusts",
    ".idea": "PyCharm and other JetBrains editors run the interpreter and run configurations it names",
}
"""Names (of a file or a folder, at any depth, in any case) refused in files from the hub, with
the reason given in the error."""

_SUFFIXES: Tuple[Tuple[str, str], ...] = (
    (".pyc", "Python runs a compiled file in place of (or without) its source"),
)

_JUPYTER = re.compile(r"^(jupyter|ipython)(_[a-z0-9]+)*_config\.(py|json)$")
_JUPYTER_REASON = "Jupyter and IPython load (and run) the configuration files of the folder they start in"

_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9\u00b9\u00b2\u00b3]|lpt[0-9\u00b9\u00b2\u00b3]|conin\$|conout\$)$")
_WINDOWS_CHARACTERS = set('<>:"|?*')

# code points that HFS+ (macOS) ignores in names: ".g\u200cit" is ".git" there
_IGNORABLE = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])


def same_file_key(name: str) -> str:
    """What ``name`` is on the most forgiving file system: normalised, unicode NFC, no case."""
    text = posixpath.normpath(str(name).replace("\\", "/"))
    return unicodedata.normalize("NFC", text).casefold()


def _component_key(part: str) -> str:
    """One component as the most forgiving file system reads it: no ignorable code points, NFC,
    no case, trailing dots and spaces removed (Windows drops them)."""
    text = unicodedata.normalize("NFC", part.translate(_IGNORABLE)).casefold()
    return text.rstrip(". ") or text


def steering_reason(path: str) -> Optional[Tuple[str, str]]:
    """(component, reason) when ``path`` (relative, POSIX) holds a name that something obeys
    when it finds it in a folder (see :data:`STEERING`), else None."""
    for part in str(path).replace("\\", "/").split("/"):
        key = _component_key(part)
        if key.startswith(".crunchdao"):  # and the .crunchdao.previous-*/ a --force setup sets aside
            return part, STEERING[".crunchdao"]
        if key in ("git~1",):  # the short (8.3) name of .git on Windows
            return part, STEERING[".git"]
        reason = STEERING.get(key)
        if reason is not None:
            return part, reason
        for suffix, why in _SUFFIXES:
            if key.endswith(suffix):
                return part, why
        if _JUPYTER.match(key):
            return part, _JUPYTER_REASON
    return None


def name_problem(path: str, windows: Optional[bool] = None) -> Optional[str]:
    """Why the file system cannot hold the relative POSIX ``path`` as one file, else None.

    ``windows``: also refuse what Windows cannot write (default: when running on Windows)."""
    windows = os.name == "nt" if windows is None else windows
    for part in str(path).split("/"):
        if any(unicodedata.category(char) == "Cc" for char in part):
            return "it holds a control character"
        try:
            size = max(len(part.encode("utf-8")), len(unicodedata.normalize("NFD", part).encode("utf-16-le")) // 2)
        except UnicodeEncodeError:
            return "it holds bytes that are not UTF-8"
        if size > NAME_LIMIT:
            return f"its name {_short(part)} is {size} bytes long, over the {NAME_LIMIT} crunch can write (255 less room for the temporary names written beside it)"
        if windows:
            if _WINDOWS_CHARACTERS.intersection(part):
                return f"{part!r} holds a character Windows refuses in names (one of < > : \" | ? *)"
            if part.endswith((".", " ")):
                return f"{part!r} ends with a dot or a space, which Windows drops"
            if _WINDOWS_DEVICES.match(part.split(".", 1)[0].rstrip(" ").casefold()):
                return f"{part!r} is a device name on Windows"
    return None


def _short(part: str) -> str:
    return repr(part if len(part) <= 40 else part[:30] + "...")


def check_name(name: str, subject: str, advice: str = "nothing was written", windows: Optional[bool] = None) -> None:
    """Refuse the relative POSIX ``name`` of a file from the hub when it steers the workspace
    or cannot be written (see the module): ``refusing <subject>: <why>; <advice>``."""
    steering = steering_reason(name)
    if steering is not None:
        part, reason = steering
        where = "" if _component_key(part) == _component_key(name) else f" ({part!r} in its path)"
        raise UnsafePathError(f"refusing {subject}{where}: {reason}; {advice}")
    problem = name_problem(name, windows)
    if problem is not None:
        raise UnsafePathError(f"refusing {subject}: {problem}; {advice}")


def subject(what: str, name: str) -> str:
    """``the <what> '<name>'``, the name with control characters made visible."""
    return f"the {what} '{_display(name)}'"


def _display(name: str) -> str:
    """``name`` for a message: control characters made visible, a very long name shortened."""
    from ..core.display import shown

    text = shown(name)
    return text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"


def path_limit(folder: Path) -> int:
    """The longest path (bytes) the system takes under ``folder``."""
    try:
        return int(os.pathconf(folder, "PC_PATH_MAX"))
    except (AttributeError, OSError, ValueError):
        return 260 if os.name == "nt" else 4096


def check_targets(names: Sequence[str], folders: Sequence[Path], what: str, advice: str = "nothing was written") -> None:
    """Refuse ``names`` (relative POSIX) when one of them, written under one of ``folders``,
    makes a path longer than the system allows, or lands in a virtual environment there."""
    for folder in folders:
        base = Path(os.path.abspath(folder))
        existing = base
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        limit = path_limit(existing)
        for name in names:
            size = len(os.fsencode(str(base.joinpath(*name.split("/"))))) + HELPER_ROOM
            if size >= limit:
                raise UnsafePathError(
                    f"refusing {subject(what, name)}: under {base} its path would be {size - HELPER_ROOM} bytes long, "
                    f"over what the system allows ({limit} with the temporary names crunch writes beside it); {advice}"
                )
    if folders:
        _check_environments(names, Path(os.path.abspath(folders[0])), what, advice)


def _check_environments(names: Sequence[str], root: Path, what: str, advice: str) -> None:
    """A name whose folder (in ``root``, as it is on disk) is a virtual environment is refused."""
    seen: Dict[str, bool] = {}
    for name in names:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in seen:
                seen[folder] = root.joinpath(*parts[:depth], "pyvenv.cfg").is_file()
            if seen[folder]:
                raise UnsafePathError(
                    f"refusing {subject(what, name)}: {folder}/ is a virtual environment, whose scripts and packages "
                    f"Python and your shell run; {advice}"
                )


def check_distinct(entries: Iterable[Tuple[str, str]], what: str, advice: str) -> None:
    """Refuse ``entries`` (label, name) when a name steers the workspace or cannot be written
    (:func:`check_name`), when two of them name one file, or a file is also a folder of
    another; the error names the entries."""
    entries = list(entries)
    for label, name in entries:
        shown_as = f"'{_display(name)}'" if label == name else f"{_display(label)} ('{_display(name)}')"
        check_name(posixpath.normpath(str(name).replace("\\", "/")), f"{shown_as} of {what}", f"nothing was written; {advice}")
    files: Dict[str, Tuple[str, str]] = {}
    folders: Dict[str, Tuple[str, str]] = {}
    for label, name in entries:
        key = same_file_key(name)
        other = files.get(key) or folders.get(key)
        if other is None:
            parts = key.split("/")
            for depth in range(1, len(parts)):
                other = files.get("/".join(parts[:depth]))
                if other is not None:
                    break
        if other is not None:
            raise UnsafePathError(
                f"{what} names one file twice: {_shown(*other)} and {_shown(label, name)} would be written to the "
                f"same place (names differing only by case or unicode form are one file on many systems); "
                f"nothing was written: {advice}"
            )
        files[key] = (label, name)
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folders.setdefault("/".join(parts[:depth]), (label, name))


def _shown(label: str, name: str) -> str:
    return f"{name!r}" if label == name else f"{label} ({name!r})"
