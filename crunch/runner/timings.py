"""The time of each call into the participant's code, for ``crunch test``'s report.

The classic loop times its own calls of ``train()`` and ``infer()``. A competition's own
``runner.py`` calls the participant's functions itself, through ``module.get_function(name)``:
:class:`CallTimings` wraps what it hands out, so that each call of a plain function is timed, and
for a generator (the real-time competitions' ``infer``, fed one value at a time) each resumption
that yields a value is timed, except the first (the code's setup up to its first ``yield``) and
the last (its clean-up after the stream ended). Resumptions in processes forked by the runner are
written to a folder and read back by the parent.

A competition states a per-call limit in its ``runner.py`` as ``PER_CALL_TIME_LIMIT``: a number
of seconds for every call, or a mapping of function names to seconds
(``{"infer": 0.05}``, the other functions unlimited).
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import shutil
import tempfile
import time
import types
from typing import Any, Callable, Dict, Generator, List, Mapping, Optional, Sequence

LIMIT_NAME = "PER_CALL_TIME_LIMIT"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty): ``fraction`` 0.5 is the median."""
    ordered = sorted(values)
    if fraction == 0.5:
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def human_seconds(seconds: float) -> str:
    """``0.8 ms``, ``12.3 ms``, ``1.234 s``: a call's time at a readable scale."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.3f} s"


def distribution(values: Sequence[float]) -> str:
    """``median 0.8 ms, 99th percentile 3.1 ms, slowest 12.0 ms``."""
    return (
        f"median {human_seconds(percentile(values, 0.5))}, 99th percentile {human_seconds(percentile(values, 0.99))}, "
        f"slowest {human_seconds(max(values))}"
    )


def limits_of(runner_module: Optional[types.ModuleType]) -> Dict[str, float]:
    """The per-call limits the competition's ``runner.py`` states (``{"*": s}`` for every
    function); an unreadable statement is ignored (it is the competition's, not the participant's)."""
    value = getattr(runner_module, LIMIT_NAME, None) if runner_module is not None else None
    if isinstance(value, bool) or value is None:
        return {}
    if isinstance(value, (int, float)):
        return {"*": float(value)} if value > 0 else {}
    if isinstance(value, Mapping):
        return {
            str(name): float(seconds)
            for name, seconds in value.items()
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0
        }
    return {}


class CallTimings:
    """The times of the calls into the participant's code, by function name."""

    def __init__(self) -> None:
        self.samples: Dict[str, List[float]] = {}
        self.order: List[str] = []
        self._pid = os.getpid()
        self._folder: Optional[str] = None

    def add(self, name: str, seconds: float) -> None:
        if name not in self.samples:
            self.samples[name] = []
            self.order.append(name)
        self.samples[name].append(seconds)

    # -- wrapping what the runner is handed ------------------------------------------------------

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` timed; its signature stays readable (``smart_call`` binds by name)."""
        if getattr(function, "__crunch_timed__", False):
            return function
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="crunch-call-timings-")
        if inspect.isgeneratorfunction(function):

            @functools.wraps(function)
            def generator_function(*args: Any, **kwargs: Any) -> Any:
                return (yield from self._timed(name, function(*args, **kwargs)))

            generator_function.__crunch_timed__ = True  # type: ignore[attr-defined]
            return generator_function

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = function(*args, **kwargs)
            if isinstance(result, types.GeneratorType):
                return self._timed(name, result)
            self.add(name, time.perf_counter() - start)
            return result

        timed.__crunch_timed__ = True  # type: ignore[attr-defined]
        return timed

    def _timed(self, name: str, generator: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
        """``generator`` resumed step by step, each resumption timed (see the module's text)."""
        action: Callable[[Any], Any] = generator.send
        argument: Any = None
        steps: List[float] = []
        first = True
        try:
            while True:
                start = time.perf_counter()
                try:
                    value = action(argument)
                except StopIteration as stop:
                    return stop.value
                if not first:
                    steps.append(time.perf_counter() - start)
                first = False
                try:
                    argument = yield value
                    action = generator.send
                except GeneratorExit:
                    generator.close()
                    raise
                except BaseException as error:  # noqa: B036 - thrown in by the runner: passed on
                    action, argument = generator.throw, error
        finally:
            self._keep(name, steps)

    def _keep(self, name: str, steps: List[float]) -> None:
        if not steps:
            return
        if os.getpid() == self._pid:
            for seconds in steps:
                self.add(name, seconds)
            return
        if self._folder is None:  # pragma: no cover - a fork always follows a wrap
            return
        try:  # a forked worker: its parent reads the file after the run
            path = os.path.join(self._folder, f"{os.getpid()}-{time.monotonic_ns()}.json")
            with open(path, "w", encoding="utf-8") as file:
                json.dump({"name": name, "steps": steps}, file)
        except OSError:
            pass

    def gather(self) -> None:
        """Read back what forked workers wrote, and remove their folder."""
        folder, self._folder = self._folder, None
        if folder is None:
            return
        try:
            for entry in sorted(os.listdir(folder)):
                try:
                    with open(os.path.join(folder, entry), encoding="utf-8") as file:
                        record = json.load(file)
                    for seconds in record["steps"]:
                        self.add(str(record["name"]), float(seconds))
                except (OSError, ValueError, KeyError, TypeError):
                    continue
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    # -- the report ------------------------------------------------------------------------------

    def lines(self, limits: Optional[Dict[str, float]] = None) -> List[str]:
        """The report's lines: per function, its calls' median, 99th percentile and slowest,
        against the competition's limit where it states one."""
        limits = limits or {}
        if not self.samples:
            return []
        out = ["calls into your code:"]
        width = max(len(name) for name in self.order) + 2
        for name in self.order:
            values = self.samples[name]
            count = f"{len(values)} call{'s' if len(values) != 1 else ''}"
            text = f"  {name + '()':<{width}} {count:>12}: " + (distribution(values) if len(values) > 1 else human_seconds(values[0]))
            limit = limits.get(name, limits.get("*"))
            if limit is not None:
                over = sum(1 for value in values if value > limit)
                if over:
                    text += f"; {over} over the competition's limit of {human_seconds(limit)} a call"
                else:
                    text += f"; all within the competition's limit of {human_seconds(limit)} a call"
            out.append(text)
        return out

    def over_limit(self, limits: Dict[str, float]) -> Dict[str, int]:
        """Per function, how many calls took longer than the competition's limit."""
        found: Dict[str, int] = {}
        for name, values in self.samples.items():
            limit = limits.get(name, limits.get("*"))
            if limit is not None:
                over = sum(1 for value in values if value > limit)
                if over:
                    found[name] = over
        return found
