"""The hub's calls for cloud runs, with strictly typed answers: create, list, get, terminate a
run, its logs, the runtime options of a submission."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .. import exceptions as exc
from .client import Client, _segment
from .platform import _field, _list, _project_path, call

ACTIVE_STATUSES = ("CREATED", "PENDING", "RUNNING", "CLEANING")


class RunNotFoundError(exc.ApiError):
    """No run of that number in the project."""


@dataclass
class RunPrediction:
    id: Any
    valid: Optional[bool]
    success: Optional[bool]
    error: Optional[str]
    primary_mean: Optional[float]
    unit: Dict[str, Any]

    @classmethod
    def from_dict(cls, data: Any) -> "RunPrediction":
        return cls(
            _field(data, "id", (int, str)),
            _field(data, "valid", bool, optional=True),
            _field(data, "success", bool, optional=True),
            _field(data, "error", str, optional=True),
            _field(data, "primaryMean", (int, float), optional=True),
            _field(data, "primaryUnit", dict, optional=True, default={}),
        )

    def score_text(self) -> str:
        if self.primary_mean is None:
            return "-"
        scale = self.unit.get("scale")
        number = f"{self.primary_mean:.{int(scale)}f}" if isinstance(scale, int) else f"{self.primary_mean:.6g}"
        return f"{self.unit.get('prefix') or ''}{number}{self.unit.get('suffix') or ''}"


@dataclass
class Run:
    id: int
    status: str
    success: bool
    terminated: bool
    submission_number: int
    created_at: str
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    duration: Optional[float] = None
    exit_code: Optional[int] = None
    exit_reason: Optional[str] = None
    error_message: Optional[str] = None
    prediction: Optional[RunPrediction] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "Run":
        submission = _field(data, "submission", dict)
        prediction = _field(data, "prediction", dict, optional=True)
        return cls(
            id=_field(data, "id", int),
            status=_field(data, "status", str),
            success=_field(data, "success", bool),
            terminated=_field(data, "terminated", bool),
            submission_number=_field(submission, "number", int),
            created_at=_field(data, "createdAt", str),
            started_at=_field(data, "startedAt", str, optional=True),
            ended_at=_field(data, "endedAt", str, optional=True),
            duration=_field(data, "duration", (int, float), optional=True),
            exit_code=_field(data, "exitCode", int, optional=True),
            exit_reason=_field(data, "exitReason", str, optional=True),
            error_message=_field(data, "errorMessage", str, optional=True),
            prediction=RunPrediction.from_dict(prediction) if prediction is not None else None,
            raw=data,
        )

    @property
    def running(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def failed(self) -> bool:
        return not self.running and (not self.success or (self.prediction is not None and self.prediction.valid is False))

    def status_text(self) -> str:
        if self.running:
            return self.status.lower()
        if self.terminated:
            return "terminated"
        if self.prediction is not None and self.prediction.valid is False:
            return "bad prediction"
        return "succeeded" if self.success else "failed"


@dataclass
class RunLog:
    id: int
    emitter: str
    error: bool
    content: str
    created_at: str

    @classmethod
    def from_dict(cls, data: Any) -> "RunLog":
        return cls(
            _field(data, "id", int),
            _field(data, "emitter", str),
            _field(data, "error", bool),
            _field(data, "content", str, optional=True, default=""),
            _field(data, "createdAt", str),
        )


@dataclass
class RuntimeOption:
    name: str
    status: str
    quota_seconds: float

    @classmethod
    def from_dict(cls, data: Any) -> "RuntimeOption":
        definition = _field(data, "definition", dict)
        return cls(_field(definition, "name", str), _field(data, "status", str), float(_field(data, "quota", (int, float))))


def _runs_path(where: tuple) -> str:
    return _project_path(*where) + "/runs"


def _not_found(error: exc.ApiError, run_id: int, label: str) -> exc.CrunchError:
    if error.code == "RUN_NOT_FOUND" or error.status == 404:
        return RunNotFoundError(
            f"{label} has no run {run_id}: `crunch run list` shows its runs", code=error.code, status=error.status
        )
    return error


def list_runs(client: Client, where: tuple) -> List[Run]:
    return call("the run listing", lambda: [Run.from_dict(item) for item in _list(client.request("GET", _runs_path(where)), "runs")])


def get_run(client: Client, where: tuple, run_id: int, label: str) -> Run:
    try:
        data = client.request("GET", f"{_runs_path(where)}/{run_id}")
    except exc.ApiError as error:
        raise _not_found(error, run_id, label) from None
    return call("the run", lambda: Run.from_dict(data))


def create_run(
    client: Client, where: tuple, *, submission_id: Any, train_frequency: int, force_first_train: Optional[bool], runtime: str
) -> Run:
    """Create a run; ``force_first_train`` None leaves the choice to the hub (a competition that hides it)."""
    body = {"submissionId": submission_id, "trainFrequency": train_frequency, "forceFirstTrain": force_first_train, "runtimeDefinitionName": runtime}
    return call("the new run", lambda: Run.from_dict(client.request("POST", _runs_path(where), json=body)))


def terminate_run(client: Client, where: tuple, run_id: int, label: str) -> Run:
    try:
        data = client.request("DELETE", f"{_runs_path(where)}/{run_id}")
    except exc.ApiError as error:
        raise _not_found(error, run_id, label) from None
    return call("the terminated run", lambda: Run.from_dict(data))


def run_logs(client: Client, where: tuple, run_id: int, label: str) -> List[RunLog]:
    try:
        data = client.request("GET", f"{_runs_path(where)}/{run_id}/logs")
    except exc.ApiError as error:
        raise _not_found(error, run_id, label) from None
    return call("the run's logs", lambda: [RunLog.from_dict(item) for item in _list(data, "logs")])


def runtime_options(client: Client, where: tuple, submission_number: int) -> List[RuntimeOption]:
    path = _project_path(*where) + f"/submissions/{_segment(submission_number)}/runtime-options"

    def parse() -> List[RuntimeOption]:
        data = client.request("GET", path, params={"page": 0, "size": 1000})
        items = _field(data, "content", list) if isinstance(data, dict) else _list(data, "runtime options")
        return [RuntimeOption.from_dict(item) for item in items]

    return call("the runtime options", parse)
