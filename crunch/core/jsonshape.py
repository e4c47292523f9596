"""Reading JSON documents (hub answers, files of ``.crunchdao/``) into typed values.

A :class:`Node` is one value of a document and its path in it (``dataFiles.X_train.size``).
Its readers return the value as the type asked for, converting what a liberal reader would
(``"12"`` for 12, ``1`` for true, a page object for a list), or raise :class:`DocumentError`
naming the path, what was expected and what was found when the value cannot mean what is asked::

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
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from ..exceptions import CrunchError, DocumentError

if TYPE_CHECKING:
    import datetime

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

    __slots__ = ("value", "path", "strict")

    def __init__(self, value: Any, path: str = "", strict: bool = False) -> None:
        self.value = value
        self.path = path
        #: our own files (project.json...) are read strictly: no value is converted
        self.strict = strict

    # -- navigation -------------------------------------------------------------------------

    def __getitem__(self, key: str) -> "Node":
        """The field ``key`` of this object (:data:`ABSENT` when it has none)."""
        data = self.mapping()
        return Node(data.get(key, ABSENT), child_path(self.path, key), self.strict)

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
            return [(k, Node(v, child_path(self.path, k), self.strict)) for k, v in self._default(default, "an object").items()]
        return [(key, Node(value, child_path(self.path, key), self.strict)) for key, value in self.mapping().items()]

    def items(self, default: Any = REQUIRED) -> List["Node"]:
        """The elements of a list field."""
        if self.missing:
            return [Node(v, f"{self.path}[{i}]", self.strict) for i, v in enumerate(self._default(default, "a list"))]
        if not isinstance(self.value, list):
            raise self._expected("a list")
        return [Node(value, f"{self.path}[{index}]", self.strict) for index, value in enumerate(self.value)]

    def json_object(self, default: Any = REQUIRED) -> Dict[str, Any]:
        """An object field whose content is free (parameters, extra fields), copied."""
        if self.missing:
            return dict(self._default(default, "an object"))
        return dict(self.mapping())

    # -- scalars ----------------------------------------------------------------------------
    #
    # The readers convert as a liberal reader should: a number sent as text ("12"), a flag sent
    # as 0/1 or "true", a name sent as a number are taken for what they say. Only a value that
    # cannot mean what is asked for ("12kb" for a size, an object for a name) is an error.

    def string(self, default: Any = REQUIRED, *, nonempty: bool = False, choices: Optional[Sequence[str]] = None) -> Any:
        """A string field (a number or a flag is taken as its text); with ``nonempty`` a blank one
        is refused, with ``choices`` only those."""
        if self.missing:
            return self._default(default, "a non-empty string" if nonempty else "a string")
        value = self.value
        if self.strict:
            pass
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
            value = str(value)
        if not isinstance(value, str):
            raise self._expected("a non-empty string" if nonempty else "a string")
        if nonempty and not value.strip():
            raise self._expected("a non-empty string")
        if choices is not None and value not in choices:
            raise self._expected("one of " + ", ".join(json.dumps(c) for c in choices))
        return value

    def integer(self, default: Any = REQUIRED, *, minimum: Optional[int] = None) -> Any:
        """An integer field: ``4``, ``4.0``, ``"4"`` and ``" 4 "`` are 4 (a decimal is cut, as
        ``int()`` cuts it); ``"4kb"``, an object or a list are refused."""
        if self.missing:
            return self._default(default, "an integer")
        value = _as_number(self.value, self.strict)
        if value is None or (self.strict and isinstance(value, float) and not value.is_integer()):
            raise self._expected("an integer")
        value = int(value)
        if minimum is not None and value < minimum:
            raise self._expected(f"an integer >= {minimum}")
        return value

    def number(self, default: Any = REQUIRED) -> Any:
        """A finite number field (integer or decimal, or its text)."""
        if self.missing:
            return self._default(default, "a number")
        value = _as_number(self.value, self.strict)
        if value is None:
            raise self._expected("a number")
        return value

    def boolean(self, default: Any = REQUIRED) -> Any:
        """A flag: ``true``/``false``, a number (0 is false), or text (``"true"``, ``"false"``,
        ``"1"``, ``"0"``, ``"yes"``, ``"no"``, ``""``...); other text counts as true, as any
        non-empty value does for the platform's own client."""
        if self.missing:
            return self._default(default, "true or false")
        value = self.value
        if isinstance(value, bool):
            return value
        if self.strict:
            raise self._expected("true or false")
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _FALSE_TEXT:
                return False
            return True
        if isinstance(value, (int, float)):
            return bool(value)
        if isinstance(value, (dict, list)):
            return bool(value)
        raise self._expected("true or false")

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

    def listing(self, default: Any = REQUIRED) -> List["Node"]:
        """The elements of a listing: a bare list, or a page object (``{"content": [...],
        "pageSize", ...}``) whose ``content`` is the list."""
        if isinstance(self.value, dict) and "content" in self.value:
            return self["content"].items([])
        return self.items(default)

    def strings(self, default: Any = REQUIRED) -> List[str]:
        """A list of strings."""
        return [item.string() for item in self.items(default)]

    def string_map(self, default: Any = REQUIRED) -> Dict[str, str]:
        """An object whose values are strings."""
        return {key: node.string() for key, node in self.entries(default)}


