"""The hub protocol (a thin HTTP client, typed answers, error mapping) and the platform's domain names.

``Metric``, ``Target``, ``PhaseType``, ``SubmissionType`` and ``Unit`` are part of the
competition-code API (competition files use them in annotations and comparisons); importing them
is cheap. The HTTP client (``Client``, ``Backoff``...) loads ``requests`` only when first used.

``Client`` is the scripting face (:mod:`crunch.api.scripting`): ``Client.from_env()``, then
``client.competitions.get(name).rounds.current``... on top of every endpoint method of the
typed client. The error classes carry the platform's public names as well
(``ApiException``, ``CompetitionNameNotFoundException``..., :mod:`crunch.api.errors`).
"""

from __future__ import annotations

from typing import Any

from .domain import Metric, PhaseType, SubmissionType, Target, Unit

_SCRIPTING = ("Client", "Competition", "Leaderboard", "Project", "ProjectReference", "Round", "Run", "Submission")
# the public client's exception names (crunch.api.errors.PUBLIC_NAMES), written out so that
# importing this package stays free of the error module
_ERRORS = (
    "AccessDeniedException", "AnnotatedConnectException", "ApiException", "AuthorizationDeniedException",
    "CannotParticipateException", "CheckException", "CompetitionNameNotFoundException",
    "ConflictingModelDirectoryException", "CrunchNotFoundException", "CrunchNotPublishedException",
    "CurrentPhaseNotFoundException", "CurrentRoundNotFoundException", "DailySubmissionLimitExceededException",
    "EncryptedSubmissionException", "ForbiddenLibraryException", "InsufficientAuthenticationException",
    "InternalServerException", "InvalidMainFileException", "InvalidProjectTokenException", "InvalidRunTokenException",
    "LatestRoundNotFoundException", "LeaderboardNotFoundException", "MissingMainFileException",
    "MissingPhaseDataException", "ModelTooBigException", "NeverSubmittedException", "NextRoundNotFoundException",
    "NullPointerException", "PendingRuntimeAccessRequestException", "PhaseNotFoundException",
    "PredictionSubmissionNotAllowedException", "PredictionTooBigException", "ProjectNotFoundException",
    "QuickstarterNotFoundException", "RequirementParseError", "RestrictedPhaseActionException", "RetryableException",
    "RoundNotFoundException", "RunNotFoundException", "RunNotSuccessfulException", "RuntimeDefinitionNotFoundException",
    "SubmissionCustomCheckFailedException", "SubmissionNotFoundException", "SubmissionTooBigException",
    "UnauthorizedException", "ValidationFailedException", "convert_error", "find_error_class",
)

_LAZY = {
    "Backoff": "client",
    "KNOWN_CODES": "errors",
    "error_from_response": "errors",
    **{name: "scripting" for name in _SCRIPTING},
    **{name: "errors" for name in _ERRORS},
}

__all__ = [
    "AccessDeniedException",
    "AnnotatedConnectException",
    "ApiException",
    "AuthorizationDeniedException",
    "Backoff",
    "CannotParticipateException",
    "CheckException",
    "Client",
    "Competition",
    "CompetitionNameNotFoundException",
    "ConflictingModelDirectoryException",
    "CrunchNotFoundException",
    "CrunchNotPublishedException",
    "CurrentPhaseNotFoundException",
    "CurrentRoundNotFoundException",
    "DailySubmissionLimitExceededException",
    "EncryptedSubmissionException",
    "ForbiddenLibraryException",
    "InsufficientAuthenticationException",
    "InternalServerException",
    "InvalidMainFileException",
    "InvalidProjectTokenException",
    "InvalidRunTokenException",
    "KNOWN_CODES",
    "LatestRoundNotFoundException",
    "Leaderboard",
    "LeaderboardNotFoundException",
    "Metric",
    "MissingMainFileException",
    "MissingPhaseDataException",
    "ModelTooBigException",
    "NeverSubmittedException",
    "NextRoundNotFoundException",
    "NullPointerException",
    "PendingRuntimeAccessRequestException",
    "PhaseNotFoundException",
    "PhaseType",
    "PredictionSubmissionNotAllowedException",
    "PredictionTooBigException",
    "Project",
    "ProjectNotFoundException",
    "ProjectReference",
    "QuickstarterNotFoundException",
    "RequirementParseError",
    "RestrictedPhaseActionException",
    "RetryableException",
    "Round",
    "RoundNotFoundException",
    "Run",
    "RunNotFoundException",
    "RunNotSuccessfulException",
    "RuntimeDefinitionNotFoundException",
    "Submission",
    "SubmissionCustomCheckFailedException",
    "SubmissionNotFoundException",
    "SubmissionTooBigException",
    "SubmissionType",
    "Target",
    "UnauthorizedException",
    "Unit",
    "ValidationFailedException",
    "convert_error",
    "error_from_response",
    "find_error_class",
]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value
