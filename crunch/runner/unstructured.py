"""``crunch.runner.unstructured``: what a competition's ``runner.py`` is handed.

Part of the competition-code API. A competition's ``run(context, ...)`` receives a
:class:`RunnerContext`; it calls ``context.execute(command="train", parameters={...})``, which
calls the competition's ``execute(context, module, ...)`` (with a :class:`RunnerExecutorContext`
and the participant's code as a :class:`UserModule`) for the handlers and calls the one named.

The ``Local*`` classes are what ``crunch test`` hands over: the values of a local run
(``is_local`` True, submission phase, chain height 1, no timeout, no model), every command
executed in the calling process (a forked child included).
"""

from __future__ import annotations

import abc
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional, Protocol, Tuple


class CompetitionRun(Protocol):
    """What the ``Local*`` contexts read of a local run (crunch's own run of a competition's
    ``runner.py``, :class:`crunch.runner.competition.CompetitionRun`)."""

    started_at: datetime
    train_frequency: int
    force_first_train: bool
    is_local: bool
    determinism_check_enabled: bool
    deterministic: Optional[bool]
    user_module: ModuleType
    timings: Any  # crunch.runner.timings.CallTimings

    def log(self, message: str, important: bool = False, error: bool = False) -> Any: ...

    def execute(self, *args: Any, **kwargs: Any) -> Any: ...

__all__ = [
    "DEFAULT_LOG_LIMITS",
    "LocalRunnerContext",
    "LocalRunnerExecutorContext",
    "LocalUserModule",
    "RunnerContext",
    "RunnerExecutorContext",
    "UserModule",
]

DEFAULT_LOG_LIMITS: Tuple[int, int] = (1000, 500)


class RunnerContext(abc.ABC):
    """The run as the competition's ``run()`` sees it."""

    @property
    @abc.abstractmethod
    def started_at(self) -> datetime: ...

    @property
    @abc.abstractmethod
    def timeout(self) -> Optional[timedelta]: ...

    @property
    def remaining_duration_before_timeout(self) -> Optional[timedelta]:
        """``timeout`` minus the time since ``started_at``; ``None`` without a timeout."""
        timeout = self.timeout
        if timeout is None:
            return None
        return timeout - (datetime.now() - self.started_at)

    @property
    @abc.abstractmethod
    def train_frequency(self) -> int: ...

    @property
    @abc.abstractmethod
    def force_first_train(self) -> bool: ...

    @property
    @abc.abstractmethod
    def is_local(self) -> bool:
        """Running on the participant's machine (or a notebook), not on the platform."""

    @property
    @abc.abstractmethod
    def is_submission_phase(self) -> bool: ...

    @property
    def is_first_time(self) -> bool:
        """The first run of a chain: always in the submission phase, else up to height 2."""
        if self.is_submission_phase:
            return True
        return self.chain_height <= 2

    @property
    @abc.abstractmethod
    def chain_height(self) -> int:
        """How many consecutive runs with the same parameters there have been."""

    @property
    @abc.abstractmethod
    def has_model(self) -> bool:
        """Whether the submission came with model files."""

    @property
    @abc.abstractmethod
    def is_determinism_check_enabled(self) -> bool: ...

    @abc.abstractmethod
    def report_determinism(self, deterministic: bool) -> None: ...

    @abc.abstractmethod
    def log(self, message: str, *, important: bool = False, error: bool = False) -> bool: ...

    @abc.abstractmethod
    def execute(
        self,
        *,
        command: str,
        parameters: Optional[Dict[str, Any]] = None,
        trace: bool = True,
        span_hidden_parameters: Optional[List[str]] = None,
        span_attributes: Optional[Dict[str, Any]] = None,
        install_data_fuse: bool = True,
        log_limits: Tuple[int, int] = DEFAULT_LOG_LIMITS,
    ) -> None:
        """Call the handler ``command`` of the competition's ``execute()`` with ``parameters``
        (by name). ``install_data_fuse`` and ``log_limits`` only matter on the platform."""


class RunnerExecutorContext(abc.ABC):
    """What the competition's ``execute()`` sees."""

    @property
    @abc.abstractmethod
    def is_local(self) -> bool: ...

    @abc.abstractmethod
    def trip_data_fuse(self) -> None:
        """On the platform, cut access to the data before the participant's code runs."""


_NO_DEFAULT: Any = object()


class UserModule(abc.ABC):
    """The participant's code, as the competition's ``execute()`` reaches it."""

    @property
    @abc.abstractmethod
    def module(self) -> ModuleType: ...

    def get_function(self, name: str) -> Callable[..., Any]:
        """The participant's function ``name``; ``ValueError`` when there is none."""
        function = getattr(self.module, name, None)
        if not callable(function):
            raise ValueError(f"no `{name}` function found")
        return function

    def get_value(self, name: str, *, default: Any = _NO_DEFAULT) -> Any:
        """The participant's module attribute ``name``, else ``default``, else ``ValueError``."""
        value = getattr(self.module, name, default)
        if value is _NO_DEFAULT:
            raise ValueError(f"no `{name}` value found")
        return value


# -- the local run ------------------------------------------------------------------------------


class LocalRunnerContext(RunnerContext):
    def __init__(self, run: "CompetitionRun") -> None:
        self.run = run

    @property
    def started_at(self) -> datetime:
        return self.run.started_at

    @property
    def timeout(self) -> Optional[timedelta]:
        return None

    @property
    def train_frequency(self) -> int:
        return self.run.train_frequency

    @property
    def force_first_train(self) -> bool:
        return self.run.force_first_train

    @property
    def is_local(self) -> bool:
        return self.run.is_local

    @property
    def is_submission_phase(self) -> bool:
        return True

    @property
    def chain_height(self) -> int:
        return 1

    @property
    def has_model(self) -> bool:
        return False

    @property
    def is_determinism_check_enabled(self) -> bool:
        return self.run.determinism_check_enabled

    def report_determinism(self, deterministic: bool) -> None:
        self.run.deterministic = bool(deterministic)

    def log(self, message: str, *, important: bool = False, error: bool = False) -> bool:
        return self.run.log(message, important=important, error=error)

    def execute(
        self,
        *,
        command: str,
        parameters: Optional[Dict[str, Any]] = None,
        trace: bool = True,
        span_hidden_parameters: Optional[List[str]] = None,
        span_attributes: Optional[Dict[str, Any]] = None,
        install_data_fuse: bool = True,
        log_limits: Tuple[int, int] = (0, 0),
    ) -> None:
        self.run.execute(
            command,
            parameters,
            trace=trace,
            span_hidden_parameters=span_hidden_parameters,
            span_attributes=span_attributes,
        )


class LocalRunnerExecutorContext(RunnerExecutorContext):
    def __init__(self, run: "CompetitionRun") -> None:
        self.run = run

    @property
    def is_local(self) -> bool:
        return self.run.is_local

    def trip_data_fuse(self) -> None:
        return None  # no fuse locally: the data stays readable


class LocalUserModule(UserModule):
    def __init__(self, run: "CompetitionRun") -> None:
        self.run = run

    @property
    def module(self) -> ModuleType:
        return self.run.user_module

    def get_function(self, name: str) -> Callable[..., Any]:
        """The participant's function ``name``, each of its calls timed for the report."""
        return self.run.timings.wrap(name, super().get_function(name))