_FALSE_TEXT = frozenset({"", "false", "0", "no", "n", "off", "null", "none"})

_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def _as_number(value: Any, strict: bool = False) -> Union[int, float, None]:
    """``value`` as a finite number (text holding one included unless ``strict``), or None."""
    if isinstance(value, bool):
        return None if strict else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and not strict:
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def parse_time(value: Any) -> Optional["datetime.datetime"]:
    """An ISO 8601 time (zone optional: none means UTC; any number of fraction digits) or
    seconds since 1970, as an aware UTC ``datetime``; None when ``value`` is neither."""
    import datetime

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    match = _ISO_TIME.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro)
    except ValueError:
        return None
    try:  # an offset past a day, or a moment that leaves the years a datetime holds: no time
        offset = datetime.timezone.utc
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            offset = datetime.timezone(delta if zone[0] == "+" else -delta)
        return moment.replace(tzinfo=offset).astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError):
        return None


ErrorFactory = Callable[[str, DocumentError], CrunchError]


def parse(
    reader: Callable[[Node], T],
    value: Any,
    source: str,
    hint: str = "",
    error: Union[Type[CrunchError], ErrorFactory, None] = None,
    *,
    strict: bool = False,
) -> T:
    """``reader(Node(value))``, its :class:`DocumentError` re-raised naming ``source``;
    ``strict`` for a file of our own, whose values are never converted.

    ``error`` builds the raised exception (default: a :class:`DocumentError`) from the message
    ``"<source> is malformed: <path>: <problem><hint>"`` and the original error.
    """
    try:
        return reader(Node(value, strict=strict))
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


#: The deepest nesting of a JSON document crunch reads (hub answers, files of ``.crunchdao/``):
#: real ones nest a few levels; deeper is damage or malice (Python's own parser would end in
#: a RecursionError near 1000)
MAX_DEPTH = 200


class TooDeep(ValueError):
    """A JSON document nested deeper than :data:`MAX_DEPTH`: a ``ValueError``, so that code
    treating text that is not JSON treats it alike."""


def load_json(data: Union[str, bytes, bytearray], max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(data)``, or :class:`TooDeep` (a ``ValueError``) when it nests deeper than
    ``max_depth`` levels; never a RecursionError."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"nested deeper than {max_depth} levels") from None
    stack: List[Tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            raise TooDeep(f"nested deeper than {max_depth} levels")
        for item in container.values() if isinstance(container, dict) else container:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
    return value
