"""Typed answers of the hub calls listed in API.md.

Each model keeps the JSON it came from in ``raw`` so that caches can be written back as-is.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def _object(data: Any) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")


def _get(data: Any, key: str, default: Any = None) -> Any:
    return data.get(key, default) if isinstance(data, dict) else default


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
class ProjectInfo:
    id: Any
    name: str
    user_id: Any
    competition_id: Any

    @classmethod
    def from_dict(cls, data: dict) -> "ProjectInfo":
        _object(data)
        return cls(_get(data, "id"), _get(data, "name", ""), _get(data, "userId"), _get(data, "competitionId"))


@dataclass
class ProjectToken:
    plain: str
    type: str
    valid_until: Optional[str]
    project: ProjectInfo

    @classmethod
    def from_dict(cls, data: dict) -> "ProjectToken":
        _object(data)
        return cls(
            plain=_get(data, "plain", ""),
            type=_get(data, "type", "PUSH"),
            valid_until=_get(data, "validUntil"),
            project=ProjectInfo.from_dict(_get(data, "project", {})),
        )

    def __repr__(self) -> str:  # never show the token
        return f"ProjectToken(type={self.type!r}, project={self.project!r})"


@dataclass
class Competition:
    id: Any
    name: str
    display_name: str
    format: CompetitionFormat
    status: Optional[str]
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict) -> "Competition":
        _object(data)
        return cls(
            id=_get(data, "id"),
            name=_get(data, "name", ""),
            display_name=_get(data, "displayName") or _get(data, "name", ""),
            format=CompetitionFormat.parse(_get(data, "format")),
            status=_get(data, "status"),
            raw=dict(data),
        )


@dataclass
class Round:
    id: Any
    number: int
    start: Optional[str] = None
    end: Optional[str] = None

    @classmethod
    def from_dict(cls, data: dict) -> "Round":
        _object(data)
        return cls(_get(data, "id"), int(_get(data, "number", 0) or 0), _get(data, "start"), _get(data, "end"))


@dataclass
class Target:
    """A target column of a classic competition's data (``columnNames.targets``). The targets and
    metrics of the scoring API are :class:`crunch.api.domain.Target` and :class:`crunch.api.domain.Metric`
    (``Client.get_targets``, ``Client.get_metrics``)."""

    name: str
    input: str
    output: str


@dataclass
class ColumnNames:
    id: str
    moon: str
    targets: List[Target]

    @classmethod
    def from_dict(cls, data: dict) -> "ColumnNames":
        _object(data)
        targets = [
            Target(name, _get(value, "input", name), _get(value, "output", "prediction"))
            for name, value in (_get(data, "targets") or {}).items()
        ]
        return cls(_get(data, "id", "id"), _get(data, "moon", "moon"), targets)

    @property
    def inputs(self) -> List[str]:
        return [t.input for t in self.targets]

    @property
    def outputs(self) -> List[str]:
        return [t.output for t in self.targets]


@dataclass
class Split:
    key: Any
    group: str
    reduced: Optional[str] = None

    @classmethod
    def from_dict(cls, data: dict) -> "Split":
        _object(data)
        return cls(_get(data, "key"), _get(data, "group", ""), _get(data, "reduced"))


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
    def from_dict(cls, key: str, data: dict) -> "DataFile":
        size = _get(data, "size", -1)
        return cls(
            key=key,
            name=_get(data, "name", ""),
            url=_get(data, "url", ""),
            size=int(size) if size is not None else -1,
            signed=bool(_get(data, "signed", False)),
            compressed=bool(_get(data, "compressed", False)),
            sha256=_get(data, "sha256"),
        )

    @property
    def available(self) -> bool:
        return bool(self.url) and self.size != -1


@dataclass
class DataRelease:
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
    def from_dict(cls, data: dict) -> "DataRelease":
        _object(data)
        files = {key: DataFile.from_dict(key, value) for key, value in (_get(data, "dataFiles") or {}).items() if isinstance(value, dict)}
        return cls(
            id=_get(data, "id"),
            number=_get(data, "number"),
            name=_get(data, "name", ""),
            embargo=int(_get(data, "embargo", 0) or 0),
            number_of_features=int(_get(data, "numberOfFeatures", 0) or 0),
            hash=_get(data, "hash"),
            column_names=ColumnNames.from_dict(_get(data, "columnNames") or {}),
            splits=[Split.from_dict(s) for s in _get(data, "splits") or []],
            data_files=files,
            raw=dict(data),
        )

    @property
    def test_keys(self) -> List[Any]:
        """The keys of the local loop: TEST splits whose ``reduced`` is not null, in order."""
        return [s.key for s in self.splits if s.group == "TEST" and s.reduced is not None]


@dataclass
class Check:
    function: str
    scope: str
    order: int
    parameters: Dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict) -> "Check":
        _object(data)
        return cls(_get(data, "function", ""), _get(data, "scope", "ROOT"), int(_get(data, "order", 0) or 0), dict(_get(data, "parameters") or {}))


@dataclass
class Library:
    name: str
    aliases: List[str]
    standard: bool
    language: str = "PYTHON"

    @classmethod
    def from_dict(cls, data: dict) -> "Library":
        _object(data)
        return cls(_get(data, "name", ""), list(_get(data, "aliases") or []), bool(_get(data, "standard", False)), _get(data, "language", "PYTHON"))


@dataclass
class UploadChunk:
    number: int
    offset: int
    size: int
    last: bool
    completed: bool

    @classmethod
    def from_dict(cls, data: dict) -> "UploadChunk":
        _object(data)
        return cls(int(_get(data, "number", 1)), int(_get(data, "offset", 0)), int(_get(data, "size", 0)), bool(_get(data, "last", False)), bool(_get(data, "completed", False)))


@dataclass
class Upload:
    id: Any
    name: str
    size: int
    chunked: bool
    status: str
    provider: Optional[str]
    chunks: List[UploadChunk]

    @classmethod
    def from_dict(cls, data: dict) -> "Upload":
        _object(data)
        return cls(
            id=_get(data, "id"),
            name=_get(data, "name", ""),
            size=int(_get(data, "size", 0) or 0),
            chunked=bool(_get(data, "chunked", False)),
            status=_get(data, "status", "PENDING"),
            provider=_get(data, "provider"),
            chunks=[UploadChunk.from_dict(c) for c in _get(data, "chunks") or []],
        )


@dataclass
class ChunkRequest:
    method: str
    url: str
    headers: Dict[str, str]

    @classmethod
    def from_dict(cls, data: dict) -> "ChunkRequest":
        _object(data)
        return cls(_get(data, "method", "PUT"), _get(data, "url", ""), dict(_get(data, "headers") or {}))


@dataclass
class Submission:
    id: Any
    number: int
    message: str
    created_at: Optional[str]
    model_directory_path: Optional[str] = None

    @classmethod
    def from_dict(cls, data: dict) -> "Submission":
        _object(data)
        model_directory = _get(data, "modelDirectoryPath")
        return cls(
            _get(data, "id"),
            int(_get(data, "number", 0) or 0),
            _get(data, "message", ""),
            _get(data, "createdAt"),
            model_directory if isinstance(model_directory, str) and model_directory.strip("/") else None,
        )


@dataclass
class QuickstarterFile:
    name: str
    url: str


@dataclass
class Quickstarter:
    name: str
    title: str
    notebook: bool
    files: List[QuickstarterFile]

    @classmethod
    def from_dict(cls, data: dict) -> "Quickstarter":
        _object(data)
        return cls(
            _get(data, "name", ""),
            _get(data, "title", ""),
            bool(_get(data, "notebook", False)),
            [QuickstarterFile(_get(f, "name", ""), _get(f, "url", "")) for f in _get(data, "files") or []],
        )
