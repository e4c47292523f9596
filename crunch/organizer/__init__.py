"""The organizer's tools: a competition's own ``scoring.py``, ``submission.py``, ``leaderboard.py``
and ``reward.py`` run on local files, as the platform runs them (``crunch organizer``).

- :mod:`.code`: the file read from the competitions source (a folder, the hub, crunchdao/competitions)
  and loaded;
- :mod:`.calls`: each function called with what the platform gives it, and its answer checked
  (a rejection for the participant is a :class:`crunch.exceptions.ParticipantVisibleError`, an
  answer of the wrong shape an :class:`OrganizerError`);
- :mod:`.projects`: the projects to rank or reward, from a scores file or the hub's leaderboard.
"""

from ..exceptions import CrunchError


class OrganizerError(CrunchError):
    """A competition file, or an input given to it, that is not what the platform expects."""


__all__ = ["OrganizerError"]
