"""Finding one submission of the workspace's project, with messages that say what exists."""

from __future__ import annotations

from typing import Union

from ..api.models import Submission
from ..exceptions import NeverSubmittedError, SubmissionNotFoundError
from ..project.context import ProjectContext

LAST = "@last"


def parse_identifier(value: Union[str, int]) -> Union[str, int]:
    """``@last`` (also ``last``, ``latest``) or a submission number."""
    text = str(value).strip()
    if text.lower() in ("@last", "last", "latest", "@latest"):
        return LAST
    if text.isdigit() and int(text) > 0:
        return int(text)
    from ..exceptions import ConfigurationError

    raise ConfigurationError(f"{value!r} is not a submission: give its number (`crunch submission list`) or @last")


def find_submission(context: ProjectContext, identifier: Union[str, int]) -> Submission:
    """The submission ``identifier`` of the project, or an error naming the ones it has."""
    try:
        return context.client.get_submission(*context.where, identifier)
    except NeverSubmittedError:
        raise NeverSubmittedError(
            f"{context.label} has never submitted: `crunch push` sends your first submission", code="NEVER_SUBMITTED"
        ) from None
    except SubmissionNotFoundError:
        numbers = sorted(s.number for s in context.client.list_submissions(*context.where) if s.number is not None)
        if not numbers:
            have = "it has none"
        elif len(numbers) == 1:
            have = f"its only submission is #{numbers[0]}"
        else:
            have = f"its submissions are #{numbers[0]} to #{numbers[-1]}"
        raise SubmissionNotFoundError(
            f"{context.label} has no submission #{identifier} ({have}; a number of another project is not this one's): "
            "`crunch submission list` shows them",
            code="SUBMISSION_NOT_FOUND",
        ) from None
