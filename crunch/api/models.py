"""Typed answers of the hub's calls, read tolerantly (docs/platform-answers.md).

Every model has ``read(node)`` (a :class:`crunch.core.jsonshape.Node`) and reads only the fields
some command uses, in every form the platform has been seen to send: a field that is absent
or null takes its default unless a command cannot do without it, numbers may come as text,
flags as 0/1, unknown enum values are kept, listings may be pages or bare lists, extra fields
are ignored. A value that cannot be used raises a :class:`crunch.exceptions.DocumentError`
naming its path (``dataFiles.X_train.size: expected an integer, got "12kb"``); the client and
the workspace name the source (the call, the file) with :func:`crunch.core.jsonshape.parse`.

Documents that are cached keep the JSON they came from in ``raw`` (written back as-is).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Type, TypeVar, Union

from ..core.jsonshape import ABSENT, Node, child_path, describe
from ..exceptions import DocumentError

M = TypeVar("M")
Number = Union[int, float]

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class _Model:
    @classmethod
    def read(cls: Type[M], node: Node) -> M:  # pragma: no cover - every model defines it
        raise NotImplementedError

    @classmethod
    def from_dict(cls: Type[M], data: Any) -> M:
        """Read ``data`` (a DocumentError naming the field when it has the wrong shape)."""
        return cls.read(Node(data))  # type: ignore[attr-defined, no-any-return]


class CompetitionFormat(str, enum.Enum):
    TIMESERIES = "TIMESERIES"
    DAG = "DAG"
    REGULAR = "REGULAR"
    #: the competition ships its own code (runner.py, scoring.py...), see crunch.api.domain for its targets and metrics
    UNSTRUCTURED = "UNSTRUCTURED"

    @classmethod
    def parse(cls, value: Any) -> "CompetitionFormat":
        if value == "TIMESERIES":
            return cls.TIMESERIES
        if value == "DAG":
            return cls.DAG
        if value == "UNSTRUCTURED":
            return cls.UNSTRUCTURED
        return cls.REGULAR


@dataclass
class ProjectInfo(_Model):
    id: Any
    name: str
    user_id: Any
    competition_id: Any

    @classmethod
    def read(cls, node: Node) -> "ProjectInfo":
        node.mapping()
        return cls(
            node["id"].identifier(None),
            node["name"].string(""),
            node["userId"].identifier(None),
            node["competitionId"].identifier(None),
        )


@dataclass
class ProjectToken(_Model):
    plain: str
    type: str
    valid_until: Optional[str]
    project: ProjectInfo

    @classmethod
    def read(cls, node: Node) -> "ProjectToken":
        node.mapping()
        project = ProjectInfo.read(node["project"])
        if project.user_id is None:  # the workspace is nothing without it: every project call names it
            node["project"]["userId"].identifier()
        return cls(
            plain=node["plain"].string(""),
            type=node["type"].string("PUSH"),
            valid_until=node["validUntil"].string(None),
            project=project,
        )

    def __repr__(self) -> str:  # never show the token
        return f"ProjectToken(type={self.type!r}, project={self.project!r})"


@dataclass
class Competition(_Model):
    id: Any
    name: str
    display_name: str
    format: CompetitionFormat
    status: Optional[str]
    hide_train_frequency: bool = False  # runs of this competition take no train frequency (0 is used)
    hide_force_first_train: bool = False  # runs of this competition take no force-first-train choice
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "Competition":
        name = node["name"].string(None) or ""  # a competition asked for by name keeps it (Client.get_competition)
        return cls(
            id=node["id"].identifier(None),
            name=name,
            display_name=node["displayName"].string(None) or name,
            format=CompetitionFormat.parse(node["format"].string(None)),
            status=node["status"].string(None),
            hide_train_frequency=node["hideTrainFrequency"].boolean(False),
            hide_force_first_train=node["hideForceFirstTrain"].boolean(False),
            raw=dict(node.mapping()),
        )


@dataclass
class Round(_Model):
    id: Any
    number: Optional[int]
    start: Optional[str] = None
    end: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "Round":
        node.mapping()
        return cls(
            _soft(lambda: node["id"].identifier(None), None),
            node["number"].integer(None),
            _soft(lambda: node["start"].string(None), None),
            _soft(lambda: node["end"].string(None), None),
        )


@dataclass
class Target:
    """A target column of a classic competition's data (``columnNames.targets``). The targets and
    metrics of the scoring API are :class:`crunch.api.domain.Target` and :class:`crunch.api.domain.Metric`
    (``Client.get_targets``, ``Client.get_metrics``)."""

    name: str
    input: str
    output: str


@dataclass
class ColumnNames(_Model):
    id: str
    moon: Optional[str]  # None: the competition has no moon column (regular format)
    targets: List[Target]

    @classmethod
    def read(cls, node: Node) -> "ColumnNames":
        """``targets`` as the platform sends it now (a list of target objects: ``name``,
        ``input``, ``output``...) or as classic hubs did (``{name: {"input", "output"}}``)."""
        node.mapping()
        targets = []
        listed = node["targets"]
        if isinstance(listed.value, list):
            for item in listed.items():
                if item.missing:
                    continue
                if isinstance(item.value, str) and item.value:  # a bare target name
                    targets.append(Target(item.value, item.value, "prediction"))
                    continue
                item.mapping()
                name = item["name"].string(None) or item["input"].string(None) or "target"
                targets.append(Target(name, item["input"].string(None) or name, item["output"].string(None) or "prediction"))
        else:
            for name, value in listed.entries({}):
                if value.missing:
                    targets.append(Target(name, name, "prediction"))
                else:
                    value.mapping()
                    targets.append(Target(name, value["input"].string(None) or name, value["output"].string(None) or "prediction"))
        if not targets and (node["input"].string(None) or node["output"].string(None)):
            name = node["input"].string(None) or "target"
            targets.append(Target(name, name, node["output"].string(None) or "prediction"))
        moon = node["moon"]
        return cls(
            node["id"].string(None) or "id",
            "moon" if moon.value is ABSENT else (moon.string(None) or None),
            targets,
        )

    @property
    def inputs(self) -> List[str]:
        return [t.input for t in self.targets]

    @property
    def outputs(self) -> List[str]:
        return [t.output for t in self.targets]


@dataclass
class Split(_Model):
    key: Any
    group: str
    reduced: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "Split":
        node.mapping()
        return cls(node["key"].identifier(None), node["group"].string(None) or "", node["reduced"].string(None))


@dataclass
class DataFile:
    key: str
    name: str
    url: str
    size: int
    signed: bool = False
    compressed: bool = False
    sha256: Optional[str] = None

    @classmethod
    def read(cls, key: str, node: Node) -> "DataFile":
        node.mapping()
        digest = node["sha256"]
        sha256 = digest.string(None)
        if sha256 is not None and not SHA256.fullmatch(sha256):
            raise digest.fail(f"expected a sha256 (64 hexadecimal digits), got {sha256[:40]!r}")
        size = node["size"].integer(-1, minimum=-1)
        url = node["url"].string("")  # a cache may hold file: links (a run's sandbox); a download checks its links
        return cls(
            key=key,
            name=node["name"].string(None) or _file_name(url) or key,
            url=url,
            size=size,
            signed=node["signed"].boolean(False),
            compressed=node["compressed"].boolean(False),
            sha256=sha256,
        )

    @classmethod
    def from_dict(cls, key: str, data: Any) -> "DataFile":
        return cls.read(key, Node(data, child_path("dataFiles", key)))

    @property
    def available(self) -> bool:
        return bool(self.url) and self.size != -1


#: The data files the local run knows, by the key it uses; the platform has sent them under
#: other spellings too (``xTrain``, ``x_train``).
KNOWN_DATA_FILES = ("X_train", "y_train", "X_test", "y_test", "example_prediction")
_KNOWN_BY_SPELLING = {key.replace("_", "").lower(): key for key in KNOWN_DATA_FILES}


def data_file_key(key: str) -> str:
    """``xTrain``, ``x_train``, ``X_TRAIN`` -> ``X_train``; other keys as they are."""
    return _KNOWN_BY_SPELLING.get(key.replace("_", "").lower(), key)


@dataclass
class DataRelease(_Model):
    id: Any
    number: Any
    name: str
    embargo: int
    number_of_features: int
    hash: Optional[str]
    column_names: ColumnNames
    splits: List[Split]
    data_files: Dict[str, DataFile]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "DataRelease":
        columns = node["columnNames"]
        files: Dict[str, DataFile] = {}
        for key, value in node["dataFiles"].entries({}):
            if value.missing:
                continue
            known = data_file_key(key)
            files[key if known in files else known] = DataFile.read(known if known not in files else key, value)
        return cls(
            id=node["id"].identifier(None),
            number=node["number"].identifier(None),
            name=node["name"].string(""),
            embargo=max(0, _soft(lambda: node["embargo"].integer(0), 0)),
            number_of_features=max(0, _soft(lambda: node["numberOfFeatures"].integer(0), 0)),
            hash=_soft(lambda: node["hash"].string(None), None),
            column_names=ColumnNames.from_dict({}) if not isinstance(columns.value, dict) else ColumnNames.read(columns),
            splits=[split for split in (Split.read(item) for item in node["splits"].items([])) if split.key is not None],
            data_files=files,
            raw=dict(node.mapping()),
        )

    @property
    def test_keys(self) -> List[Any]:
        """The keys of the local loop: TEST splits whose ``reduced`` is not null, in order."""
        return [s.key for s in self.splits if s.group == "TEST" and s.reduced is not None]


@dataclass
class Check(_Model):
    function: str
    scope: str
    order: int
    parameters: Dict[str, Any]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "Check":
        return cls(
            node["function"].string(nonempty=True),
            node["scope"].string(None) or "ROOT",
            node["order"].integer(0),
            _soft(lambda: node["parameters"].json_object({}), {}),
            dict(node.mapping()),
        )


@dataclass
class Library(_Model):
    """A library of the whitelist (``GET /v2/libraries``, a page of them)."""

    name: str
    aliases: List[str]
    standard: bool
    language: str = "PYTHON"
    gpu_requirement: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "Library":
        node.mapping()
        aliases = _soft(lambda: [item.string(None) for item in node["aliases"].items([])], [])
        return cls(
            node["name"].string(nonempty=True),
            [alias for alias in aliases if alias],
            node["standard"].boolean(False),
            node["language"].string(None) or "PYTHON",
            node["gpuRequirement"].string(None),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "aliases": self.aliases, "standard": self.standard, "language": self.language}


def library_index(libraries: List[Library]) -> Dict[str, Library]:
    """Module or alias name -> library (the first library that claims a name keeps it)."""
    index: Dict[str, Library] = {}
    for library in libraries:
        for alias in [library.name, *library.aliases]:
            index.setdefault(alias, library)
    return index


@dataclass
class UploadChunk(_Model):
    number: int
    offset: int
    size: int
    last: bool
    completed: bool

    @classmethod
    def read(cls, node: Node) -> "UploadChunk":
        node.mapping()
        return cls(
            node["number"].integer(minimum=1),
            node["offset"].integer(minimum=0),
            node["size"].integer(minimum=0),
            node["last"].boolean(False),
            node["completed"].boolean(False),
        )


@dataclass
class Upload(_Model):
    """An upload as ``POST /v1/uploads`` answers it: its id and the chunks to send are needed."""

    id: Any
    status: Optional[str]
    chunks: List[UploadChunk]

    @classmethod
    def read(cls, node: Node) -> "Upload":
        node.mapping()
        return cls(
            id=node["id"].identifier(),
            status=node["status"].string(None),
            chunks=[UploadChunk.read(item) for item in node["chunks"].items([])],
        )


def upload_status(node: Node) -> Optional[str]:
    """The ``status`` of an upload answer (``complete``), None when it says none."""
    return node["status"].string(None) if isinstance(node.value, dict) else None


@dataclass
class ChunkRequest(_Model):
    method: str
    url: str
    headers: Dict[str, str]

    @classmethod
    def read(cls, node: Node) -> "ChunkRequest":
        node.mapping()
        headers = node["headers"]
        return cls(
            node["method"].string(None) or "PUT",
            link(node["url"]),
            {key: value.string() for key, value in headers.entries({}) if not value.missing} if not isinstance(headers.value, list) else {},
        )


@dataclass
class FileInfo(_Model):
    """A file of a submission or a model: its name and size."""

    name: str
    size: Optional[int]

    @classmethod
    def read(cls, node: Node) -> "FileInfo":
        node.mapping()
        return cls(node["name"].string(nonempty=True), _soft(lambda: node["size"].integer(None), None))


@dataclass
class ModelInfo(_Model):
    """The model a submission carries (its files are listed by ``Client.model_files``)."""

    id: Any
    total_size: Optional[int]

    @classmethod
    def read(cls, node: Node) -> "ModelInfo":
        node.mapping()
        return cls(node["id"].identifier(), _soft(lambda: node["totalSize"].integer(None), None))


@dataclass
class Submission(_Model):
    """A submission, as the listing, the single answer and the creation answer give it."""

    id: Any
    number: Optional[int]
    message: str
    created_at: Optional[str]
    model_directory_path: Optional[str] = None  # None: not said, or the root
    main_file_path: str = "main.py"
    total_size: Optional[int] = None
    model: Optional[ModelInfo] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "Submission":
        node.mapping()
        model_directory = node["modelDirectoryPath"].string(None)
        model = node["model"]
        return cls(
            id=node["id"].identifier(None),
            number=node["number"].integer(None),
            message=_soft(lambda: node["message"].string(""), ""),
            created_at=_soft(lambda: node["createdAt"].string(None), None),
            model_directory_path=model_directory if model_directory and model_directory.strip("/") else None,
            main_file_path=node["mainFilePath"].string(None) or "main.py",
            total_size=_soft(lambda: node["totalSize"].integer(None), None),
            model=ModelInfo.read(model) if isinstance(model.value, dict) else None,
            raw=dict(node.mapping()),
        )


@dataclass
class Project(_Model):
    """A project (``GET /v3/competitions/{c}/projects/{user}/{name}``)."""

    id: Any
    name: str
    user_id: Any
    created_at: Optional[str]

    @classmethod
    def read(cls, node: Node) -> "Project":
        node.mapping()
        return cls(
            node["id"].identifier(None),
            node["name"].string(""),
            node["userId"].identifier(None),
            _soft(lambda: node["createdAt"].string(None), None),
        )


@dataclass
class QuickstarterAuthor:
    name: str
    link: Optional[str]


@dataclass
class QuickstarterFile:
    name: str
    url: str


@dataclass
class Quickstarter(_Model):
    """A quickstarter. The listing gives no ``files`` (``files`` is None then): the single
    quickstarter's answer does."""

    name: str
    title: str
    notebook: bool
    files: Optional[List[QuickstarterFile]]
    language: str = "PYTHON"
    authors: List[QuickstarterAuthor] = field(default_factory=list)

    @classmethod
    def read(cls, node: Node) -> "Quickstarter":
        node.mapping()
        listed = node["files"]
        files = None
        if isinstance(listed.value, list):
            files = []
            for item in listed.items():
                item.mapping()
                if item["url"].missing:  # nothing to fetch it from: the quickstarter goes without it
                    continue
                url = link(item["url"])
                files.append(QuickstarterFile(item["name"].string(None) or _file_name(url) or "", url))
            files = [f for f in files if f.name]
        authors = node["authors"]
        return cls(
            name=node["name"].string(None) or "",
            title=node["title"].string(None) or "",
            notebook=node["notebook"].boolean(False),
            files=files,
            language=node["language"].string(None) or "PYTHON",
            authors=[
                QuickstarterAuthor(item["name"].string(None) or "", _soft(lambda item=item: item["link"].string(None), None))
                for item in authors.items()
                if isinstance(item.value, dict)
            ]
            if isinstance(authors.value, list)
            else [],
        )

    @property
    def kind(self) -> str:
        return "notebook" if self.notebook else "code"


