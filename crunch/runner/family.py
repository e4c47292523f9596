"""Which runner family runs a competition: the one place that reads the format for it.

- ``classic``: TIMESERIES and REGULAR (and DAG) competitions, the loop of :mod:`.loop` calling
  ``train()``/``infer()`` (:mod:`.local`);
- ``competition-code``: UNSTRUCTURED competitions, the competition's own ``runner.py``
  (:mod:`.competition`, :mod:`.competition_test`).

Both load the participant's module, bind parameters by name, give a model directory, write
the prediction under ``prediction/`` and report time and memory.
"""

from __future__ import annotations

from typing import Optional

from ..api.models import CompetitionFormat

CLASSIC = "classic"
COMPETITION_CODE = "competition-code"


def family_of(fmt: Optional[CompetitionFormat]) -> str:
    return COMPETITION_CODE if fmt is CompetitionFormat.UNSTRUCTURED else CLASSIC


def family_of_workspace(workspace: object) -> str:
    """The family of the workspace's competition, from the format its last download cached."""
    from .local import cached_format

    return family_of(cached_format(workspace))  # type: ignore[arg-type]
