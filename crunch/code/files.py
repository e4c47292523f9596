"""Which files a push sends: code files of the workspace and model files of the model directory.

Code files are every file under the workspace root except hidden and tool files, the data and
prediction folders, the model directory, and whatever the ``.gitignore`` files of the tree
exclude (each relative to its own folder, deeper files winning, as git reads them). Model
files are every file under the model directory except the same hidden files. A symbolic link
is followed when it stays inside the workspace, and refused when it points outside.

A FIFO, a socket or a device is skipped, as git skips them (reading one could wait for ever):
the caller is told, to warn the person.

Nothing of ``.crunchdao/`` is ever selected, whatever the path that reaches it: a model
directory there is refused, and a link, hard link or nested path leading to one of its files
or folders is left out (and reported), since files are recognised by identity, not by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Set, Tuple

from ..core.display import shown as shown_name
from ..core.fsutil import PathLike, human_size, read_text, special_kind
from ..exceptions import SubmissionError, UnsafePathError
from ..project.modeldir import SECRET_PREFIX, Protected
from ..transfer.selected import SelectedFile

HIDDEN_PATTERNS: Tuple[str, ...] = (
    ".git/",
    ".crunchdao/",
    ".crunchdao.previous-*/",
    ".crunch-hub/",
    "__pycache__/",
    ".ipynb_checkpoints/",
    ".env",
    "*.pyc",
    "__MACOSX",
    ".DS_Store",
)
"""Never sent, in the workspace or in the model directory, whatever a ``.gitignore`` says."""

CODE_PATTERNS: Tuple[str, ...] = ("/data/", "/prediction/", "/.virtual_documents/")
"""``.virtual_documents/``: copies of the notebooks that Kaggle's (and JupyterLab's) editor keeps."""
COLAB_PATTERNS: Tuple[str, ...] = ("/.config/", "/sample_data/")

GB = 1000**3
CODE_SIZE_LIMIT = 5 * GB
MODEL_SIZE_LIMIT = 10 * GB
CODE_LIMIT_VARIABLE = "CRUNCH_MAX_CODE_SIZE"
MODEL_LIMIT_VARIABLE = "CRUNCH_MAX_MODEL_SIZE"




def in_colab() -> bool:
    from ..core import platforms

    return platforms.platform_name() == platforms.COLAB


def _spec(lines: Iterable[str]):  # type: ignore[no-untyped-def]
    """The rules of ``lines`` as git reads them: a line git cannot use is skipped, as git does."""
    import warnings

    import pathspec

    usable = [line for line in (_as_git_reads(line) for line in lines) if line is not None]
    with warnings.catch_warnings():  # "possible nested set" of [[:alpha:]]: not the person's concern
        warnings.simplefilter("ignore")
        return pathspec.GitIgnoreSpec.from_lines(usable)


def _compiles(line: str) -> bool:
    import re
    import warnings

    from pathspec.patterns.gitwildmatch import GitWildMatchPattern

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GitWildMatchPattern(line)
    except (ValueError, re.error):
        return False
    return True


def _as_git_reads(line: str) -> Optional[str]:
    """``line`` as a pattern that matches what git's wildmatch matches, or ``None`` for a line
    git never matches with (a lone ``!``, a trailing backslash, a ``[`` never closed...).

    A reversed range in brackets (``[z-a]``) is an error for Python's regular expressions;
    git matches its first character alone (``[z-a]`` is ``[z]``), so it is rewritten so. The
    character classes of letters and digits (``[[:alpha:]]``...) are spelled out as ranges."""
    fixed = _brackets_as_git_reads(line) if "[" in line else line
    return fixed if fixed is not None and _compiles(fixed) else None


_CLASSES = {
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:alnum:]": "a-zA-Z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
    "[:xdigit:]": "0-9a-fA-F",
    "[:blank:]": " \t",
    "[:space:]": " \t\n\r\f\v",
}


def _brackets_as_git_reads(line: str) -> Optional[str]:
    out: List[str] = []
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char == "\\" and i + 1 < n:
            out.append(line[i : i + 2])
            i += 2
            continue
        if char != "[":
            out.append(char)
            i += 1
            continue
        # a bracket expression: [ then ! or ^, then ] as a first member, then members up to ]
        j = i + 1
        if j < n and line[j] in "!^":
            j += 1
        members: List[str] = []  # each member: one character, possibly escaped
        first = True
        while j < n and (line[j] != "]" or first):
            if line[j] == "\\" and j + 1 < n:
                members.append(line[j : j + 2])
                j += 2
            elif line.startswith("[:", j) and line.find(":]", j + 2) != -1:
                end = line.find(":]", j + 2) + 2
                members.append(line[j:end])
                j = end
            else:
                members.append(line[j])
                j += 1
            first = False
        if j >= n:  # no closing bracket: git's wildmatch gives up, the line never matches
            return None
        negated = line[i + 1] in "!^"
        body = _bracket_body(members)
        if body == "^" and not negated:
            out.append("\\^")  # the one character, escaped outside brackets
        else:
            out.append(("[!" if negated else "[") + body + "]")
        i = j + 1
    return "".join(out)


def _bracket_body(members: List[str]) -> str:
    """The members of a bracket expression (``\\x`` escapes, ``a-z`` ranges, classes) spelled
    so that pathspec's reading, which knows no escapes there, matches what git matches."""
    singles: List[str] = []
    spans: List[str] = []
    k = 0
    while k < len(members):
        member = members[k]
        if member in _CLASSES:
            spans.append(_CLASSES[member])
            k += 1
            continue
        if k + 2 < len(members) and members[k + 1] == "-" and members[k + 2] not in _CLASSES:
            low, high = member[-1], members[k + 2][-1]
            if low <= high:
                spans.append(f"{low}-{high}")
            else:
                singles.append(low)  # a reversed range: git matches its start alone
            k += 3
            continue
        singles.append(member[-1])  # "\\x" is x
        k += 1
    first = "]" if "]" in singles else ""
    last = "-" if "-" in singles else ""
    middle = [c for c in singles if c not in "]-^"] + spans
    middle.sort(key=lambda text: text.startswith("^"))  # a leading ^ would negate
    caret = "^" if "^" in singles else ""
    body = first + "".join(middle) + caret + last
    if body.startswith("^") and len(body) > 1:  # "^-": "-^", where "-" comes first and is a character
        body = body[1:] + "^"
    return body


class _Rules:
    """Fixed rules of the walk (always win) and the ``.gitignore`` files met on the way."""

    def __init__(self, fixed: Sequence[str], use_gitignore: bool) -> None:
        self.fixed = _spec(fixed)
        self.use_gitignore = use_gitignore

    def ignored(self, relative: str, is_dir: bool, gitignores: Sequence[Tuple[str, object]]) -> bool:
        key = relative + "/" if is_dir else relative
        if self.fixed.check_file(key).include:
            return True
        # The deepest .gitignore with a pattern matching the path decides, as in git.
        for base, spec in reversed(gitignores):
            sub = key[len(base) :]
            decision = spec.check_file(sub).include  # type: ignore[attr-defined]
            if decision is not None:
                return decision
        return False


def _read_gitignore(folder: Path) -> Optional[object]:
    path = folder / ".gitignore"
    try:
        text = read_text(path, errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as error:
        raise SubmissionError(f"cannot read {path}: {error.strerror}") from None
    return _spec(text.splitlines())


def _walk(
    top: Path,
    workspace: Path,
    rules: _Rules,
    prefix: str = "",
    skip: Optional[Set[str]] = None,
    left_out: Optional[List[str]] = None,
    skipped: Optional[List[str]] = None,
) -> List[SelectedFile]:
    """Every file under ``top`` that the rules keep, named relative to ``top``.

    Files and folders of ``.crunchdao/`` reached by another path are not selected: their
    names (as shown, with ``prefix``) are added to ``left_out``. A FIFO, socket or device is
    not selected either: a sentence naming it is added to ``skipped``.
    """
    found: List[SelectedFile] = []
    real_workspace = os.path.realpath(workspace)
    visited: Set[str] = set()
    skip = skip or set()
    protected = Protected(workspace)
    if protected.holds(top):
        raise UnsafePathError(f"{prefix.rstrip('/') or top} leads into .crunchdao/, which holds your push token: it is never sent")

    def secret(entry: "os.DirEntry[str]", is_dir: bool, shown: str) -> bool:
        try:
            info = entry.stat()  # links followed; cached by the entry for the size below
        except OSError:
            return False
        identity = (info.st_dev, info.st_ino)
        if info.st_ino and identity in (protected.folders if is_dir else protected.files):
            if left_out is not None:
                left_out.append(shown)
            return True
        return False

    def outside(path: Path) -> bool:
        real = os.path.realpath(path)
        return os.path.commonpath([real, real_workspace]) != real_workspace

    def visit(folder: Path, relative: str, gitignores: List[Tuple[str, object]]) -> None:
        real = os.path.realpath(folder)
        if real in visited:  # a link loop, or a folder reached twice through links
            return
        visited.add(real)
        if rules.use_gitignore:
            spec = _read_gitignore(folder)
            if spec is not None:
                gitignores = [*gitignores, (relative, spec)]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            raise SubmissionError(f"cannot list {folder}: {error.strerror}") from None
        for entry in entries:
            name = relative + entry.name
            path = Path(entry.path)
            link = entry.is_symlink()
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if rules.ignored(name, is_dir, gitignores):
                continue
            if is_dir and entry.name.casefold().startswith(SECRET_PREFIX):  # any workspace's, in any case
                continue
            if skip and str(path.resolve()) in skip:
                continue
            if secret(entry, is_dir, prefix + name):
                continue
            if link and outside(path):
                shown = prefix + name
                raise UnsafePathError(
                    f"{shown} is a symbolic link to {os.path.realpath(path)}, outside the workspace: "
                    "copy the file into the workspace, or add the link to .gitignore"
                )
            if is_dir:
                visit(path, name + "/", gitignores)
                continue
            try:
                info = entry.stat()
            except OSError as error:
                if link:
                    raise SubmissionError(f"{prefix + name} is a broken symbolic link: remove it or add it to .gitignore") from None
                raise SubmissionError(f"cannot read {prefix + name}: {error.strerror}") from None
            kind = special_kind(info.st_mode)
            if kind is not None:  # reading it could wait for ever: skipped as git skips it, and said
                if skipped is not None:
                    skipped.append(f"{shown_name(prefix + name)} is {kind}, not a regular file: it is not sent (as git skips it)")
                continue
            found.append(SelectedFile(path=name, source=path, size=info.st_size))

    visit(top, "", [])
    return found


def check_model_directory(root: PathLike, model_directory: str) -> str:
    """``model_directory`` as a clean POSIX path relative to ``root``, or an error (see
    :func:`crunch.project.modeldir.check`)."""
    from ..project import modeldir

    return modeldir.check(root, model_directory, error=SubmissionError)


def list_code_files(
    root: PathLike,
    model_directory: str,
    *,
    colab: Optional[bool] = None,
    exclude: Iterable[PathLike] = (),
    left_out: Optional[List[str]] = None,
    skipped: Optional[List[str]] = None,
) -> List[SelectedFile]:
    """The code files of the workspace at ``root``, sorted by path (see :func:`_walk` for
    ``left_out`` and ``skipped``)."""
    top = Path(root)
    model = check_model_directory(top, model_directory)
    patterns = [*HIDDEN_PATTERNS, *CODE_PATTERNS, f"/{model}/"]
    if colab is None:
        from ..core import platforms

        patterns.extend(platforms.PLATFORM_FOLDERS.get(platforms.platform_name() or "", ()))
    elif colab:
        patterns.extend(COLAB_PATTERNS)
    skip = {str(Path(p).resolve()) for p in exclude}
    return _walk(top, top, _Rules(patterns, use_gitignore=True), skip=skip, left_out=left_out, skipped=skipped)


def list_model_files(
    root: PathLike,
    model_directory: str,
    *,
    exclude: Iterable[PathLike] = (),
    left_out: Optional[List[str]] = None,
    skipped: Optional[List[str]] = None,
) -> List[SelectedFile]:
    """The model files, named relative to the model directory (empty when it does not exist)."""
    top = Path(root)
    model = check_model_directory(top, model_directory)
    folder = top / model
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise SubmissionError(f"the model directory {model} is a file: give a folder with --model-directory")
    real_top = os.path.realpath(top)
    if folder.is_symlink() and os.path.commonpath([os.path.realpath(folder), real_top]) != real_top:
        raise UnsafePathError(f"the model directory {model} is a symbolic link outside the workspace: use a folder inside it")
    skip = {str(Path(p).resolve()) for p in exclude}
    return _walk(folder, top, _Rules(HIDDEN_PATTERNS, use_gitignore=False), prefix=model + "/", skip=skip, left_out=left_out, skipped=skipped)


def size_limit(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SubmissionError(f"{variable}={value!r} is not a number of bytes") from None


def check_limits(code: Sequence[SelectedFile], model: Sequence[SelectedFile], model_directory: str = "") -> None:
    """Refuse a push whose code or model is over the hub's limits, naming the largest files."""
    for files, limit, what, advice, prefix in (
        (code, size_limit(CODE_LIMIT_VARIABLE, CODE_SIZE_LIMIT), "code files", "move large files out of the workspace, or add them to .gitignore", ""),
        (model, size_limit(MODEL_LIMIT_VARIABLE, MODEL_SIZE_LIMIT), "model files", "remove old or unused model files", f"{model_directory}/" if model_directory else ""),
    ):
        total = sum(f.size for f in files)
        if total > limit:
            largest = sorted(files, key=lambda f: f.size, reverse=True)[:3]
            names = ", ".join(f"{prefix}{f.path} ({human_size(f.size)})" for f in largest)
            raise SubmissionError(
                f"the {what} take {human_size(total)}, over the limit of {_limit_text(limit)}; "
                f"the largest: {names}: {advice}"
            )


def _limit_text(limit: int) -> str:
    return f"{limit // GB} GB" if limit >= GB and limit % GB == 0 else human_size(limit)
