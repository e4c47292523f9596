"""Small helpers that competition files import from ``crunch.unstructured.utils``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional

from ..api.domain import group_metrics_by_target

if TYPE_CHECKING:  # pragma: no cover
    from .files import File

__all__ = ["delta_message", "find_file_by_path", "find_requirement_by_name", "group_metrics_by_target", "truncate"]


def truncate(values: Iterable[Any], max_size: int = 10) -> str:
    """The first ``max_size`` values joined by ``", "``, then ``", (...N)"`` for the N left out."""

    values = list(values)
    text = ", ".join(str(value) for value in values[:max_size])
    if len(values) > max_size:
        text += f", (...{len(values) - max_size})"
    return text


def delta_message(expected: Iterable[Any], predicted: Iterable[Any]) -> str:
    """``""`` when both hold the same values, else ``"missing [...] extras [...]"`` (each part only when not empty)."""

    expected, predicted = set(expected), set(predicted)
    parts = []
    missing = expected - predicted
    if missing:
        parts.append(f"missing [{truncate(missing)}]")
    extras = predicted - expected
    if extras:
        parts.append(f"extras [{truncate(extras)}]")
    return " ".join(parts)


def find_file_by_path(files: Iterable["File"], path: str) -> Optional["File"]:
    """The first file whose path is ``path``, ignoring case, or None."""

    wanted = path.casefold()
    return next((file for file in files if file.path.casefold() == wanted), None)


def find_requirement_by_name(requirements: Iterable[Any], name: str) -> Optional[Any]:
    """The first requirement (anything with a ``.name``) named ``name``, ignoring case, or None."""

    wanted = name.casefold()
    return next((requirement for requirement in requirements if requirement.name.casefold() == wanted), None)


