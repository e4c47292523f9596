"""The values ``submission.py``'s ``check()`` is offered, requirements parsed by crunch-convert.

Competition files (numinous, synth) annotate with ``crunch_convert.requirements_txt.NamedRequirement``
and look requirements up by name: the parsed requirements are the crunch-convert library's own objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from ..api.domain import SubmissionType
from .files import File
from .utils import find_file_by_path

if TYPE_CHECKING:  # pragma: no cover
    from crunch_convert.requirements_txt import NamedRequirement

__all__ = ["PYTHON", "R", "load_requirements", "submission_check_values"]

PYTHON = "PYTHON"
R = "R"


def load_requirements(language: str, submission_files: Sequence[File]) -> Optional[List["NamedRequirement"]]:
    """The requirements of ``requirements.txt`` (``language="PYTHON"``) or ``requirements.r.txt`` (``"R"``)
    among ``submission_files``; None when the file is absent, has no readable text, or does not parse."""

    from crunch_convert.requirements_txt import RequirementLanguage, RequirementParseError, parse_from_file

    kind = RequirementLanguage[language]
    file = find_file_by_path(submission_files, kind.txt_file_name)
    if file is None or file.text is None:
        return None
    try:
        return parse_from_file(language=kind, file_content=file.text)
    except RequirementParseError:
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
