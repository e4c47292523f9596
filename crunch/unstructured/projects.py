"""What ``leaderboard.py`` and ``reward.py`` receive and return: projects, ranks, similarities, rewards."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any, List, Mapping, Optional, Union

__all__ = [
    "ComparedSimilarity",
    "RankPass",
    "RankableProject",
    "RankableProjectMetric",
    "RankedProject",
    "RewardableProject",
    "RewardableProjectMetric",
    "RewardedProject",
]


@dataclass
class RankableProjectMetric:
    """The score of one metric of a project."""

    id: int
    score: float


#: The same shape for the projects of ``reward.py``.
RewardableProjectMetric = RankableProjectMetric


@dataclass
class RankableProject:
    """A project to rank: its ``group`` (projects of one participant share it), and its metric scores."""

    id: Optional[int]
    group: str
    rewardable: bool
    metrics: List[RankableProjectMetric] = field(default_factory=list)

    def get_metric(self, id: int) -> Optional[RankableProjectMetric]:
        """The score of the metric ``id``, or None when the project has none."""

        return next((metric for metric in self.metrics if metric.id == id), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RankableProject":
        """From the JSON of a scores file or the platform: ``{"id", "group", "rewardable", "metrics": [{"id", "score"}]}``."""

        metrics = [RankableProjectMetric(m["id"], m["score"]) for m in data.get("metrics") or []]
        return cls(data.get("id"), data.get("group", ""), bool(data.get("rewardable", False)), metrics)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RewardableProject(RankableProject):
    """A project that may receive a part of a bounty."""


class RankPass(enum.Enum):
    """The leaderboard is ranked twice: before duplicates are removed, then for the final ranks."""

    PRE_DUPLICATE = "PRE_DUPLICATE"
    FINAL = "FINAL"


@dataclass
class RankedProject:
    """A project's place: ``rank`` among all, ``reward_rank`` among the rewarded (None if not)."""

    id: int
    rank: int
    reward_rank: Union[float, int, None]


@dataclass
class ComparedSimilarity:
    """How alike the predictions of two projects are, for one target."""

    left_id: int
    right_id: int
    target_id: int
    value: float


@dataclass
class RewardedProject:
    """The amount of a bounty given to a project."""

    id: int
    amount: Union[float, int, None]
