"""Typed answers of the hub calls listed in API.md, read strictly.

Every model has ``read(node)`` (a :class:`crunch.jsonshape.Node`): a field of the wrong type
raises a :class:`crunch.exceptions.DocumentError` naming its path (``dataFiles.X_train.size:
expected an integer, got "12kb"``); ``from_dict(data)`` reads a plain value. The client and
the workspace name the source (the call, the file) with :func:`crunch.jsonshape.parse`.

Documents that are cached keep the JSON they came from in ``raw`` (written back as-is).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Type, TypeVar

from ..jsonshape import ABSENT, Node, child_path

M = TypeVar("M")

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
        name = node["name"].string(nonempty=True)
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
        return cls(node["id"].identifier(None), node["number"].integer(None), node["start"].string(None), node["end"].string(None))


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
        node.mapping()
        targets = []
        for name, value in node["targets"].entries({}):
            if value.missing:
                targets.append(Target(name, name, "prediction"))
            else:
                value.mapping()
                targets.append(Target(name, value["input"].string(name, nonempty=True), value["output"].string("prediction", nonempty=True)))
        moon = node["moon"]
        return cls(
            node["id"].string("id", nonempty=True),
            "moon" if moon.value is ABSENT else moon.string(None, nonempty=True),
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
        return cls(node["key"].identifier(), node["group"].string(""), node["reduced"].string(None))


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
        return cls(
            key=key,
            name=node["name"].string(nonempty=True),
            url=node["url"].string(""),
            size=node["size"].integer(-1, minimum=-1),
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
        files = {key: DataFile.read(key, value) for key, value in node["dataFiles"].entries({}) if not value.missing}
        return cls(
            id=node["id"].identifier(None),
            number=node["number"].identifier(None),
            name=node["name"].string(""),
            embargo=node["embargo"].integer(0, minimum=0),
            number_of_features=node["numberOfFeatures"].integer(0, minimum=0),
            hash=node["hash"].string(None),
            column_names=ColumnNames.from_dict({}) if columns.missing else ColumnNames.read(columns),
            splits=[Split.read(item) for item in node["splits"].items([])],
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
            node["scope"].string("ROOT"),
            node["order"].integer(0),
            node["parameters"].json_object({}),
            dict(node.mapping()),
        )


@dataclass
class Library(_Model):
    name: str
    aliases: List[str]
    standard: bool
    language: str = "PYTHON"

    @classmethod
    def read(cls, node: Node) -> "Library":
        node.mapping()
        return cls(node["name"].string(nonempty=True), node["aliases"].strings([]), node["standard"].boolean(False), node["language"].string("PYTHON"))

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "aliases": self.aliases, "standard": self.standard, "language": self.language}


@dataclass
class LibraryPage(_Model):
    content: List[Library]

    @classmethod
    def read(cls, node: Node) -> "LibraryPage":
        node.mapping()
        return cls([Library.read(item) for item in node["content"].items([])])


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
    id: Any
    name: str
    size: int
    chunked: bool
    status: str
    provider: Optional[str]
    chunks: List[UploadChunk]

    @classmethod
    def read(cls, node: Node) -> "Upload":
        node.mapping()
        return cls(
            id=node["id"].identifier(),
            name=node["name"].string(""),
            size=node["size"].integer(0, minimum=0),
            chunked=node["chunked"].boolean(False),
            status=node["status"].string("PENDING"),
            provider=node["provider"].string(None),
            chunks=[UploadChunk.read(item) for item in node["chunks"].items([])],
        )


@dataclass
class ChunkRequest(_Model):
    method: str
    url: str
    headers: Dict[str, str]

    @classmethod
    def read(cls, node: Node) -> "ChunkRequest":
        node.mapping()
        return cls(node["method"].string("PUT", nonempty=True), node["url"].string(nonempty=True), node["headers"].string_map({}))


@dataclass
class Submission(_Model):
    id: Any
    number: int
    message: str
    created_at: Optional[str]
    model_directory_path: Optional[str] = None

    @classmethod
    def read(cls, node: Node) -> "Submission":
        node.mapping()
        model_directory = node["modelDirectoryPath"].string(None)
        return cls(
            node["id"].identifier(None),
            node["number"].integer(),
            node["message"].string(""),
            node["createdAt"].string(None),
            model_directory if model_directory and model_directory.strip("/") else None,
        )


@dataclass
class QuickstarterFile:
    name: str
    url: str


@dataclass
class Quickstarter(_Model):
    name: str
    title: str
    notebook: bool
    files: List[QuickstarterFile]

    @classmethod
    def read(cls, node: Node) -> "Quickstarter":
        node.mapping()
        return cls(
            node["name"].string(""),
            node["title"].string(""),
            node["notebook"].boolean(False),
            [QuickstarterFile(item["name"].string(nonempty=True), item["url"].string(nonempty=True)) for item in node["files"].items([])],
        )


def clone_listing(node: Node) -> Dict[str, str]:
    """The clone call's answer: ``{relative path: download url}``."""
    return {path: url.string(nonempty=True) for path, url in node.entries()}