def _file_name(url: str) -> str:
    """The last part of a link's path (``.../X_train.parquet?sig=...`` -> ``X_train.parquet``)."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) if url else ""


def link(node: Node) -> str:
    """A link to fetch or send bytes: an http:// or https:// URL (a value that is none cannot be
    used, whatever its type)."""
    text = node.string(nonempty=True).strip()
    if not text.lower().startswith(("http://", "https://")):
        raise node.fail(f"expected an http:// or https:// link, got {describe(text)}")
    return text


def clone_listing(node: Node) -> Dict[str, str]:
    """The clone call's answer: ``{relative path: download url}``."""
    return {path: link(url) for path, url in node.entries()}


# -- quotas -------------------------------------------------------------------------------------


@dataclass
class CountLimit:
    current: int
    maximum: int
    bypass: bool

    @property
    def remaining(self) -> int:
        return max(0, self.maximum - self.current)


@dataclass
class SubmitQuota(_Model):
    code_files: Optional[int]
    model_files: Optional[int]
    submissions_per_day: CountLimit
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "SubmitQuota":
        node.mapping()
        per_day = node["submissionsPerDay"]
        per_day.mapping()

        def total(name: str) -> Optional[int]:
            part = node[name]
            return part["totalSize"].integer(None) if isinstance(part.value, dict) else None

        return cls(
            code_files=total("codeFiles"),
            model_files=total("modelFiles"),
            submissions_per_day=CountLimit(per_day["current"].integer(0), per_day["maximum"].integer(), per_day["bypass"].boolean(False)),
            raw=dict(node.mapping()),
        )


