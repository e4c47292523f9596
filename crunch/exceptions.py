"""One exception hierarchy; every message is written for the person at the keyboard.

The CLI prints ``error: <message>`` and exits with :attr:`CrunchError.exit_code`.
Messages never contain a token: they pass through :func:`crunch.core.secrets.redact`.
"""

from __future__ import annotations

from typing import Any

from .core.secrets import redact


class CrunchError(Exception):
    """Base of every error crunch reports to a person."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class ConfigurationError(CrunchError):
    """An environment name, base URL or option value that cannot be used."""


class WorkspaceError(CrunchError):
    """The workspace (``.crunchdao/``) is missing, incomplete or corrupt."""


class FileWriteError(CrunchError, OSError):
    """A file or folder of the workspace cannot be written or made: a file where a folder
    should be (or the reverse), a read-only folder, a full disk. An ``OSError`` too, so that
    code handling write errors goes on handling it."""


class DiskFullError(FileWriteError):
    """The disk (or the person's quota) is full: nothing more can be written until some space
    is freed. Its ``errno`` is ``ENOSPC`` or ``EDQUOT``."""


class WorkingFolderGoneError(CrunchError):
    """The folder the command runs in was deleted (or moved) before or while it ran."""


class SpecialFileError(CrunchError):
    """A path crunch reads is a FIFO, a device or a socket, not a regular file: reading it
    could wait for ever (or never end)."""


class DocumentError(CrunchError):
    """A JSON document (a hub answer, a file of ``.crunchdao/``) with a field of the wrong type.

    ``field`` is the path of the field (``dataFiles.X_train.size``), ``problem`` what is wrong.
    """

    def __init__(self, message: str, *, field: str = "", problem: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.problem = problem


class CorruptCacheError(WorkspaceError):
    """A file of ``.crunchdao/`` that does not hold what crunch writes there (``path``)."""

    def __init__(self, message: str, path: Any = None) -> None:
        super().__init__(message)
        self.path = path


class NotInWorkspaceError(WorkspaceError):
    def __init__(self, start: object) -> None:
        super().__init__(
            f"not inside a crunch workspace ({start}): run `crunch setup ...` first, or cd into it"
        )


class TokenError(WorkspaceError):
    """The push token file is missing, unreadable or too open."""


class NetworkError(CrunchError):
    """The hub could not be reached or the connection broke."""


class TransferError(CrunchError):
    """A download or upload failed or did not verify."""


class IntegrityError(TransferError):
    """Downloaded bytes do not match their announced size or hash."""


class UnsafePathError(CrunchError):
    """A path from outside (hub, archive, notebook) would escape its folder."""


class ConversionError(CrunchError):
    """A notebook could not be converted into a script."""


class UserCodeError(CrunchError):
    """The person's ``main.py`` failed or does not have what the runner needs."""


class PredictionError(CrunchError):
    """The prediction did not pass the checks."""


class SubmissionError(CrunchError):
    """A push could not be prepared or was refused before anything was sent."""


class NothingToDoError(CrunchError):
    """A calm outcome that stops a command: printed, but the exit code is 0."""

    exit_code = 0


class ApiError(CrunchError):
    """The hub answered with an error.

    ``code`` is the hub's ``UPPER_SNAKE`` code (``None`` when the body was not JSON),
    ``status`` the HTTP status and ``extra`` the other fields of the error body.
    """

    default_hint = ""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.extra = extra or {}


class MalformedAnswerError(ApiError):
    """A hub answer that is JSON, but not of the shape of the call's answer."""


class InvalidProjectTokenError(ApiError):
    pass


class CompetitionNotFoundError(ApiError):
    pass


class ProjectNotFoundError(ApiError):
    pass


class RoundNotFoundError(ApiError):
    pass


class NoDataYetError(ApiError):
    """``CRUNCH_NOT_FOUND`` / ``MISSING_PHASE_DATA``: the data is not published yet."""


class CurrentPhaseNotFoundError(ApiError):
    pass


class NeverSubmittedError(ApiError):
    pass


class SubmissionNotFoundError(ApiError):
    pass


class DailySubmissionLimitError(ApiError):
    pass


class SubmissionTooBigError(ApiError):
    pass


class ModelTooBigError(ApiError):
    pass


class ForbiddenLibraryError(ApiError):
    @property
    def packages(self) -> list[str]:
        listed = self.extra.get("packages")
        return [str(p) for p in listed] if isinstance(listed, list) else []


class RestrictedPhaseActionError(ApiError):
    pass


class ValidationFailedError(ApiError):
    @property
    def field_errors(self) -> list[Any]:
        listed = self.extra.get("fieldErrors")
        return list(listed) if isinstance(listed, list) else []


class AuthorizationDeniedError(ApiError):
    pass


class CannotParticipateError(ApiError):
    """``CANNOT_PARTICIPATE``: the account cannot take part yet (not verified, restricted, rules
    or terms not accepted); ``extra`` holds the hub's flags."""


class ConflictingModelDirectoryError(ApiError):
    """``CONFLICTING_MODEL_DIRECTORY``: a code file is where the model directory is."""


class CrunchNotPublishedError(ApiError):
    """``CRUNCH_NOT_PUBLISHED``: the results of a crunch are not published yet."""


class EncryptedSubmissionError(ApiError):
    """``ENCRYPTED_SUBMISSION``: the submission's files are encrypted and cannot be fetched."""


class InternalServerError(ApiError):
    """``INTERNAL_SERVER`` (and the platform's other names of an internal failure)."""


class InvalidMainFileError(ApiError):
    """``INVALID_MAIN_FILE``: the submission's main file is not a script or notebook the hub can run."""


class InvalidRunTokenError(ApiError):
    """``INVALID_RUN_TOKEN``: a cloud run's token that is wrong or whose run is over."""


class MissingMainFileError(ApiError):
    """``MISSING_MAIN_FILE``: the submission does not hold its main file."""


class PendingRuntimeAccessRequestError(ApiError):
    """``PENDING_RUNTIME_ACCESS_REQUEST``: access to the runtime was asked and is not granted yet."""


class PredictionSubmissionNotAllowedError(ApiError):
    """``PREDICTION_SUBMISSION_NOT_ALLOWED``: the competition takes code, not prediction files."""


class PredictionTooBigError(ApiError):
    """``PREDICTION_TOO_BIG``: a prediction larger than the competition accepts."""


class RequirementParseError(ApiError):
    """``REQUIREMENT_PARSE_ERROR``: the hub could not read the requirements file."""


class RuntimeDefinitionNotFoundError(ApiError):
    """``RUNTIME_DEFINITION_NOT_FOUND``: no runtime of that name."""


class RunNotSuccessfulError(ApiError):
    """``RUN_NOT_SUCCESSFUL``: the run did not end well, and only a successful one can be used."""


class SubmissionCustomCheckFailedError(ApiError):
    """``SUBMISSION_CUSTOM_CHECK_FAILED``: the competition's own check refused the submission."""


class UploadError(ApiError):
    """An upload call was refused (unknown upload, missing chunk, aborted or expired)."""


class ParticipantVisibleError(CrunchError):
    """A competition file (``scoring.py``, ``submission.py``...) rejected the participant's work.

    Its message is written by the competition for the participant and is shown as is. Any exception
    a competition file raises whose class is named ``ParticipantVisibleError`` becomes this one.
    """
