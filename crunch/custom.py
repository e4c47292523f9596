"""``crunch.custom``: the older names of the competition-code API, kept for older competition files.

Some files of past competitions (broad-1, broad-2, broad-3) use ``crunch.custom.File``,
``crunch.custom.RankableProject``...; they are the same objects as in :mod:`crunch.unstructured`.
"""

from .unstructured import (  # noqa: F401
    ComparedSimilarity,
    File,
    ParticipantVisibleError,
    RankableProject,
    RankableProjectMetric,
    RankedProject,
    RankPass,
    RewardableProject,
    RewardedProject,
    ScoredMetric,
    ScoredMetricDetail,
)

__all__ = [
    "ComparedSimilarity",
    "File",
    "ParticipantVisibleError",
    "RankPass",
    "RankableProject",
    "RankableProjectMetric",
    "RankedProject",
    "RewardableProject",
    "RewardedProject",
    "ScoredMetric",
    "ScoredMetricDetail",
]
