"""crunch: take part in CrunchDAO competitions from a terminal or a notebook.

Importing this package is cheap: heavy libraries load only in the functions that use them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .__version__ import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .notebook import NotebookTools

__all__ = ["__version__", "is_inside_runner", "load_notebook", "submit"]

#: Submodules that ``crunch.<name>`` reaches after a bare ``import crunch`` (competition code
#: writes ``crunch.api.Target`` in annotations); each is imported on first use.
_LAZY_SUBMODULES = frozenset(
    {"api", "container", "custom", "external", "monkey_patches", "runner", "unstructured", "utils"}
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: True when the code runs inside the platform's runner, False locally (a notebook, a plain
#: script, or ``crunch test``, which calls your code as the platform does).
is_inside_runner: bool = os.environ.get("CRUNCH_INSIDE_RUNNER", "").lower() in ("1", "true", "yes")


def load_notebook(*args: Any, **kwargs: Any) -> NotebookTools:
    """Return the notebook tools (``load_data()``, ``test()``, ``submit()``) for the current
    workspace; ``crunch.load_notebook(__name__)`` as crunch-cli takes it works too."""
    from .notebook import load_notebook as _load

    return _load(*args, **kwargs)


def submit(message: Any = None, **kwargs: Any) -> Any:
    """Submit the notebook this is called from (see ``NotebookTools.submit``)."""
    from .notebook import load_notebook as _load

    return _load().submit(message, **kwargs)
