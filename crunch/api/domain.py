"""The platform's domain names that competition code uses: ``Target``, ``Metric``, ``PhaseType``...

Competition files (``scoring.py``, ``leaderboard.py``, ``reward.py``, ``submission.py``) receive
these objects and read their fields (``metric.id``, ``metric.name``, ``metric.target.id``,
``target.name``, ``phase_type.first_chain_height()``...). They are plain dataclasses and enums,
with ``from_dict`` for the JSON the hub sends (camelCase keys). This module imports nothing heavy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from ..core.jsonshape import Node

__all__ = ["Metric", "PhaseType", "SubmissionType", "Target", "Unit"]


class _OpenEnum(enum.Enum):
    """An enum that accepts values this version does not know (the platform may add some)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        member = object.__new__(cls)
        member._name_ = str(value)
        member._value_ = value
        cls._value2member_map_[value] = member
        return member

    def __repr__(self) -> str:
        return self.name


class PhaseType(_OpenEnum):
    """The phase a prediction is scored in: during the round (SUBMISSION) or after it."""

    SUBMISSION = "SUBMISSION"
    OUT_OF_SAMPLE = "OUT_OF_SAMPLE"

    def first_chain_height(self) -> int:
        """The chain height of the first scoring of this phase (1, or 2 out of sample)."""

        return 2 if self is PhaseType.OUT_OF_SAMPLE else 1

    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    def pretty(self) -> str:
        if self is PhaseType.OUT_OF_SAMPLE:
            return "Out-of-Sample"
        return self.name.replace("_", " ").title()


class SubmissionType(_OpenEnum):
    """How a submission was made: code files, a notebook, or prediction files."""

    CODE = "CODE"
    NOTEBOOK = "NOTEBOOK"
    PREDICTION = "PREDICTION"


@dataclass(frozen=True)
class Unit:
    """How a metric's value is shown: ``prefix`` + value rounded to ``scale`` digits + ``suffix``."""

    prefix: Optional[str] = None
    scale: int = 0
    suffix: Optional[str] = None

    def format_value(self, value: float) -> str:
        rounded = round(value, self.scale) if self.scale else int(value)
        return f"{self.prefix or ''}{rounded}{self.suffix or ''}"

    @classmethod
    def read(cls, node: Node) -> "Unit":
        """The hub's JSON (read strictly, see :mod:`crunch.core.jsonshape`); null is the default unit."""
        if node.missing:
            return cls()
        node.mapping()
        return cls(node["prefix"].string(None), node["scale"].integer(0, minimum=0), node["suffix"].string(None))

    @classmethod
    def from_dict(cls, data: Optional[Mapping[str, Any]]) -> "Unit":
        return cls.read(Node(data))

    def to_dict(self) -> dict:
        return {"prefix": self.prefix, "scale": self.scale, "suffix": self.suffix}


@dataclass
class Target:
    """What a competition predicts; each target has its metrics (``metrics``)."""

    id: int
    name: str
    display_name: str = ""
    virtual: bool = False
    primary: bool = False
    metrics: List["Metric"] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def read(cls, node: Node) -> "Target":
        name = node["name"].string("")
        return cls(
            id=node["id"].identifier(None),
            name=name,
            display_name=node["displayName"].string(None) or name,
            virtual=node["virtual"].boolean(False),
            primary=node["primary"].boolean(False),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Target":
        return cls.read(Node(data))

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "virtual": self.virtual,
            "primary": self.primary,
        }


@dataclass
class Metric:
    """How a target is scored (``name`` is the scorer's name, e.g. ``roc-auc``); ``target`` is its parent."""

    id: int
    name: str
    display_name: str = ""
    unit: Unit = field(default_factory=Unit)
    weight: int = 0
    score: bool = True
    multiplier: float = 1.0
    target: Optional[Target] = field(default=None, repr=False, compare=False)

    @classmethod
    def read(cls, node: Node, target: Optional[Target] = None) -> "Metric":
        """The hub's JSON (read strictly, see :mod:`crunch.core.jsonshape`); its ``target`` object
        is read too unless ``target`` is given."""
        owner = node["target"]
        if target is None and not owner.missing:
            target = Target.read(owner)
        name = node["name"].string("")
        metric = cls(
            id=node["id"].identifier(None),
            name=name,
            display_name=node["displayName"].string(None) or name,
            unit=Unit.read(node["unit"]),
            weight=node["weight"].integer(0),
            score=node["score"].boolean(True),
            multiplier=float(node["multiplier"].number(1.0)),
            target=target,
        )
        if target is not None and all(known.id != metric.id for known in target.metrics):
            target.metrics.append(metric)
        return metric

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], target: Optional[Target] = None) -> "Metric":
        return cls.read(Node(data), target)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "displayName": self.display_name,
            "unit": self.unit.to_dict(),
            "weight": self.weight,
            "score": self.score,
            "multiplier": self.multiplier,
        }


def group_metrics_by_target(metrics: Sequence["Metric"]) -> List[Tuple["Target", List["Metric"]]]:
    """``[(target, [its metrics]), ...]``, the targets ordered by id (each metric's ``.target``)."""
    from itertools import groupby

    ordered = sorted(metrics, key=lambda metric: metric.target.id)
    return [(target, list(group)) for target, group in groupby(ordered, key=lambda metric: metric.target)]
