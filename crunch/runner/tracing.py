"""``crunch.runner.tracing``: the spans a competition's runner opens around its steps.

Part of the competition-code API: a runner receives a :class:`RunnerTracer` (``tracer``) and
may open spans with ``with tracer.span("execute", attributes=...):``. Locally nothing is sent
anywhere: a span only records its name, attributes, duration and outcome in ``tracer.spans``
(kept to the last :data:`KEPT_SPANS`), which the summary of ``crunch test`` may show.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional

__all__ = ["RunnerTracer", "Span", "to_execute_span_attributes"]

KEPT_SPANS = 1000


@dataclass
class Span:
    id: int
    parent_id: Optional[int]
    description: str
    attributes: Optional[Dict[str, Any]] = None
    seconds: float = 0.0
    error: Optional[str] = None
    children: int = field(default=0, repr=False)


class RunnerTracer:
    """Nested spans, timed; ``with tracer:`` is accepted (nothing to start or stop locally)."""

    def __init__(self) -> None:
        self.spans: List[Span] = []
        self._next_id = 0
        self._parent: Optional[int] = None

    def __enter__(self) -> "RunnerTracer":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @contextmanager
    def span(self, description: str, attributes: Optional[Mapping[str, Any]] = None, skip: bool = False) -> Iterator[None]:
        """Time the body as a span named ``description``; ``skip=True`` records nothing."""
        if skip:
            yield
            return
        self._next_id += 1
        span = Span(self._next_id, self._parent, description, dict(attributes) if attributes is not None else None)
        previous, self._parent = self._parent, span.id
        started = time.perf_counter()
        try:
            yield
        except BaseException as error:
            span.error = f"{type(error).__name__}({error})"
            raise
        finally:
            span.seconds = time.perf_counter() - started
            self._parent = previous
            self.spans.append(span)
            if len(self.spans) > KEPT_SPANS:
                del self.spans[: len(self.spans) - KEPT_SPANS]


def to_execute_span_attributes(
    command: str,
    parameters: Optional[Mapping[str, Any]],
    span_hidden_parameters: Optional[List[str]] = None,
    span_attributes: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The attributes of an ``execute`` span: the command, its parameters except paths
    (names ending in ``_path``) and hidden ones, then ``span_attributes``."""
    attributes: Dict[str, Any] = {"command": command}
    if parameters is not None:
        hidden = set(span_hidden_parameters or ())
        shown = {key: value for key, value in parameters.items() if not key.endswith("_path") and key not in hidden}
        if shown:
            attributes["parameters"] = shown
    if span_attributes is not None:
        attributes.update(span_attributes)
    return attributes
