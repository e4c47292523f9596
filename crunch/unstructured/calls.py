"""Calling a function of a competition file the way the platform does."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, TypeVar

from ..exceptions import ParticipantVisibleError
from ..utils import LazyValue, smart_call

__all__ = ["call_function"]

T = TypeVar("T")


def call_function(
    function: Callable[..., T],
    values: Optional[Dict[str, Any]] = None,
    *,
    lazy_values: Optional[Dict[str, Callable[[], Any]]] = None,
) -> T:
    """``smart_call(function, values)``, with ``lazy_values`` built only when a parameter asks for them.

    An exception whose class is named ``ParticipantVisibleError`` (each competition file defines
    its own) becomes :class:`crunch.exceptions.ParticipantVisibleError` with the same message,
    chained to the original.
    """

    lazy = {name: LazyValue(factory) for name, factory in (lazy_values or {}).items()}
    try:
        return smart_call(function, values or {}, lazy)
    except ParticipantVisibleError:
        raise
    except Exception as error:
        if type(error).__name__ == "ParticipantVisibleError":
            raise ParticipantVisibleError(str(error)) from error
        raise
