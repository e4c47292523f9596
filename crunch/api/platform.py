"""The hub's calls after the push, with strictly typed answers: a project, its submissions and
their files, models, quotas, metrics and leaderboard changes, quickstarters and libraries.

Every ``from_dict`` checks the type of each field it reads with :mod:`crunch.jsonshape` and
raises a ``DocumentError`` naming the field (turned by :func:`call` into an
:class:`~crunch.exceptions.MalformedAnswerError` naming the call) on an answer of another
shape, so a command never prints half-parsed data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar, Union

from .. import exceptions as exc
from ..jsonshape import Node, describe
from .client import Client, _segment

T = TypeVar("T")
Number = Union[int, float]


_KIND_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "an object", list: "a list"}


def _field(data: Any, key: str, kind: Union[Type[Any], tuple], *, optional: bool = False, default: Any = None) -> Any:
    """The field ``key`` of the object ``data``, of type ``kind``: a DocumentError of
    :mod:`crunch.jsonshape` naming the field otherwise."""
    node = Node(data)[key]
    value = data.get(key, default)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    expected = " or ".join(_KIND_NAMES.get(one, one.__name__) for one in kinds)
    if value is None:
        if optional:
            return default
        raise node.fail(f"expected {expected}, got {describe(node.value)}")
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise node.fail(f"expected {expected}, got {describe(value)}")
    return value


def _list(data: Any, what: str) -> List[Any]:
    """``data`` as a list (a DocumentError otherwise)."""
    return [item.value for item in Node(data).items()]


def call(what: str, function: Callable[[], T]) -> T:
    """Run a hub call and its parsing; an answer of an unexpected shape is an ApiError."""
    try:
        return function()
    except exc.DocumentError as error:  # a model read with crunch.jsonshape: the field is named
        raise exc.MalformedAnswerError(
            f"the hub's answer to {what} is malformed: {error.message}: check --api-base-url, or update crunch"
        ) from None
    except (TypeError, ValueError, KeyError) as error:
        raise exc.ApiError(
            f"the hub's answer to {what} does not have the expected shape ({error}): check --api-base-url, or update crunch"
        ) from None


# -- models -------------------------------------------------------------------------------------


@dataclass
class Project:
    id: Any
    name: str
    user_id: Any
    created_at: Optional[str]

    @classmethod
    def from_dict(cls, data: Any) -> "Project":
        return cls(
            _field(data, "id", (int, str)),
            _field(data, "name", str),
            _field(data, "userId", (int, str)),
            _field(data, "createdAt", str, optional=True),
        )


@dataclass
class FileInfo:
    name: str
    size: int

    @classmethod
    def from_dict(cls, data: Any) -> "FileInfo":
        return cls(_field(data, "name", str), _field(data, "size", int))


@dataclass
class Model:
    id: Any
    name: str
    total_size: int
    created_at: Optional[str]

    @classmethod
    def from_dict(cls, data: Any) -> "Model":
        return cls(
            _field(data, "id", (int, str)),
            _field(data, "name", str, optional=True, default=""),
            _field(data, "totalSize", int),
            _field(data, "createdAt", str, optional=True),
        )


@dataclass
class SubmissionDetail:
    id: Any
    number: int
    message: str
    main_file_path: str
    model_directory_path: str
    total_size: int
    created_at: Optional[str]
    model: Optional[Model]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "SubmissionDetail":
        model = _field(data, "model", dict, optional=True)
        return cls(
            id=_field(data, "id", (int, str)),
            number=_field(data, "number", int),
            message=_field(data, "message", str, optional=True, default=""),
            main_file_path=_field(data, "mainFilePath", str, optional=True, default="main.py"),
            model_directory_path=_field(data, "modelDirectoryPath", str, optional=True, default="resources"),
            total_size=_field(data, "totalSize", int, optional=True, default=0),
            created_at=_field(data, "createdAt", str, optional=True),
            model=Model.from_dict(model) if model is not None else None,
            raw=dict(data),
        )


@dataclass
class CountLimit:
    current: int
    maximum: int
    bypass: bool

    @property
    def remaining(self) -> int:
        return max(0, self.maximum - self.current)


@dataclass
class SubmitQuota:
    code_files: int
    model_files: int
    submissions_per_day: CountLimit
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "SubmitQuota":
        per_day = _field(data, "submissionsPerDay", dict)
        return cls(
            code_files=_field(_field(data, "codeFiles", dict), "totalSize", int),
            model_files=_field(_field(data, "modelFiles", dict), "totalSize", int),
            submissions_per_day=CountLimit(
                _field(per_day, "current", int), _field(per_day, "maximum", int), bool(_field(per_day, "bypass", bool, optional=True, default=False))
            ),
            raw=dict(data),
        )


@dataclass
class ComputeQuota:
    available: float
    remaining: float
    used: float
    running: bool
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "ComputeQuota":
        return cls(
            float(_field(data, "available", (int, float))),
            float(_field(data, "remaining", (int, float))),
            float(_field(data, "used", (int, float))),
            _field(data, "running", bool),
            dict(data),
        )


@dataclass
class Unit:
    prefix: str
    scale: int
    suffix: str

    @classmethod
    def from_dict(cls, data: Any) -> "Unit":
        return cls(
            _field(data, "prefix", str, optional=True, default=""),
            _field(data, "scale", int, optional=True, default=0),
            _field(data, "suffix", str, optional=True, default=""),
        )

    def format(self, value: Optional[Number]) -> str:
        if value is None:
            return "-"
        shown = f"{value:.{self.scale}f}" if self.scale else str(int(round(value)))
        return f"{self.prefix}{shown}{self.suffix}"


@dataclass
class Change:
    unit: Unit
    current: Optional[Number]
    previous: Optional[Number]

    @classmethod
    def from_dict(cls, data: Any) -> "Change":
        return cls(
            Unit.from_dict(_field(data, "unit", dict, optional=True, default={})),
            _field(data, "current", (int, float), optional=True),
            _field(data, "previous", (int, float), optional=True),
        )


@dataclass
class TargetStanding:
    name: str
    display_name: str
    rank: Change
    metrics: Dict[str, Change]

    @classmethod
    def from_dict(cls, data: Any) -> "TargetStanding":
        metrics = _field(data, "metrics", dict, optional=True, default={})
        return cls(
            _field(data, "name", str),
            _field(data, "displayName", str, optional=True, default="") or _field(data, "name", str),
            Change.from_dict(_field(data, "rewardRank", dict, optional=True) or _field(data, "rank", dict)),
            {str(name): Change.from_dict(value) for name, value in metrics.items()},
        )


@dataclass
class Metric:
    name: str
    display_name: str

    @classmethod
    def from_dict(cls, data: Any) -> "Metric":
        return cls(_field(data, "name", str), _field(data, "displayName", str, optional=True, default="") or _field(data, "name", str))


@dataclass
class QuickstarterAuthor:
    name: str
    link: Optional[str]


@dataclass
class QuickstarterFileInfo:
    name: str
    url: str


@dataclass
class QuickstarterDetail:
    name: str
    title: str
    language: str
    notebook: bool
    authors: List[QuickstarterAuthor]
    files: List[QuickstarterFileInfo]

    @classmethod
    def from_dict(cls, data: Any) -> "QuickstarterDetail":
        authors = [
            QuickstarterAuthor(_field(a, "name", str), _field(a, "link", str, optional=True))
            for a in _list(_field(data, "authors", list, optional=True, default=[]), "authors")
        ]
        files = [
            QuickstarterFileInfo(_field(f, "name", str), _field(f, "url", str))
            for f in _list(_field(data, "files", list, optional=True, default=[]), "files")
        ]
        return cls(
            _field(data, "name", str),
            _field(data, "title", str, optional=True, default=""),
            _field(data, "language", str, optional=True, default="PYTHON"),
            _field(data, "notebook", bool, optional=True, default=False),
            authors,
            files,
        )

    @property
    def kind(self) -> str:
        return "notebook" if self.notebook else "code"


@dataclass
class LibraryInfo:
    name: str
    aliases: List[str]
    language: str
    standard: bool
    gpu_requirement: Optional[str]

    @classmethod
    def from_dict(cls, data: Any) -> "LibraryInfo":
        aliases = _list(_field(data, "aliases", list, optional=True, default=[]), "aliases")
        if not all(isinstance(a, str) for a in aliases):
            raise TypeError("aliases holds a value that is not text")
        return cls(
            _field(data, "name", str),
            list(aliases),
            _field(data, "language", str, optional=True, default="PYTHON"),
            _field(data, "standard", bool, optional=True, default=False),
            _field(data, "gpuRequirement", str, optional=True),
        )


# -- calls --------------------------------------------------------------------------------------


def _project_path(competition: str, user_id: Any, project: str) -> str:
    return f"/v3/competitions/{_segment(competition)}/projects/{_segment(user_id)}/{_segment(project)}"


def get_project(client: Client, competition: str, user_id: Any, project: str) -> Project:
    return call("the project", lambda: Project.from_dict(client.request("GET", _project_path(competition, user_id, project))))


def list_submissions(client: Client, competition: str, user_id: Any, project: str) -> List[SubmissionDetail]:
    def parse() -> List[SubmissionDetail]:
        data = client.request("GET", _project_path(competition, user_id, project) + "/submissions")
        return [SubmissionDetail.from_dict(item) for item in _list(data if data is not None else [], "submissions")]

    return call("the submission listing", parse)


def get_submission(client: Client, competition: str, user_id: Any, project: str, identifier: Union[int, str]) -> SubmissionDetail:
    path = _project_path(competition, user_id, project) + f"/submissions/{_segment(identifier)}"
    return call("the submission", lambda: SubmissionDetail.from_dict(client.request("GET", path)))


def submission_files(client: Client, competition: str, user_id: Any, project: str, number: int) -> List[FileInfo]:
    path = _project_path(competition, user_id, project) + f"/submissions/{number}/files"
    return call("the submission's files", lambda: [FileInfo.from_dict(f) for f in _list(client.request("GET", path), "files")])


def model_files(client: Client, competition: str, user_id: Any, project: str, model_id: Any) -> List[FileInfo]:
    path = _project_path(competition, user_id, project) + f"/models/{_segment(model_id)}/files"
    return call("the model's files", lambda: [FileInfo.from_dict(f) for f in _list(client.request("GET", path), "files")])


def submit_quota(client: Client, competition: str, user_id: Any, project: str) -> SubmitQuota:
    path = _project_path(competition, user_id, project) + "/quota/submit"
    return call("the submit quota", lambda: SubmitQuota.from_dict(client.request("GET", path)))


def compute_quota(client: Client, competition: str, user_id: Any, project: str) -> ComputeQuota:
    path = _project_path(competition, user_id, project) + "/quota/compute"
    return call("the compute quota", lambda: ComputeQuota.from_dict(client.request("GET", path)))


def list_metrics(client: Client, competition_id: Any) -> List[Metric]:
    path = f"/v1/competitions/{_segment(competition_id)}/metrics"
    return call("the metrics", lambda: [Metric.from_dict(m) for m in _list(client.request("GET", path), "metrics")])


def leaderboard_standing(client: Client, competition: str, user_id: Any, project: str) -> List[TargetStanding]:
    path = f"/v3/competitions/{_segment(competition)}/leaderboards/@default/changes/users/{_segment(user_id)}"

    def parse() -> List[TargetStanding]:
        data = client.request("GET", path, params={"projectIdentifier": project})
        return [TargetStanding.from_dict(t) for t in _list(_field(data, "targets", list, optional=True, default=[]), "targets")]

    return call("the leaderboard", parse)


def list_quickstarters(client: Client, competition: str) -> List[QuickstarterDetail]:
    path = f"/v2/competitions/{_segment(competition)}/quickstarters"
    return call("the quickstarters", lambda: [QuickstarterDetail.from_dict(q) for q in _list(client.request("GET", path), "quickstarters")])


def get_quickstarter(client: Client, competition: str, name: str) -> QuickstarterDetail:
    path = f"/v2/competitions/{_segment(competition)}/quickstarters/{_segment(name)}"
    return call("the quickstarter", lambda: QuickstarterDetail.from_dict(client.request("GET", path)))


def search_libraries(client: Client, pattern: str, *, language: Optional[str] = None, standard: Optional[bool] = None, limit: Optional[int] = None) -> List[LibraryInfo]:
    """Libraries whose name or alias matches ``pattern`` (``%`` any text), page after page
    until ``limit`` (plus one, to tell there are more) or the end."""

    def parse() -> List[LibraryInfo]:
        found: List[LibraryInfo] = []
        page, size = 0, 200
        while True:
            params: Dict[str, Any] = {"name": pattern, "page": page, "size": size}
            if language:
                params["language"] = language
            if standard is not None:
                params["standard"] = "true" if standard else "false"
            data = client.request("GET", "/v2/libraries", params=params)
            content = _list(_field(data, "content", list, optional=True, default=[]), "content")
            found.extend(LibraryInfo.from_dict(item) for item in content)
            if len(content) < size or (limit is not None and len(found) > limit):
                return found
            page += 1

    return call("the library search", parse)


def list_competitions(client: Client, filters: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The competitions matching ``filters`` (query parameters of ``GET /v2/competitions``), as JSON objects."""

    def parse() -> List[Dict[str, Any]]:
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in filters.items() if v is not None}
        data = client.request("GET", "/v2/competitions", params=params) or []
        items = data.get("content") if isinstance(data, dict) else data
        result = []
        for item in _list(items, "competitions"):
            _field(item, "name", str)
            result.append(item)
        return result

    return call("the competition listing", parse)
