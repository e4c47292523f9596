"""Pass the runner's values to a person's function by parameter name, whatever the order.

A parameter with a default keeps its default; a parameter the runner does not know gets
``None`` and one warning (once per function and name for the whole run).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

#: Spellings accepted for the same value.
ALIASES: Dict[str, str] = {
    "x_train": "X_train",
    "Y_train": "y_train",
    "x_test": "X_test",
    "current_moon": "moon",
}


class Binder:
    """Binds values to parameters and remembers which warnings it already gave."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._warned: Set[Tuple[str, str]] = set()
        self._signatures: Dict[int, Optional[inspect.Signature]] = {}

    def _signature(self, function: Callable[..., Any]) -> Optional[inspect.Signature]:
        key = id(function)
        if key not in self._signatures:
            try:
                self._signatures[key] = inspect.signature(function)
            except (TypeError, ValueError):
                self._signatures[key] = None
        return self._signatures[key]

    def bind(self, function: Callable[..., Any], values: Mapping[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
        """The positional and keyword arguments to call ``function`` with."""
        signature = self._signature(function)
        if signature is None:
            return [], {}
        name_of_function = getattr(function, "__name__", "function")
        args: List[Any] = []
        kwargs: Dict[str, Any] = {}
        for name, parameter in signature.parameters.items():
            if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if parameter.default is not inspect.Parameter.empty:
                continue
            key = name if name in values else ALIASES.get(name, name)
            if key in values:
                value = values[key]
            else:
                value = None
                if (name_of_function, name) not in self._warned:
                    self._warned.add((name_of_function, name))
                    self._warn(f"{name_of_function}(): unknown parameter `{name}`, it gets None")
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[name] = value
        return args, kwargs