def _seconds(node: Node, default: Any = None) -> Any:
    """A duration in seconds: a number, or an ISO 8601 duration (``PT1H30M``)."""
    if isinstance(node.value, str) and node.value.strip().upper().startswith("P"):
        found = _ISO_DURATION.fullmatch(node.value.strip().upper())
        if found is None:
            raise node.fail(f"expected a duration, got {node.value[:40]!r}")
        days, hours, minutes, seconds = (float(part) if part else 0.0 for part in found.groups())
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return float(node.number(default)) if not node.missing else default


_ISO_DURATION = re.compile(r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?")


@dataclass
class ComputeQuota(_Model):
    available: float
    remaining: float
    used: float
    running: bool
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "ComputeQuota":
        node.mapping()
        return cls(
            _seconds(node["available"], 0.0),
            _seconds(node["remaining"], 0.0),
            _seconds(node["used"], 0.0),
            node["running"].boolean(False),
            dict(node.mapping()),
        )


# -- leaderboard --------------------------------------------------------------------------------


@dataclass
class Unit:
    prefix: str
    scale: int
    suffix: str

    @classmethod
    def read(cls, node: Node) -> "Unit":
        if not isinstance(node.value, dict):
            return cls("", 0, "")
        return cls(node["prefix"].string(None) or "", min(max(0, _soft(lambda: node["scale"].integer(0), 0)), 20), node["suffix"].string(None) or "")

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
    def read(cls, node: Node) -> "Change":
        if not isinstance(node.value, dict):
            return cls(Unit("", 0, ""), None, None)
        return cls(Unit.read(node["unit"]), _soft(lambda: node["current"].number(None), None), _soft(lambda: node["previous"].number(None), None))


@dataclass
class TargetStanding(_Model):
    name: str
    display_name: str
    rank: Change
    metrics: Dict[str, Change]

    @classmethod
    def read(cls, node: Node) -> "TargetStanding":
        node.mapping()
        name = node["name"].string(nonempty=True)
        rank = node["rewardRank"] if isinstance(node["rewardRank"].value, dict) else node["rank"]
        metrics = node["metrics"]
        return cls(
            name,
            node["displayName"].string(None) or name,
            Change.read(rank),
            {key: Change.read(value) for key, value in metrics.entries({})} if isinstance(metrics.value, dict) or metrics.missing else {},
        )


def standings(node: Node) -> List[TargetStanding]:
    """The targets of a leaderboard-changes answer (an object with ``targets``, or the list)."""
    listed = node["targets"] if isinstance(node.value, dict) else node
    return [TargetStanding.read(item) for item in listed.items([])]


# -- runs ---------------------------------------------------------------------------------------

ACTIVE_RUN_STATUSES = ("CREATED", "PENDING", "RUNNING", "CLEANING")


@dataclass
class RunPrediction(_Model):
    id: Any
    valid: Optional[bool]
    success: Optional[bool]
    error: Optional[str]
    primary_mean: Optional[float]
    unit: Unit

    @classmethod
    def read(cls, node: Node) -> "RunPrediction":
        node.mapping()
        mean = _soft(lambda: node["primaryMean"].number(None), None)
        return cls(
            node["id"].identifier(None),
            node["valid"].boolean(None),
            node["success"].boolean(None),
            _soft(lambda: node["error"].string(None), None),
            float(mean) if mean is not None else None,
            Unit.read(node["primaryUnit"]),
        )

    def score_text(self) -> str:
        if self.primary_mean is None:
            return "-"
        unit = self.unit
        number = f"{self.primary_mean:.{unit.scale}f}" if unit.scale else f"{self.primary_mean:.6g}"
        return f"{unit.prefix}{number}{unit.suffix}"


@dataclass
class Run(_Model):
    id: Any
    status: str
    success: bool
    terminated: bool
    submission_number: Optional[int]
    created_at: Optional[str]
    started_at: Optional[str] = None
    ended_at: Optional[str] = None
    duration: Optional[float] = None
    exit_code: Optional[int] = None
    exit_reason: Optional[str] = None
    error_message: Optional[str] = None
    prediction: Optional[RunPrediction] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "Run":
        node.mapping()
        submission = node["submission"]
        prediction = node["prediction"]
        duration = _soft(lambda: _seconds(node["duration"]), None)
        return cls(
            id=node["id"].identifier(),
            status=(node["status"].string(None) or "UNKNOWN").upper(),
            success=node["success"].boolean(False),
            terminated=node["terminated"].boolean(False),
            submission_number=submission["number"].integer(None) if isinstance(submission.value, dict) else None,
            created_at=_soft(lambda: node["createdAt"].string(None), None),
            started_at=_soft(lambda: node["startedAt"].string(None), None),
            ended_at=_soft(lambda: node["endedAt"].string(None), None),
            duration=duration,
            exit_code=_soft(lambda: node["exitCode"].integer(None), None),
            exit_reason=_soft(lambda: node["exitReason"].string(None), None),
            error_message=_soft(lambda: node["errorMessage"].string(None), None),
            prediction=RunPrediction.read(prediction) if isinstance(prediction.value, dict) else None,
            raw=dict(node.mapping()),
        )

    @property
    def running(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

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
class RunLog(_Model):
    id: Any
    emitter: str
    error: bool
    content: str
    created_at: Optional[str]

    @classmethod
    def read(cls, node: Node) -> "RunLog":
        node.mapping()
        content = node["content"]
        return cls(
            _soft(lambda: node["id"].integer(None), None),
            node["emitter"].string(None) or "",
            node["error"].boolean(False),
            content.string("") if not isinstance(content.value, (dict, list)) else "",
            _soft(lambda: node["createdAt"].string(None), None),
        )


@dataclass
class RuntimeDefinition(_Model):
    """A runtime of a competition (``GET /v1/competitions/{c}/runtime-definitions``): only the
    name is needed, the rest is shown when given."""

    name: str
    display_name: str = ""
    type: Optional[str] = None
    status: Optional[str] = None
    memory_gb: Optional[Number] = None
    cpu_cores: Optional[int] = None
    gpu_count: Optional[int] = None
    gpu_model: Optional[str] = None
    gpu_driver: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "RuntimeDefinition":
        node.mapping()
        name = node["name"].string(nonempty=True)
        spec = node["specification"] if isinstance(node["specification"].value, dict) else Node({})

        def part(key: str) -> Node:
            return spec[key] if isinstance(spec[key].value, dict) else Node({})

        return cls(
            name=name,
            display_name=_soft(lambda: node["displayName"].string(None), None) or name,
            type=_soft(lambda: node["type"].string(None), None),
            status=_soft(lambda: node["status"].string(None), None),
            memory_gb=_soft(lambda: part("memory")["size"].number(None), None),
            cpu_cores=_soft(lambda: part("cpu")["coreCount"].integer(None), None),
            gpu_count=_soft(lambda: part("gpu")["count"].integer(None), None),
            gpu_model=_soft(lambda: part("gpu")["model"].string(None), None),
            gpu_driver=_soft(lambda: part("gpu")["driver"].string(None), None),
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "name": self.name, "displayName": self.display_name, "type": self.type, "status": self.status,
            "memoryGb": self.memory_gb, "cpuCores": self.cpu_cores,
            "gpu": {"count": self.gpu_count, "model": self.gpu_model, "driver": self.gpu_driver},
        }


@dataclass
class RuntimeOption(_Model):
    name: str
    status: str
    quota_seconds: Optional[float]
    definition: Optional[RuntimeDefinition] = None
    recommended: bool = False

    @classmethod
    def read(cls, node: Node) -> "RuntimeOption":
        node.mapping()
        definition = node["definition"]
        described = RuntimeDefinition.read(definition) if isinstance(definition.value, dict) else None
        name = described.name if described is not None else node["name"].string(nonempty=True)
        return cls(
            name,
            (_soft(lambda: node["status"].string(None), None) or "UNKNOWN").upper(),
            _soft(lambda: _seconds(node["quota"]), None),
            described,
            _soft(lambda: node["recommended"].boolean(False), False),
        )


@dataclass
class RuntimeAccessRequest(_Model):
    """The answer to ``POST /v1/runtime-access-requests``."""

    id: Any
    verdict: str
    definition_name: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "RuntimeAccessRequest":
        node.mapping()
        definition = node["definition"]
        return cls(
            node["id"].identifier(),
            (_soft(lambda: node["verdict"].string(None), None) or "PENDING").upper(),
            _soft(lambda: definition["name"].string(None), None) if isinstance(definition.value, dict) else None,
        )


@dataclass
class LibraryRequest(_Model):
    """The answer to ``POST /v1/library-requests``."""

    id: Any
    verdict: str
    name: Optional[str] = None
    alias: Optional[str] = None
    language: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "LibraryRequest":
        node.mapping()
        return cls(
            node["id"].identifier(),
            (_soft(lambda: node["verdict"].string(None), None) or "PENDING").upper(),
            _soft(lambda: node["name"].string(None), None) or None,
            _soft(lambda: node["alias"].string(None), None) or None,
            _soft(lambda: node["language"].string(None), None),
        )


@dataclass
class Selection(_Model):
    """The run a project's out-of-sample phase uses (``/v4/.../selection``): ``origin`` is
    ``SELECTION`` (chosen), ``PREVIOUS_ROUND`` or ``LAST_RUN`` (the default)."""

    origin: str
    run_id: Any = None
    submission_number: Optional[int] = None

    @classmethod
    def read(cls, node: Node) -> "Selection":
        node.mapping()
        submission = node["submission"]
        return cls(
            (_soft(lambda: node["origin"].string(None), None) or "UNKNOWN").upper(),
            _soft(lambda: node["runId"].identifier(None), None),
            _soft(lambda: submission["number"].integer(None), None) if isinstance(submission.value, dict) else None,
        )


def _soft(read: Callable[[], Any], default: Any) -> Any:
    """``read()``, or ``default`` when the value cannot be read: for fields a command only
    shows, never needs."""
    try:
        return read()
    except DocumentError:
        return default


@dataclass
class Leaderboard(_Model):
    """A leaderboard of a competition (``GET /v2/competitions/{c}/leaderboards[/{name}]``):
    ``targets`` (each with its ``positions``) only in the answer about one leaderboard."""

    id: Any
    name: str
    display_name: str
    default: bool
    targets: Optional[List[Dict[str, Any]]] = None
    crunch_id: Any = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, node: Node) -> "Leaderboard":
        name = node["name"].string(None) or ""
        targets = node["targets"]
        return cls(
            id=node["id"].identifier(None),
            name=name,
            display_name=_soft(lambda: node["displayName"].string(None), None) or name,
            default=_soft(lambda: node["default"].boolean(False), False),
            targets=None if targets.missing else [dict(item.mapping()) for item in targets.items([]) if isinstance(item.value, dict)],
            crunch_id=_soft(lambda: node["crunch"]["id"].identifier(None), None) if isinstance(node["crunch"].value, dict) else None,
            raw=dict(node.mapping()),
        )
