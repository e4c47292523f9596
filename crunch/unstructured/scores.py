"""What a competition's ``scoring.score()`` returns: one :class:`ScoredMetric` per metric id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, List, Mapping, Optional, Union

__all__ = ["ScoredMetric", "ScoredMetricDetail"]


@dataclass
class ScoredMetricDetail:
    """One part of a score (e.g. the score of one region); ``reduced`` marks a summary value."""

    key: Union[str, int]
    value: float
    reduced: bool


@dataclass
class ScoredMetric:
    """The value of one metric (``None`` when it cannot be computed) and its optional details."""

    value: Optional[float]
    details: List[ScoredMetricDetail] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ScoredMetric":
        details = [ScoredMetricDetail(d["key"], d["value"], bool(d.get("reduced", False))) for d in data.get("details") or []]
        return cls(data.get("value"), details)
