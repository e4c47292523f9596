"""The values ``submission.py``'s ``check()`` is offered, with the submission's requirements parsed.

Competition files (numinous, synth) look requirements up by name (``find_requirement_by_name``) and
read ``.name``, ``.extras`` and ``.specs``: :class:`NamedRequirement` holds those, parsed from
``requirements.txt`` with :mod:`packaging` the way the platform reads the file (comments dropped;
a flag such as ``-e``, a URL or an environment marker makes the whole file unreadable: ``None``).

Those files also annotate with ``crunch_convert.requirements_txt.NamedRequirement``: the platform's
environment has that package; locally, a competition file importing it needs ``pip install crunch-convert``
(the loader says so), while the objects it receives are these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..api.domain import SubmissionType
from .files import File
from .utils import find_file_by_path

__all__ = ["PYTHON", "R", "NamedRequirement", "load_requirements", "parse_requirements", "submission_check_values"]

PYTHON = "PYTHON"
R = "R"

#: the file each language's requirements are read from
FILE_NAMES = {PYTHON: "requirements.txt", R: "requirements.r.txt"}


@dataclass
class NamedRequirement:
    """One requirement line: ``name``, lower-cased ``extras``, ``specs`` such as ``"==2.2"``."""

    name: str
    extras: List[str] = field(default_factory=list)
    specs: List[str] = field(default_factory=list)
    language: str = PYTHON


def _parse_line(line: str, language: str) -> Optional[NamedRequirement]:
    from packaging.requirements import InvalidRequirement, Requirement

    text = re.sub("#.*", "", line).strip()
    if not text:
        return None
    if text.startswith("-"):
        raise ValueError(f"flags are not allowed: {text.split()[0]}")
    try:
        requirement = Requirement(text)
    except InvalidRequirement as error:
        raise ValueError(str(error)) from error
    if requirement.url is not None or requirement.marker is not None:
        raise ValueError(f"URLs and markers are not allowed: {text}")
    extras = sorted(extra.lower() for extra in requirement.extras)
    specs = [str(spec) for spec in requirement.specifier]
    if language == R and (extras or specs):
        raise ValueError(f"R requirements take a name only: {text}")
    return NamedRequirement(requirement.name, extras, specs, language)


def parse_requirements(text: str, language: str = PYTHON) -> List[NamedRequirement]:
    """Every requirement of a requirements file; ValueError when one line cannot be read."""
    parsed = (_parse_line(line, language) for line in text.splitlines())
    return [requirement for requirement in parsed if requirement is not None]


def load_requirements(language: str, submission_files: Sequence[File]) -> Optional[List[NamedRequirement]]:
    """The requirements of ``requirements.txt`` (``language="PYTHON"``) or ``requirements.r.txt`` (``"R"``)
    among ``submission_files``; None when the file is absent, has no readable text, or does not parse."""

    file = find_file_by_path(submission_files, FILE_NAMES[language])
    if file is None or file.text is None:
        return None
    try:
        return parse_requirements(file.text, language)
    except ValueError:
        return None


def submission_check_values(
    submission_type: SubmissionType,
    submission_files: Sequence[File],
    model_files: Sequence[File],
) -> "tuple[Dict[str, Any], Dict[str, Callable[[], Any]]]":
    """``(values, lazy_values)`` for ``call_function(submission.check, values, lazy_values=lazy_values)``:
    the platform offers the submission's type and files, and the parsed requirements on demand."""

    files = list(submission_files)
    values = {"submission_type": submission_type, "submission_files": files, "model_files": list(model_files)}
    lazy = {
        "python_requirements": lambda: load_requirements(PYTHON, files),
        "r_requirements": lambda: load_requirements(R, files),
    }
    return values, lazy
