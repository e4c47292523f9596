"""What the ``crunch run ...`` commands share: the run number, a run of the workspace's project
(with a message naming what exists), a log line for a terminal, polling until a run ends."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, List, Optional, Union

from ..api.models import Run, RunLog
from ..core.display import local_time, parse_time, visible
from ..exceptions import ApiError, ConfigurationError, NetworkError
from ..project.context import ProjectContext

HIDDEN_EMITTERS = ("sandbox", "pip")


def parse_run_id(value: Union[str, int]) -> int:
    text = str(value).strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ConfigurationError(f"{value!r} is not a run number: `crunch run list` shows the project's runs")


class RunNotFoundError(ApiError):
    """No run of that number in the project."""


def _run_call(context: ProjectContext, run_id: int, call: Callable[..., Any]) -> Any:
    """``call(*where, run_id)``; a hub that knows no such run says so naming the project."""
    try:
        return call(*context.where, run_id)
    except ApiError as error:
        if error.code == "RUN_NOT_FOUND" or error.status == 404:
            raise RunNotFoundError(
                f"{context.label} has no run {run_id}: `crunch run list` shows its runs", code=error.code, status=error.status
            ) from None
        raise


def fetch_run(context: ProjectContext, run_id: int) -> Run:
    return _run_call(context, run_id, context.client.get_run)


def fetch_logs(context: ProjectContext, run_id: int) -> List[RunLog]:
    return _run_call(context, run_id, context.client.run_logs)


def terminate(context: ProjectContext, run_id: int) -> Run:
    return _run_call(context, run_id, context.client.terminate_run)


def log_time(value: Optional[str]) -> str:
    moment = parse_time(value)
    return moment.astimezone().strftime("%H:%M:%S") if moment is not None else (value or "--:--:--")


class LogPrinter:
    """Log lines as a terminal shows them: ``HH:MM:SS [emitter] content`` (stderr lines marked),
    the installer's lines folded into one unless ``debug``; the hub's text with its control
    characters escaped (a log line cannot rewrite the one above or drive the terminal)."""

    def __init__(self, write: Callable[[str], None], debug: bool = False) -> None:
        self.write = write
        self.debug = debug
        self._installing = False

    def __call__(self, log: RunLog) -> None:
        self._print(log, visible(log.emitter, lines=False), visible(log.content))

    def _print(self, log: RunLog, emitter: str, content: str) -> None:
        """``emitter`` and ``content`` are the hub's text made safe for a terminal."""
        at = visible(log_time(log.created_at), lines=False)
        if not self.debug and log.emitter in HIDDEN_EMITTERS:
            if log.emitter == "pip" and not self._installing:
                self._installing = True
                self.write(f"{at} [pip] installing the requirements (--debug shows pip's output)")
            if log.emitter == "sandbox" and log.content.startswith("error: "):
                self.write(f"{at} [{emitter},stderr] {content}")
            return
        self._installing = False
        stream = ",stderr" if log.error else ""
        self.write(f"{at} [{emitter}{stream}] {content}")


def follow(context: ProjectContext, run_id: int, poll: float, after: Optional[int] = None) -> Iterator[RunLog]:
    """The run's log lines after ``after``, then new ones as they come, until the run ended
    (its last lines included)."""
    last = after
    while True:
        try:
            run = fetch_run(context, run_id)
            logs = fetch_logs(context, run_id)
        except NetworkError as error:
            raise NetworkError(f"following run {run_id} stopped: {error.message}") from None
        for position, log in enumerate(logs):
            key = log.id if isinstance(log.id, int) else position  # a hub without log ids: their order
            if last is None or key > last:
                last = key
                yield log
        if not run.running:
            return
        time.sleep(poll)


def wait_for(context: ProjectContext, run_id: int, poll: float, timeout: Optional[float]) -> Run:
    started = time.monotonic()
    while True:
        try:
            run = fetch_run(context, run_id)
        except NetworkError as error:
            raise NetworkError(f"waiting for run {run_id} stopped: {error.message}") from None
        if not run.running:
            return run
        if timeout is not None and time.monotonic() - started >= timeout:
            return run
        time.sleep(poll)


def duration_text(run: Run) -> str:
    from ..core.display import human_duration

    return human_duration(run.duration) if run.duration is not None else "-"


def run_rows(runs: List[Run]) -> List[List[Any]]:
    return [
        [run.id, run.status_text(), f"#{run.submission_number}" if run.submission_number is not None else "-", duration_text(run), local_time(run.created_at),
         run.prediction.score_text() if run.prediction is not None else "-"]
        for run in runs
    ]
