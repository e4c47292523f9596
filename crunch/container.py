"""``GeneratorWrapper``: drive a participant's generator-style ``infer`` (part of the competition-code API).

Some competitions (structural-break) call ``infer(X_test)`` where ``X_test`` is a stream of datasets
and ``infer`` is a generator: it does its setup, yields ``None`` once to say it is ready, then takes
one dataset from the stream and yields one prediction, again and again. The wrapper enforces that
rhythm and names each way a participant can break it:

- ``infer`` is not a generator: ``RuntimeError("yield not called")``;
- its first ``yield`` gives a value: ``ValueError("first yield must return None")``;
- it takes a dataset before its first ``yield``: ``RuntimeError("yield must be called once before the loop")``;
- it takes a second dataset before yielding the prediction of the first:
  ``RuntimeError("previous value not yield-ed")``;
- it yields twice for one dataset: ``RuntimeError("multiple yield detected")``;
- it stops early: ``ValueError("yield not called enough time (got / expected)")``.
"""

from __future__ import annotations

import datetime
import types
from typing import Any, Callable, Iterator, List, Optional, Tuple

__all__ = ["GeneratorWrapper"]


def _same(value: Any) -> Any:
    return value


class GeneratorWrapper:
    """Feed ``iterator`` to the generator that ``consumer_factory(stream)`` returns, one element per yield.

    ``element_wrapper_factory(element)`` is what the consumer receives for each element;
    ``post_processor(value)`` is applied to each value it yields. The constructor runs the
    consumer up to its first ``yield``; :meth:`collect` runs it to the end.
    """

    ERROR_YIELD_MUST_BE_CALLED_BEFORE = "yield must be called once before the loop"
    ERROR_PREVIOUS_VALUE_NOT_YIELD = "previous value not yield-ed"
    ERROR_YIELD_NOT_CALLED = "yield not called"
    ERROR_FIRST_YIELD_MUST_BE_NONE = "first yield must return None"
    ERROR_MULTIPLE_YIELD = "multiple yield detected"
    ERROR_WRONG_YIELD_CALL_COUNT_PREFIX = "yield not called enough time"

    def __init__(
        self,
        iterator: Iterator[Any],
        consumer_factory: Callable[[Iterator[Any]], Any],
        *,
        element_wrapper_factory: Optional[Callable[[Any], Any]] = None,
        post_processor: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        self.element_wrapper_factory = element_wrapper_factory or _same
        self.post_processor = post_processor or _same
        # None until the consumer's first yield; then True when it may take the next element.
        self.ready: Optional[bool] = None
        # True when the last element taken has had its value yielded.
        self.consumed = True

        self.consumer = consumer_factory(self._stream(iterator))
        if not isinstance(self.consumer, types.GeneratorType):
            raise RuntimeError(self.ERROR_YIELD_NOT_CALLED)
        if next(self.consumer) is not None:
            raise ValueError(self.ERROR_FIRST_YIELD_MUST_BE_NONE)
        self.ready = True

    def _stream(self, iterator: Iterator[Any]) -> Iterator[Any]:
        for element in iterator:
            if self.ready is None:
                raise RuntimeError(self.ERROR_YIELD_MUST_BE_CALLED_BEFORE)
            if not self.ready:
                raise RuntimeError(self.ERROR_PREVIOUS_VALUE_NOT_YIELD)
            self.ready = False
            self.consumed = False
            yield self.element_wrapper_factory(element)

    def collect(self, expected_size: int) -> Tuple[List[Any], List[datetime.timedelta]]:
        """Run the consumer to its end: the values it yielded (post-processed) and the time each took.

        Raises ``ValueError`` when the number of values is not ``expected_size``.
        """

        values: List[Any] = []
        durations: List[datetime.timedelta] = []
        end = object()
        while True:
            start = datetime.datetime.now()
            value = next(self.consumer, end)
            if value is end:
                break
            took = datetime.datetime.now() - start
            values.append(self.post_processor(value))
            durations.append(took)
            self.ready = True
            if self.consumed:
                raise RuntimeError(self.ERROR_MULTIPLE_YIELD)
            self.consumed = True
        if len(values) != expected_size:
            raise ValueError(f"{self.ERROR_WRONG_YIELD_CALL_COUNT_PREFIX} ({len(values)} / {expected_size})")
        return values, durations
