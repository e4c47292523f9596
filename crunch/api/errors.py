"""Turns a hub error answer into a typed exception with a message a person can act on."""

from __future__ import annotations

import json
from typing import Any, Callable

from .. import exceptions as exc

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
        exc.NoDataYetError,
        lambda m, e: "no data is published for this round yet: try again later",
    ),
    "MISSING_PHASE_DATA": (
        exc.NoDataYetError,
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
}

KNOWN_CODES = frozenset(_CODES)


def error_from_response(status: int, body: bytes, content_type: str = "", what: str = "") -> exc.ApiError:
    """Build the exception for a non-2xx answer with ``body``.

    ``what`` names the call for errors without a JSON body (``"GET /v1/competitions/x"``).
    """
    payload: Any = None
    if body:
        try:
            payload = json.loads(body.decode("utf-8", errors="replace"))
        except ValueError:
            payload = None
    if isinstance(payload, dict) and isinstance(payload.get("code"), str):
        code = payload["code"]
        message = str(payload.get("message") or "")
        extra = {k: v for k, v in payload.items() if k not in ("code", "message")}
        if code in _CODES:
            cls, hint = _CODES[code]
            return cls(hint(message, extra), code=code, status=status, extra=extra)
        text = f"{code}: {message}" if message else code
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
