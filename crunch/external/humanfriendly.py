"""``crunch.external.humanfriendly``: the `humanfriendly <https://pypi.org/project/humanfriendly/>`_ library.

Competition files (``submission.py``) write ``from crunch.external import humanfriendly`` and call
``humanfriendly.format_size(4 * 1024 * 1024)`` ("4.19 MB", decimal units). This module is the
library itself, re-exported, so every function of it is available under this name.
"""

from humanfriendly import *  # noqa: F401,F403
from humanfriendly import (  # noqa: F401
    coerce_boolean,
    coerce_seconds,
    format_number,
    format_size,
    format_timespan,
    parse_size,
    parse_timespan,
    round_number,
)
from humanfriendly.text import concatenate, pluralize  # noqa: F401
