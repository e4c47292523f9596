"""Pin the requirements of a ``requirements.txt`` to the versions installed here.

A requirement without a version (``pandas``, ``scikit-learn[all]; python_version >= "3.9"``)
gets ``==<installed version>``; everything else is kept as written: comments, blank lines,
option lines (``-r``, ``--index-url``, ``-e``), requirements with a version or a URL, paths.
Installed versions come from ``importlib.metadata`` (:mod:`crunch.core.packages`), not from a
``pip freeze`` subprocess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple

from ..core.packages import installed_version, is_crunch_itself
from ..exceptions import SubmissionError

_COMMENT = re.compile(r"(^|\s+)#.*$")
_OPTIONS = re.compile(r"\s+--[A-Za-z]")


@dataclass
class FreezeResult:
    """``text`` is the pinned file; ``pinned`` the (name, version) pairs added;
    ``not_installed`` the names without a version that are not installed here (kept as they are)."""

    text: str
    pinned: List[Tuple[str, str]] = field(default_factory=list)
    not_installed: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.pinned)


def _logical_lines(text: str) -> List[Tuple[int, List[str]]]:
    """(first line number, physical lines) with ``\\``-continued lines joined, endings kept."""
    result: List[Tuple[int, List[str]]] = []
    current: List[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if not current:
            start = number
        current.append(line)
        if not line.rstrip("\r\n").endswith("\\"):
            result.append((start, current))
            current = []
    if current:
        result.append((start, current))
    return result


def _looks_like_path_or_url(text: str) -> bool:
    """A local path, archive or URL that pip accepts but that is not a named requirement."""
    head = text.split(";")[0].strip()
    return (
        "://" in head
        or head.startswith((".", "/", "~"))
        or "/" in head
        or "\\" in head
        or head.endswith((".whl", ".zip", ".tar.gz", ".tar.bz2", ".tgz"))
    )


@dataclass
class _Line:
    """One logical line of a requirements file: ``spec`` is its named requirement, if any."""

    number: int
    raw: str  # the physical lines, endings kept
    ending: str
    stripped: str  # without comment and surrounding blanks
    comment: str
    spec: str = ""  # the requirement alone, without its per-requirement options
    options: str = ""


def _lines(text: str) -> Iterator[_Line]:
    for number, physical in _logical_lines(text):
        raw = "".join(physical)
        ending = raw[len(raw.rstrip("\r\n")) :]
        logical = "".join(line.rstrip("\r\n")[:-1] if line.rstrip("\r\n").endswith("\\") else line.rstrip("\r\n") for line in physical)
        comment_match = _COMMENT.search(logical)
        comment = logical[comment_match.start() :] if comment_match else ""
        body = logical[: comment_match.start()] if comment_match else logical
        stripped = body.strip()
        line = _Line(number, raw, ending, stripped, comment)
        if stripped and not stripped.startswith("-") and not _looks_like_path_or_url(stripped):
            options_match = _OPTIONS.search(stripped)
            line.options = stripped[options_match.start() :].strip() if options_match else ""
            line.spec = stripped[: options_match.start()] if options_match else stripped
        yield line




def requirement_names(text: str) -> Tuple[List[str], List[str]]:
    """The distribution names a requirements file asks for, and its lines that do not parse.

    Option lines, plain paths and URLs name no distribution and are left out; ``name @ url``
    names ``name``.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    names: List[str] = []
    unreadable: List[str] = []
    for line in _lines(text):
        spec = line.spec
        if not spec and " @ " in line.stripped and not line.stripped.startswith("-"):
            spec = _OPTIONS.split(line.stripped, 1)[0]  # `name @ url`: a named requirement too
        if not spec:
            continue
        try:
            names.append(Requirement(spec).name)
        except InvalidRequirement:
            unreadable.append(line.stripped)
    return names, unreadable


def pin_requirements(
    text: str,
    *,
    version_of: Callable[[str], Optional[str]] = installed_version,
    filename: str = "requirements.txt",
) -> FreezeResult:
    """Pin every requirement of ``text`` that has no version to its installed version.

    Raises :class:`SubmissionError` naming the line when a requirement does not parse.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    out: List[str] = []
    result = FreezeResult(text="")
    for line in _lines(text):
        if not line.spec:
            out.append(line.raw)
            continue
        try:
            requirement = Requirement(line.spec)
        except InvalidRequirement as error:
            reason = str(error).splitlines()[0].strip() if str(error).strip() else "cannot be parsed"
            raise SubmissionError(
                f"{filename} line {line.number}: {line.stripped!r} is not a valid requirement ({reason}): "
                "fix it, or push with --no-pip-freeze to send the file as it is"
            ) from None
        if requirement.url or requirement.specifier or is_crunch_itself(requirement.name):
            out.append(line.raw)
            continue
        version = version_of(requirement.name)
        if version is None:
            result.not_installed.append(requirement.name)
            out.append(line.raw)
            continue
        pinned = requirement.name
        if requirement.extras:
            pinned += "[" + ",".join(sorted(requirement.extras)) + "]"
        pinned += f"=={version}"
        if requirement.marker is not None:
            pinned += f"; {requirement.marker}"
        if line.options:
            pinned += " " + line.options
        if line.comment:
            pinned += line.comment if line.comment.startswith((" ", "\t")) else " " + line.comment
        result.pinned.append((requirement.name, version))
        out.append(pinned + line.ending)
    result.text = "".join(out)
    return result
