"""One clean-environment run: the cached environment of the pinned requirements, the run's
folder, the runner in its own process with a time limit, the result it wrote."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .environment import RUNTIME_DIR, EnvironmentBuildCancelled, EnvironmentBuildError, ensure_environment
from .process import OnLine, run_process

Cancelled = Callable[[], bool]


@dataclass
class JobOptions:
    requirements: str = ""
    main_file: Optional[str] = None
    is_local: bool = True
    force_first_train: bool = True
    train_frequency: int = 1
    determinism_check: bool = True
    timeout: Optional[float] = None
    cache: Optional[Path] = None
    # a separate scoring phase (cloud runs of competition code): files linked into data/ only
    # after the participant's code ended (the held-out truth), then scoring.py in a new process
    truth_files: Optional[Dict[str, Path]] = None


@dataclass
class JobResult:
    ok: bool
    error: Optional[str] = None
    exit_code: Optional[int] = None
    timed_out: bool = False
    cancelled: bool = False
    scores: Optional[Dict[str, float]] = None
    prediction: Optional[Path] = None
    outside: List[str] = field(default_factory=list)
    environment_cached: Optional[bool] = None


def timeout_message(seconds: float) -> str:
    return (
        f"the run went past its time limit of {seconds:g} s and was stopped: "
        "make train() and infer() faster (or train less often)"
    )


def run_job(
    scratch: Path,
    root: Path,
    options: JobOptions,
    on_line: OnLine,
    cancelled: Cancelled = lambda: False,
    on_start: Optional[Callable[[int], None]] = None,
) -> JobResult:
    """Run the workspace at ``root`` (built by :func:`crunch.jobs.sandbox.build_sandbox` in
    ``scratch``) in the clean environment of ``options.requirements``."""
    def log(emitter: str, line: str, error: bool) -> None:
        on_line(emitter, line, error, time.time())

    try:
        environment = ensure_environment(options.requirements, cache=options.cache, log=log, cancelled=cancelled, on_start=on_start)
    except EnvironmentBuildCancelled:
        log("sandbox", "the environment build was stopped", True)
        return JobResult(ok=False, error="the run was terminated", cancelled=True)
    except EnvironmentBuildError as error:
        log("sandbox", f"error: {error.message}", True)
        return JobResult(ok=False, error=error.message, exit_code=None)
    if cancelled():
        return JobResult(ok=False, error="the run was terminated", cancelled=True)
    runtime = environment.path / RUNTIME_DIR
    allowed = [str(root), str(environment.path), str(scratch / "tmp"), str(scratch / "home"), sys.base_prefix, sys.prefix]
    allowed += sorted({os.path.realpath(entry) for entry in runtime.iterdir()}) if runtime.is_dir() else []
    result_path = scratch / "result.json"
    spec = {
        "root": str(root),
        "result": str(result_path),
        "allowed": allowed,
        "main_file": options.main_file,
        "is_local": options.is_local,
        "force_first_train": options.force_first_train,
        "train_frequency": options.train_frequency,
        "determinism_check": options.determinism_check,
        "score": options.truth_files is None,
    }
    spec_path = scratch / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    started = time.monotonic()
    env = {
        "PATH": str(environment.python.parent) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
    }
    outcome = run_process(
        [str(environment.python), "-u", "-m", "crunch.jobs.child", str(spec_path)],
        cwd=root, env=env, on_line=on_line, timeout=options.timeout, cancelled=cancelled, on_start=on_start,
    )
    if outcome.timed_out:
        message = timeout_message(options.timeout or 0)
        log("sandbox", f"error: {message}", True)
        return JobResult(ok=False, error=message, exit_code=outcome.exit_code, timed_out=True, environment_cached=environment.cached)
    if outcome.cancelled:
        return JobResult(ok=False, error="the run was terminated", exit_code=outcome.exit_code, cancelled=True, environment_cached=environment.cached)
    try:
        written: Dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        written = {"ok": False, "error": f"the runner's process ended (exit code {outcome.exit_code}) without a result"}
    scores = written.get("scores")
    ok = bool(written.get("ok")) and outcome.exit_code == 0
    if ok and options.truth_files is not None:
        for name, source in options.truth_files.items():
            target = root / "data" / name
            if target.is_symlink() or target.exists():
                target.unlink()
            os.symlink(os.path.abspath(source), target)
        spec["phase"] = "score"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        result_path.unlink(missing_ok=True)
        remaining = None if options.timeout is None else max(1.0, options.timeout - (time.monotonic() - started))
        scored = run_process(
            [str(environment.python), "-u", "-m", "crunch.jobs.child", str(spec_path)],
            cwd=root, env=env, on_line=on_line, timeout=remaining, cancelled=cancelled, on_start=on_start, emitter="scorer",
        )
        if scored.timed_out or scored.cancelled:
            message = timeout_message(options.timeout or 0) if scored.timed_out else "the run was terminated"
            return JobResult(ok=False, error=message, exit_code=scored.exit_code, timed_out=scored.timed_out,
                             cancelled=scored.cancelled, environment_cached=environment.cached)
        try:
            score_result: Dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            score_result = {"ok": False, "error": f"the scorer's process ended (exit code {scored.exit_code}) without a result"}
        if not score_result.get("ok"):
            return JobResult(ok=False, error=score_result.get("error"), exit_code=scored.exit_code, environment_cached=environment.cached)
        scores = score_result.get("scores")
    prediction = written.get("prediction")
    return JobResult(
        ok=ok,
        error=written.get("error"),
        exit_code=outcome.exit_code,
        scores=scores,
        prediction=Path(prediction) if prediction else None,
        outside=list(written.get("outside") or []),
        environment_cached=environment.cached,
    )
