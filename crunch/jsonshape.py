"""Reading JSON documents (hub answers, files of ``.crunchdao/``) into typed values.

A :class:`Node` is one value of a document and its path in it (``dataFiles.X_train.size``).
Its readers return the value as the type asked for, or raise :class:`DocumentError` naming
the path, what was expected and what was found::

    node = Node(json.loads(text))
    size = node["dataFiles"]["X_train"]["size"].integer(default=-1)
    # DocumentError: dataFiles.X_train.size: expected an integer, got "12kb"

A field that is absent, or ``null``, takes the reader's ``default`` when one is given, and is
an error when none is. :func:`parse` runs a reader over a whole document and names its source
(the hub call, or the file) in the error.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from .exceptions import CrunchError, DocumentError

T = TypeVar("T")

#: No default: an absent or null field is an error.
REQUIRED: Any = object()
#: The value of an absent field.
ABSENT: Any = object()


def describe(value: Any) -> str:
    """A short, readable picture of a JSON value for an error message."""
    if value is ABSENT:
        return "nothing (the field is missing)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, (int, float, str)):
        try:
            text = json.dumps(value, ensure_ascii=False)
        except ValueError:  # nan, inf
            text = str(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return type(value).__name__


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-@/ ]{1,60}")


def child_path(path: str, key: str) -> str:
    """``path.key``, or ``path["key"]`` (escaped, shortened) for a key that is not plain text:
    a key from outside never puts a line break or a control character in a message."""
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    shown = json.dumps(key if len(key) <= 60 else key[:57] + "...")
    return f"{path}[{shown}]"


class Node:
    """One value of a JSON document and the path that leads to it."""

    __slots__ = ("value", "path")

    def __init__(self, value: Any, path: str = "") -> None:
        self.value = value
        self.path = path

    # -- navigation -------------------------------------------------------------------------

    def __getitem__(self, key: str) -> "Node":
        """The field ``key`` of this object (:data:`ABSENT` when it has none)."""
        data = self.mapping()
        return Node(data.get(key, ABSENT), child_path(self.path, key))

    @property
    def missing(self) -> bool:
        """Absent or null."""
        return self.value is ABSENT or self.value is None

    def fail(self, problem: str) -> DocumentError:
        return DocumentError(f"{self.path}: {problem}" if self.path else problem, field=self.path, problem=problem)

    def _expected(self, what: str) -> DocumentError:
        return self.fail(f"expected {what}, got {describe(self.value)}")

    def _default(self, default: Any, what: str) -> Any:
        if default is REQUIRED:
            raise self._expected(what)
        return default

    # -- containers -------------------------------------------------------------------------

    def mapping(self) -> Dict[str, Any]:
        """This value as an object (a dict with string keys)."""
        if not isinstance(self.value, dict):
            raise self._expected("an object")
        return self.value

    def entries(self, default: Any = REQUIRED) -> List[Tuple[str, "Node"]]:
        """The (key, value) pairs of an object field, in order."""
        if self.missing:
            return [(k, Node(v, child_path(self.path, k))) for k, v in self._default(default, "an object").items()]
        return [(key, Node(value, child_path(self.path, key))) for key, value in self.mapping().items()]

    def items(self, default: Any = REQUIRED) -> List["Node"]:
        """The elements of a list field."""
        if self.missing:
            return [Node(v, f"{self.path}[{i}]") for i, v in enumerate(self._default(default, "a list"))]
        if not isinstance(self.value, list):
            raise self._expected("a list")
        return [Node(value, f"{self.path}[{index}]") for index, value in enumerate(self.value)]

    def json_object(self, default: Any = REQUIRED) -> Dict[str, Any]:
        """An object field whose content is free (parameters, extra fields), copied."""
        if self.missing:
            return dict(self._default(default, "an object"))
        return dict(self.mapping())

    # -- scalars ----------------------------------------------------------------------------

    def string(self, default: Any = REQUIRED, *, nonempty: bool = False, choices: Optional[Sequence[str]] = None) -> Any:
        """A string field; with ``nonempty`` a blank one is refused, with ``choices`` only those."""
        if self.missing:
            return self._default(default, "a non-empty string" if nonempty else "a string")
        if not isinstance(self.value, str):
            raise self._expected("a non-empty string" if nonempty else "a string")
        if nonempty and not self.value.strip():
            raise self._expected("a non-empty string")
        if choices is not None and self.value not in choices:
            raise self._expected("one of " + ", ".join(json.dumps(c) for c in choices))
        return self.value

    def integer(self, default: Any = REQUIRED, *, minimum: Optional[int] = None) -> Any:
        """An integer field (``4.0`` is 4; ``true``, ``4.5`` and ``"4"`` are refused)."""
        if self.missing:
            return self._default(default, "an integer")
        value = self.value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._expected("an integer")
        if minimum is not None and value < minimum:
            raise self._expected(f"an integer >= {minimum}")
        return value

    def number(self, default: Any = REQUIRED) -> Any:
        """A finite number field (integer or decimal)."""
        if self.missing:
            return self._default(default, "a number")
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._expected("a number")
        return value

    def boolean(self, default: Any = REQUIRED) -> Any:
        """A ``true``/``false`` field."""
        if self.missing:
            return self._default(default, "true or false")
        if not isinstance(self.value, bool):
            raise self._expected("true or false")
        return self.value

    def identifier(self, default: Any = REQUIRED) -> Any:
        """An id: an integer or a non-empty string."""
        if self.missing:
            return self._default(default, "an integer or a non-empty string")
        value = self.value
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self._expected("an integer or a non-empty string")

    def strings(self, default: Any = REQUIRED) -> List[str]:
        """A list of strings."""
        return [item.string() for item in self.items(default)]

    def string_map(self, default: Any = REQUIRED) -> Dict[str, str]:
        """An object whose values are strings."""
        return {key: node.string() for key, node in self.entries(default)}


ErrorFactory = Callable[[str, DocumentError], CrunchError]


def parse(reader: Callable[[Node], T], value: Any, source: str, hint: str = "", error: Union[Type[CrunchError], ErrorFactory, None] = None) -> T:
    """``reader(Node(value))``, its :class:`DocumentError` re-raised naming ``source``.

    ``error`` builds the raised exception (default: a :class:`DocumentError`) from the message
    ``"<source> is malformed: <path>: <problem><hint>"`` and the original error.
    """
    try:
        return reader(Node(value))
    except DocumentError as failure:
        message = f"{source} is malformed: {failure.message}{hint}"
        if error is None:
            raise DocumentError(message, field=failure.field, problem=failure.problem) from None
        if isinstance(error, type):
            raised = error(message)
        else:
            raised = error(message, failure)
        raised.field = failure.field  # type: ignore[attr-defined]
        raise raised from None
