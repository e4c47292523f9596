"""Helpers that competition code imports from ``crunch.utils`` (part of the competition-code API).

- :func:`smart_call` calls a function with only the keyword values its signature asks for: the
  runners of the competitions use it to call a participant's ``train``/``infer`` and the platform
  uses it to call ``runner.run``, ``scoring.score``... Each module declares only the names it wants.
- :class:`Tracer` prints nested, timed steps (``with tracer.log("load"): ...``).
- :class:`LazyValue` is a value computed on first use (a value offered to :func:`smart_call` that
  costs something to build is only built when a parameter asks for it).
"""

from __future__ import annotations

import datetime
import inspect
import logging
from contextlib import contextmanager
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, Optional, Set, TypeVar, Union

__all__ = ["LazyValue", "Tracer", "smart_call"]

T = TypeVar("T")

_NOT_SET = object()

#: Messages :func:`smart_call` has already logged (each is logged once per process).
_logged_messages: Set[str] = set()


class LazyValue(Generic[T]):
    """A value built by ``factory()`` the first time :attr:`value` is read, then kept."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: Any = _NOT_SET

    @property
    def value(self) -> T:
        if self._value is _NOT_SET:
            self._value = self._factory()
        return self._value


def smart_call(
    function: Callable[..., T],
    default_values: Dict[str, Any],
    specific_values: Optional[Dict[str, Any]] = None,
    log: bool = True,
    logger: Optional[logging.Logger] = None,
) -> T:
    """Call ``function`` with, for each parameter of its signature, the value of the same name.

    The values are ``default_values`` overridden by ``specific_values``. For each parameter:

    - ``*args`` and ``**kwargs`` receive nothing (warning ``unsupported parameter: *args``);
    - a parameter with a default value keeps its default (warning
      ``skip param with default value: name=default``);
    - a name that no value has receives ``None`` (warning ``unknown parameter: name``);
    - a :class:`LazyValue` is resolved before the call.

    Each warning is logged once per process, prefixed by the function's name, on ``logger``
    (the root logger by default); ``log=False`` logs nothing.
    """

    if logger is None:
        logger = logging.getLogger()
    values = dict(default_values)
    if specific_values:
        values.update(specific_values)
    name_of_function = getattr(function, "__name__", type(function).__name__)

    def note(level: int, message: str) -> None:
        if not log or message in _logged_messages:
            return
        _logged_messages.add(message)
        logger.log(level, "%s: %s", name_of_function, message)

    arguments: Dict[str, Any] = {}
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            note(logging.WARNING, f"unsupported parameter: {parameter}")
            continue
        if parameter.default is not inspect.Parameter.empty:
            note(logging.WARNING, f"skip param with default value: {name}={parameter.default}")
            continue
        value = values.get(name, _NOT_SET)
        if value is _NOT_SET:
            note(logging.WARNING, f"unknown parameter: {name}")
            value = None
        if isinstance(value, LazyValue):
            value = value.value
        note(logging.DEBUG, f"set {name}={type(value).__name__}")
        arguments[name] = value
    return function(**arguments)


class Tracer:
    """Print the steps of a long computation, nested and timed.

    ``with tracer.log("load data"):`` prints ``"<start> <indent> load data"`` when the step
    begins and ``"<start> <indent> load data took <duration>"`` when it ends (then collects
    garbage, as steps often drop large frames); steps opened inside it are indented by two more
    spaces. ``tracer.loop(items, "score {value}")`` wraps each item of a loop in such a step.
    """

    def __init__(self, printer: Callable[[str], Any] = print) -> None:
        self._printer = printer
        self._depth = 0

    @property
    def padding(self) -> str:
        return "  " * self._depth

    @contextmanager
    def log(self, action: str) -> Iterator[bool]:
        start = datetime.datetime.now()
        self._printer(f"{start} {self.padding} {action}")
        self._depth += 1
        try:
            yield True
        finally:
            self._depth -= 1
            import gc

            gc.collect()
            took = datetime.datetime.now() - start
            self._printer(f"{start} {self.padding} {action} took {took}")

    def loop(
        self,
        iterable: Iterable[T],
        action: Union[str, Callable[[T], Any]],
        value_placeholder: str = "{value}",
    ) -> Iterator[T]:
        """Yield each value of ``iterable`` inside ``log(action)``.

        ``action`` is a text where ``value_placeholder`` is replaced by ``str(value)``, or a
        function of the value that returns the text.
        """

        for value in iterable:
            if callable(action):
                message = str(action(value))
            else:
                message = str(action).replace(value_placeholder, str(value))
            with self.log(message):
                yield value
