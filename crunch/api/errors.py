"""Turns a hub error answer into a typed exception with a message a person can act on."""

from __future__ import annotations

from typing import Any, Callable

from .. import exceptions as exc
from ..core.jsonshape import load_json

Hint = Callable[[str, dict], str]


def _forbidden(message: str, extra: dict) -> str:
    listed = extra.get("packages")
    packages = ", ".join(str(p) for p in listed) if isinstance(listed, list) else ""
    packages = packages or "unknown"
    return (
        f"the competition does not allow these libraries: {packages}. "
        "Remove them from your code and requirements.txt, then push again"
    )


def _validation(message: str, extra: dict) -> str:
    parts = []
    field_errors = extra.get("fieldErrors")
    for item in field_errors if isinstance(field_errors, list) else []:
        if isinstance(item, dict):
            field = item.get("field") or item.get("property") or "?"
            parts.append(f"{field}: {item.get('message') or item.get('reason') or 'invalid'}")
        else:
            parts.append(str(item))
    detail = "; ".join(parts) or message or "invalid request"
    return f"the hub refused the request: {detail}"


_LONGEST = 300  # characters of one field of the hub shown in a message


def _printable(value: str) -> str:
    """``value`` on one line: control characters (a terminal's escape sequences too) shown escaped,
    line breaks as ``; ``, and cut at :data:`_LONGEST` characters."""
    lines = [line.strip() for line in value.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    text = "; ".join(line for line in lines if line)
    from ..core.display import visible

    text = visible(text, lines=False)
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def _text(extra: dict, key: str) -> str:
    """The field ``key`` as text for a message: a string or a number; anything else (absent,
    null, a list...) is ``""``."""
    value = extra.get(key)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    return _printable(str(value))


def _number(extra: dict, key: str) -> int | None:
    """The field ``key`` as a whole number of 0 or more (``12`` or ``"12"``, as the platform's
    client reads it): a number, an id or a size; anything else (or a number too long to be one)
    is ``None``."""
    value = extra.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 20:
        value = int(value.strip())
    return value if isinstance(value, int) and 0 <= value < 10**20 else None


def _flag(extra: dict, key: str) -> bool | None:
    """The field ``key`` as a yes/no (a boolean, or ``"true"``/``"false"``); ``None`` when unknown."""
    value = extra.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _size(extra: dict, key: str) -> str:
    from ..core.display import human_size

    number = _number(extra, key)
    return human_size(number) if number is not None else ""


def _said(message: str) -> str:
    """The hub's own message, ready to follow a colon (``""`` when it said nothing)."""
    return _printable(message) if message else ""


def _cannot_participate(message: str, extra: dict) -> str:
    reasons = []
    if _flag(extra, "hasProblem") is True:
        reasons.append("your account has a manual verification pending (see the email you were sent)")
    if _flag(extra, "isVerified") is False:
        reasons.append("your account is not verified yet (follow the link of the verification email)")
    if _flag(extra, "isRestricted") is True:
        reasons.append("your account is restricted (contact the CrunchDAO team)")
    if _flag(extra, "ruleAccepted") is False:
        reasons.append("you have not accepted the competition's rules (accept them on the competition's page of the website)")
    if _flag(extra, "hasAcceptedLegal") is False:
        reasons.append("you have not accepted the new Terms of Use and Privacy Policy (log in to the website: a dialog asks you)")
    if not reasons:
        said = _said(message)
        reasons.append(
            (f"the hub says: {said}; " if said else "the hub did not say why; ")
            + "check on the website that your account is verified and that you accepted the competition's rules"
        )
    return "you cannot take part in this competition yet: " + "; ".join(reasons) + ". Then run the command again"


def _conflicting_model_directory(message: str, extra: dict) -> str:
    file, folder = _text(extra, "conflictingFilePath"), _text(extra, "modelDirectoryPath")
    what = f"the code file `{file}`" if file else "a code file"
    where = f"the model directory `{folder}`" if folder else "the model directory"
    return (
        f"{what} is in the way of {where} (a code file cannot be the model directory or lie inside it): "
        "rename or move that file, or choose another folder with --model-directory, then push again"
    )


def _crunch_not_published(message: str, extra: dict) -> str:
    number = _number(extra, "crunchNumber")
    what = f"the results of crunch #{number}" if number is not None else "these results"
    return f"{what} are not published yet: the leaderboard is updated soon, try again later"


def _internal_server(message: str, extra: dict) -> str:
    said = _said(message)
    return (
        "the hub failed on its side" + (f" ({said})" if said else "")
        + ": try again in a few minutes; if it keeps failing, tell the CrunchDAO team"
    )


def _invalid_main_file(message: str, extra: dict) -> str:
    path, kind, said = _text(extra, "mainFilePath"), _text(extra, "mainFileMediaType"), _said(message)
    text = f"the main file `{path}` is not valid" if path else "the main file is not valid"
    if said:
        text += f": {said}"
    if kind:
        text += f" (the hub read it as {kind})"
    return text + (
        ". The main file must be a Python script (.py) or a notebook (.ipynb): fix it, or name the right "
        "file with --main-file, then push again"
    )


def _invalid_run_token(message: str, extra: dict) -> str:
    run = _number(extra, "runId")
    whose = f"of run #{run} " if run is not None else ""
    return (
        f"the hub refused the run token {whose}(wrong, or its run is over): a run token works only inside "
        "its own cloud run while the run is going; start a new run with `crunch run create`"
    )


def _missing_main_file(message: str, extra: dict) -> str:
    path = _text(extra, "mainFilePath")
    what = f"the main file `{path}` is" if path else "the main file is"
    return (
        f"{what} not in the submission: put your code there (and check that .gitignore does not leave it out), "
        "or name your file with --main-file, then push again"
    )


def _pending_runtime_access(message: str, extra: dict) -> str:
    name = _text(extra, "runtimeDefinitionName")
    what = f"the runtime `{name}`" if name else "this runtime"
    return (
        f"your request for access to {what} is still waiting for review: choose another runtime with --runtime "
        "until it is granted"
    )


def _prediction_too_big(message: str, extra: dict) -> str:
    size, most = _size(extra, "size"), _size(extra, "maximumSize")
    sizes = ", ".join(part for part in (size, f"at most {most}" if most else "") if part)
    return (
        "the prediction is too big" + (f" ({sizes})" if sizes else "")
        + ": return only the rows and columns the competition asks for"
    )


def _requirement_parse(message: str, extra: dict) -> str:
    said = _said(message)
    return (
        "the hub could not read your requirements file" + (f" ({said})" if said else "")
        + ": write one package a line, as pip reads them (`name`, `name==1.2.3`, `name>=1`), then push again"
    )


def _runtime_not_found(message: str, extra: dict) -> str:
    name = _text(extra, "runtimeDefinitionName")
    what = f"there is no runtime named `{name}`" if name else "there is no runtime of that name"
    return f"{what}: check --runtime, or leave it out to run on the first runtime available"


def _run_not_successful(message: str, extra: dict) -> str:
    run = _number(extra, "id")
    if run is None:
        run = _number(extra, "runId")
    what = f"run #{run}" if run is not None else "the run"
    return (
        f"{what} did not complete successfully, and only a successful run can be used for this: "
        "`crunch run list` shows which runs succeeded"
    )


def _custom_check_failed(message: str, extra: dict) -> str:
    reason = _text(extra, "checkMessage") or _said(message)
    return (
        "the competition's own check refused the submission"
        + (f": {reason}. Fix what it says, then push again" if reason else " without saying why: check your code against the competition's rules, then push again")
    )


class CrunchNotFoundException(exc.NoDataYetError):
    """``CRUNCH_NOT_FOUND``: the round has no crunch (no data) yet."""


class MissingPhaseDataException(exc.NoDataYetError):
    """``MISSING_PHASE_DATA``: the phase has no data published yet."""


class RunNotFoundError(exc.ApiError):
    """``RUN_NOT_FOUND``: no run of that id in the project."""


class LeaderboardNotFoundError(exc.ApiError):
    """``LEADERBOARD_NOT_FOUND``: no leaderboard of that name in the competition."""


class PhaseNotFoundError(exc.ApiError):
    """``PHASE_NOT_FOUND``: the round has no phase of that type."""


class QuickstarterNotFoundError(exc.ApiError):
    """``QUICKSTARTER_NOT_FOUND``: no quickstarter of that name in the competition."""


class CheckError(exc.ApiError):
    """``CHECK``: the hub's checks of a prediction failed."""


_CODES: dict[str, tuple[type[exc.ApiError], Hint]] = {
    "INVALID_PROJECT_TOKEN": (
        exc.InvalidProjectTokenError,
        lambda m, e: (
            "the token is invalid, already used or expired: copy the `crunch setup` command "
            "again from the competition's Submit page (setup tokens expire within minutes), "
            "or run `crunch update-token` with a fresh one"
        ),
    ),
    "COMPETITION_NAME_NOT_FOUND": (
        exc.CompetitionNotFoundError,
        lambda m, e: "competition not found: check its name (`crunch list` shows them all)",
    ),
    "PROJECT_NOT_FOUND": (
        exc.ProjectNotFoundError,
        lambda m, e: "project not found: check its name on the competition's Submit page",
    ),
    "ROUND_NOT_FOUND": (
        exc.RoundNotFoundError,
        lambda m, e: "round not found: check --round-number, or leave it out for the current round",
    ),
    "CRUNCH_NOT_FOUND": (
        CrunchNotFoundException,
        lambda m, e: "no data is published for this round yet: try again later",
    ),
    "MISSING_PHASE_DATA": (
        MissingPhaseDataException,
        lambda m, e: "no data is published for this phase yet: try again later",
    ),
    "CURRENT_PHASE_NOT_FOUND": (
        exc.CurrentPhaseNotFoundError,
        lambda m, e: "the competition has no open phase right now: wait for the next round",
    ),
    "NEVER_SUBMITTED": (
        exc.NeverSubmittedError,
        lambda m, e: "this project has never submitted: use `--submission scratch` to start from the quickstarter",
    ),
    "SUBMISSION_NOT_FOUND": (
        exc.SubmissionNotFoundError,
        lambda m, e: "submission not found: check its number on the project's page",
    ),
    "DAILY_SUBMISSION_LIMIT_EXCEEDED": (
        exc.DailySubmissionLimitError,
        lambda m, e: (
            "daily submission limit reached for this project"
            + (f" ({e['limit']} a day)" if isinstance(e.get("limit"), int) else "")
            + ": push again tomorrow (the count resets at midnight UTC); `crunch quota` shows what is left"
        ),
    ),
    "SUBMISSION_TOO_BIG": (
        exc.SubmissionTooBigError,
        lambda m, e: "the code files are too big (5 GB at most): move data and large files out of the workspace or add them to .gitignore",
    ),
    "MODEL_TOO_BIG": (
        exc.ModelTooBigError,
        lambda m, e: "the model directory is too big (10 GB at most): remove old or unused model files",
    ),
    "FORBIDDEN_LIBRARY": (exc.ForbiddenLibraryError, _forbidden),
    "RESTRICTED_PHASE_ACTION": (
        exc.RestrictedPhaseActionError,
        lambda m, e: f"not allowed in the current phase of the competition{': ' + m if m else ''}",
    ),
    "VALIDATION_FAILED": (exc.ValidationFailedError, _validation),
    "AUTHORIZATION_DENIED": (
        exc.AuthorizationDeniedError,
        lambda m, e: "authorization denied: your token does not give access to this; run `crunch update-token` with a fresh one",
    ),
    "CANNOT_PARTICIPATE": (exc.CannotParticipateError, _cannot_participate),
    "CONFLICTING_MODEL_DIRECTORY": (exc.ConflictingModelDirectoryError, _conflicting_model_directory),
    "CRUNCH_NOT_PUBLISHED": (exc.CrunchNotPublishedError, _crunch_not_published),
    "ENCRYPTED_SUBMISSION": (
        exc.EncryptedSubmissionError,
        lambda m, e: "the submission is encrypted: its files cannot be fetched from the hub; use your own copy of the code you pushed",
    ),
    "INTERNAL_SERVER": (exc.InternalServerError, _internal_server),
    "INVALID_MAIN_FILE": (exc.InvalidMainFileError, _invalid_main_file),
    "INVALID_RUN_TOKEN": (exc.InvalidRunTokenError, _invalid_run_token),
    "MISSING_MAIN_FILE": (exc.MissingMainFileError, _missing_main_file),
    "PENDING_RUNTIME_ACCESS_REQUEST": (exc.PendingRuntimeAccessRequestError, _pending_runtime_access),
    "PREDICTION_SUBMISSION_NOT_ALLOWED": (
        exc.PredictionSubmissionNotAllowedError,
        lambda m, e: (
            "this competition does not take prediction files as submissions: submit your code "
            "(train() and infer() in main.py) with `crunch push`"
        ),
    ),
    "PREDICTION_TOO_BIG": (exc.PredictionTooBigError, _prediction_too_big),
    "REQUIREMENT_PARSE_ERROR": (exc.RequirementParseError, _requirement_parse),
    "RUNTIME_DEFINITION_NOT_FOUND": (exc.RuntimeDefinitionNotFoundError, _runtime_not_found),
    "RUN_NOT_SUCCESSFUL": (exc.RunNotSuccessfulError, _run_not_successful),
    "SUBMISSION_CUSTOM_CHECK_FAILED": (exc.SubmissionCustomCheckFailedError, _custom_check_failed),
    "RUN_NOT_FOUND": (
        RunNotFoundError,
        lambda m, e: "run not found: check its id (`crunch run list` shows the project's runs)",
    ),
    "LEADERBOARD_NOT_FOUND": (
        LeaderboardNotFoundError,
        lambda m, e: "leaderboard not found: check its name, or use the competition's default leaderboard",
    ),
    "PHASE_NOT_FOUND": (
        PhaseNotFoundError,
        lambda m, e: "phase not found: this round has no phase of that type",
    ),
    "QUICKSTARTER_NOT_FOUND": (
        QuickstarterNotFoundError,
        lambda m, e: "quickstarter not found: check its name (`crunch quickstarter list` shows them)",
    ),
    "CHECK": (
        CheckError,
        lambda m, e: "the checks of the prediction failed" + (f": {_said(m)}" if m else "") + ". Fix the prediction, then submit again",
    ),
}

# Codes the public client reads as one of the errors above (rounds by their position, the
# refusals of a credential under the names of the services in front of the hub).
SAME_AS = {
    "CURRENT_ROUND_NOT_FOUND": "ROUND_NOT_FOUND",
    "LATEST_ROUND_NOT_FOUND": "ROUND_NOT_FOUND",
    "NEXT_ROUND_NOT_FOUND": "ROUND_NOT_FOUND",
    "UNAUTHORIZED": "AUTHORIZATION_DENIED",
    "ACCESS_DENIED": "AUTHORIZATION_DENIED",
    "INSUFFICIENT_AUTHENTICATION": "AUTHORIZATION_DENIED",
}
for _other, _code in SAME_AS.items():
    _CODES[_other] = _CODES[_code]

# Other names the platform gives the same errors: the public client maps each of these codes to
# the class of the code on the right (an internal failure of a service, a refused credential, a
# parse error whose class name already ends in "Error").
ALIASES = {
    "RETRYABLE": "INTERNAL_SERVER",
    "ANNOTATED_CONNECT": "INTERNAL_SERVER",
    "NULL_POINTER": "INTERNAL_SERVER",
    "REQUIREMENT_PARSE": "REQUIREMENT_PARSE_ERROR",
}
for _alias, _code in ALIASES.items():
    _CODES[_alias] = _CODES[_code]

KNOWN_CODES = frozenset(_CODES)


def error_from_response(status: int, body: bytes, content_type: str = "", what: str = "") -> exc.ApiError:
    """Build the exception for a non-2xx answer with ``body``.

    ``what`` names the call for errors without a JSON body (``"GET /v1/competitions/x"``).
    """
    payload: Any = None
    if body:
        try:
            payload = load_json(body.decode("utf-8", errors="replace"))
        except ValueError:  # not JSON, or nested too deep
            payload = None
    if isinstance(payload, dict) and isinstance(payload.get("code"), str):
        code = payload["code"]
        message = str(payload.get("message") or "")
        extra = {k: v for k, v in payload.items() if k not in ("code", "message")}
        if code in _CODES:
            cls, hint = _CODES[code]
            return cls(hint(message, extra), code=code, status=status, extra=extra)
        text = f"{_printable(code)}: {_printable(message)}" if message else _printable(code)
        return exc.ApiError(f"the hub answered {text}", code=code, status=status, extra=extra)
    if payload is not None:
        kind = "an error without a code"
    elif b"<html" in body[:512].lower() or "html" in content_type:
        kind = "an HTML page"
    else:
        kind = "a body that is not JSON"
    where = f" to {what}" if what else ""
    return exc.ApiError(
        f"the hub answered HTTP {status} with {kind}{where}: is --api-base-url right, and the hub up?",
        status=status,
    )


def find_error_class(code: str) -> type[exc.ApiError]:
    """The exception class of the hub's error ``code`` (:class:`~crunch.exceptions.ApiError` when unknown)."""
    known = _CODES.get(code) if isinstance(code, str) else None
    return known[0] if known else exc.ApiError


def convert_error(response: dict, status: int | None = None) -> exc.ApiError:
    """The exception of an error answer already decoded (``{"code": ..., "message": ..., ...}``)."""
    import json

    return error_from_response(status or 400, json.dumps(response).encode("utf-8"), "application/json")


# -- the public client's names: `except crunch.api.ApiException` catches every answer of the hub
# that is an error, `except crunch.api.CompetitionNameNotFoundException` an unknown competition...
ApiException = exc.ApiError
InternalServerException = RetryableException = AnnotatedConnectException = NullPointerException = exc.InternalServerError
AuthorizationDeniedException = UnauthorizedException = AccessDeniedException = InsufficientAuthenticationException = exc.AuthorizationDeniedError
ValidationFailedException = exc.ValidationFailedError
CheckException = CheckError
CompetitionNameNotFoundException = exc.CompetitionNotFoundError
CrunchNotPublishedException = exc.CrunchNotPublishedError
CurrentPhaseNotFoundException = exc.CurrentPhaseNotFoundError
DailySubmissionLimitExceededException = exc.DailySubmissionLimitError
ForbiddenLibraryException = exc.ForbiddenLibraryError
InvalidProjectTokenException = exc.InvalidProjectTokenError
LeaderboardNotFoundException = LeaderboardNotFoundError
ModelTooBigException = exc.ModelTooBigError
NeverSubmittedException = exc.NeverSubmittedError
EncryptedSubmissionException = exc.EncryptedSubmissionError
PendingRuntimeAccessRequestException = exc.PendingRuntimeAccessRequestError
PredictionSubmissionNotAllowedException = exc.PredictionSubmissionNotAllowedError
PredictionTooBigException = exc.PredictionTooBigError
ProjectNotFoundException = exc.ProjectNotFoundError
RunNotFoundException = RunNotFoundError
RunNotSuccessfulException = exc.RunNotSuccessfulError
RuntimeDefinitionNotFoundException = exc.RuntimeDefinitionNotFoundError
RestrictedPhaseActionException = exc.RestrictedPhaseActionError
RoundNotFoundException = CurrentRoundNotFoundException = LatestRoundNotFoundException = NextRoundNotFoundException = exc.RoundNotFoundError
PhaseNotFoundException = PhaseNotFoundError
SubmissionCustomCheckFailedException = exc.SubmissionCustomCheckFailedError
SubmissionNotFoundException = exc.SubmissionNotFoundError
SubmissionTooBigException = exc.SubmissionTooBigError
CannotParticipateException = exc.CannotParticipateError
MissingMainFileException = exc.MissingMainFileError
InvalidMainFileException = exc.InvalidMainFileError
ConflictingModelDirectoryException = exc.ConflictingModelDirectoryError
QuickstarterNotFoundException = QuickstarterNotFoundError
InvalidRunTokenException = exc.InvalidRunTokenError
RequirementParseError = exc.RequirementParseError

#: The public client's exception names this module offers (``crunch.api`` exports them).
PUBLIC_NAMES = (
    "CrunchNotFoundException",
    "MissingPhaseDataException",
    "ApiException",
    "InternalServerException",
    "RetryableException",
    "AnnotatedConnectException",
    "NullPointerException",
    "AuthorizationDeniedException",
    "UnauthorizedException",
    "AccessDeniedException",
    "InsufficientAuthenticationException",
    "ValidationFailedException",
    "CheckException",
    "CompetitionNameNotFoundException",
    "CrunchNotPublishedException",
    "CurrentPhaseNotFoundException",
    "DailySubmissionLimitExceededException",
    "ForbiddenLibraryException",
    "InvalidProjectTokenException",
    "LeaderboardNotFoundException",
    "ModelTooBigException",
    "NeverSubmittedException",
    "EncryptedSubmissionException",
    "PendingRuntimeAccessRequestException",
    "PredictionSubmissionNotAllowedException",
    "PredictionTooBigException",
    "ProjectNotFoundException",
    "RunNotFoundException",
    "RunNotSuccessfulException",
    "RuntimeDefinitionNotFoundException",
    "RestrictedPhaseActionException",
    "RoundNotFoundException",
    "CurrentRoundNotFoundException",
    "LatestRoundNotFoundException",
    "NextRoundNotFoundException",
    "PhaseNotFoundException",
    "SubmissionCustomCheckFailedException",
    "SubmissionNotFoundException",
    "SubmissionTooBigException",
    "CannotParticipateException",
    "MissingMainFileException",
    "InvalidMainFileException",
    "ConflictingModelDirectoryException",
    "QuickstarterNotFoundException",
    "InvalidRunTokenException",
    "RequirementParseError",
)
