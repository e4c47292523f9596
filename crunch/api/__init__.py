"""The hub protocol (a thin HTTP client, typed answers, error mapping) and the platform's domain names.

``Metric``, ``Target``, ``PhaseType``, ``SubmissionType`` and ``Unit`` are part of the
competition-code API (competition files use them in annotations and comparisons); importing them
is cheap. The HTTP client (``Client``, ``Backoff``...) loads ``requests`` only when first used.
"""

from __future__ import annotations

from typing import Any

from .domain import Metric, PhaseType, SubmissionType, Target, Unit

__all__ = [
    "Backoff",
    "Client",
    "KNOWN_CODES",
    "Metric",
    "PhaseType",
    "SubmissionType",
    "Target",
    "Unit",
    "error_from_response",
]

_LAZY = {"Backoff": "client", "Client": "client", "KNOWN_CODES": "errors", "error_from_response": "errors"}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value
