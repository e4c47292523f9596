"""Competition-code API: the objects a competition's ``scoring.py``, ``submission.py``,
``leaderboard.py`` and ``reward.py`` receive and return.

- ``ScoredMetric(value, details=[])`` / ``ScoredMetricDetail(key, value, reduced)``: a score;
- ``File(path, uri, size)`` with ``.name``, ``.directory``, ``.text``: a submitted file;
- ``RankableProject`` / ``RewardableProject`` (``.get_metric(id)``), ``RankPass``, ``RankedProject``,
  ``ComparedSimilarity``, ``RewardedProject``: leaderboard and reward inputs and outputs;
- ``ParticipantVisibleError``: a rejection whose message is for the participant;
- :mod:`crunch.unstructured.utils`: ``delta_message``, ``truncate``, ``find_file_by_path``...
"""

from ..exceptions import ParticipantVisibleError
from . import utils
from .calls import call_function
from .files import File
from .projects import (
    ComparedSimilarity,
    RankableProject,
    RankableProjectMetric,
    RankedProject,
    RankPass,
    RewardableProject,
    RewardableProjectMetric,
    RewardedProject,
)
from .scores import ScoredMetric, ScoredMetricDetail

__all__ = [
    "ComparedSimilarity",
    "File",
    "ParticipantVisibleError",
    "RankPass",
    "RankableProject",
    "RankableProjectMetric",
    "RankedProject",
    "RewardableProject",
    "RewardableProjectMetric",
    "RewardedProject",
    "ScoredMetric",
    "ScoredMetricDetail",
    "call_function",
    "utils",
]
