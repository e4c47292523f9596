"""Before a push: the competition's own ``submission.py`` ``check()`` on the files about to be sent.

Only for a competition that runs its own code (UNSTRUCTURED) and whose source has a
``submission.py``. The check sees each code file by its path in the submission and each model
file by its path in the model directory, with the text of text files; a rejection stops the
push before anything is uploaded (``crunch push --skip-submission-check`` to bypass).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, List, Optional

from ..core.console import Console
from ..exceptions import ParticipantVisibleError, SubmissionError
from ..project.settings import Settings
from ..project.workspace import Workspace


def _files(selected: List[Any], scratch: Path) -> List[Any]:
    from ..unstructured import File

    files = []
    for index, item in enumerate(selected):
        if item.source is not None:
            files.append(File.from_local(str(item.source), item.path))
        else:  # made in memory (the pinned requirements.txt): its text from a scratch copy
            copy = scratch / f"{index}-{Path(item.path).name}"
            copy.write_bytes(item.content or b"")
            files.append(File.from_local(str(copy), item.path))
    return files


def check_submission(workspace: Workspace, settings: Optional[Settings], plan: Any, console: Console) -> bool:
    """Run the competition's ``submission.check()``; False when there is none to run.

    Raises :class:`SubmissionError` with the competition's message when it refuses.
    """
    from ..api import SubmissionType
    from ..data.competition_code import UnreachableError
    from ..runner.competition_test import load_competition_file
    from ..runner.family import COMPETITION_CODE, family_of_workspace
    from ..unstructured import call_function
    from ..unstructured.requirements import submission_check_values

    if family_of_workspace(workspace) != COMPETITION_CODE:
        return False
    try:
        module = load_competition_file(workspace, settings, "submission", console)
    except UnreachableError as error:  # the platform checks it again: the push goes on
        console.warn(f"{error.message}; the competition's submission check was not run")
        return False
    check = getattr(module, "check", None) if module is not None else None
    if not callable(check):
        return False
    with tempfile.TemporaryDirectory(prefix="submission-check-", dir=str(workspace.dot_dir)) as scratch:
        code = _files(plan.code, Path(scratch))
        model = _files(plan.model, Path(scratch))
        values, lazy = submission_check_values(SubmissionType.CODE, code, model)
        try:
            call_function(check, values, lazy_values=lazy)
        except ParticipantVisibleError as error:
            raise SubmissionError(
                f"the competition's submission.py refused the submission: {error.message} "
                "(nothing was sent; fix it, or push with --skip-submission-check)"
            ) from error
        except Exception as error:
            raise SubmissionError(
                f"the competition's submission.py check failed: {type(error).__name__}: {error} "
                "(nothing was sent; push with --skip-submission-check to bypass it)"
            ) from error
    console.print("the competition's submission.py check: passed")
    return True
