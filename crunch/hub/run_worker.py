"""The hub's job queue: one worker thread, apart from the HTTP app, that takes the oldest queued
run, lays out its folder (the submission's code and model files, the competition's metadata and
code, the data: the public release plus, for this cloud run, the private files), runs it with
:mod:`crunch.jobs` (``is_local`` False, a time limit), scores its prediction against the hub's
held-out targets, and puts the score on the leaderboard."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import traceback
from pathlib import Path
from typing import Any, Dict, Optional, Set

from .platform import record_score
from .runs import add_log
from .store import HubError

INTERRUPTED = "the hub stopped during the run: create it again"
PUBLIC_ONLY = ("y_test",)  # data release files a classic cloud run never sees (the held-out truth)


def fail_interrupted_runs(store: Any) -> int:
    """Runs a stopped hub left under way end failed (their process died with it)."""
    with store.tx() as db:
        cursor = db.execute(
            "UPDATE runs SET status = 'COMPLETED', success = 0, ended_at = ?, error_message = ?"
            " WHERE status IN ('PENDING', 'RUNNING', 'CLEANING')",
            (store.clock(), INTERRUPTED),
        )
        return cursor.rowcount


class RunWorker:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = app.store
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._groups: Set[int] = set()  # process groups of the runs under way
        self._stopping = False

    @property
    def cache(self) -> Path:
        explicit = os.environ.get("CRUNCH_ENVIRONMENTS_CACHE")
        return Path(explicit) if explicit else self.store.root / "environments"

    def wake(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="crunch-hub-runs", daemon=True)
                self._thread.start()
        self._event.set()

    def stop(self) -> None:
        """Kill the runs under way (no process outlives the hub) and end the worker."""
        from ..jobs.process import kill_group

        self._stopping = True
        self._event.set()
        for group in list(self._groups):
            kill_group(group)
        if self._thread is not None:
            self._thread.join(timeout=15)

    def _loop(self) -> None:
        while not self._stopping:
            row = self.store.one("SELECT * FROM runs WHERE status = 'CREATED' ORDER BY id LIMIT 1")
            if row is None:
                self._event.wait(1.0)
                self._event.clear()
                continue
            try:
                self.execute(row)
            except Exception as error:  # a bug of the hub: the run fails, the worker goes on
                traceback.print_exc()
                self._finish(row["id"], success=False, message=f"the hub failed to run it: {type(error).__name__}: {error}", valid=None)

    # -- one run --------------------------------------------------------------------------------

    def _log(self, run_id: int, emitter: str, line: str, error: bool, at: float) -> None:
        add_log(self.store, run_id, emitter, line, error, at)

    def _set(self, run_id: int, **values: Any) -> None:
        columns = ", ".join(f"{key} = ?" for key in values)
        with self.store.tx() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))

    def _terminated(self, run_id: int) -> bool:
        row = self.store.one("SELECT terminated FROM runs WHERE id = ?", run_id)
        return row is None or bool(row["terminated"])

    def _finish(self, run_id: int, *, success: bool, message: Optional[str], valid: Optional[bool], exit_code: Optional[int] = None,
                reason: Optional[str] = None, scores: Optional[Dict[str, float]] = None, terminated: bool = False) -> None:
        self._set(
            run_id, status="COMPLETED", success=int(success), ended_at=self.store.clock(), error_message=message,
            exit_code=exit_code, exit_reason=reason, prediction_valid=None if valid is None else int(valid),
            prediction_error=None if valid or valid is None else message, scores=json.dumps(scores or {}),
            terminated=int(terminated),
        )

    def execute(self, run: sqlite3.Row) -> None:
        import time

        from ..jobs.job import JobOptions, run_job
        from ..jobs.sandbox import build_sandbox

        run_id = int(run["id"])
        self._set(run_id, status="PENDING", started_at=self.store.clock())
        self._log(run_id, "sandbox", f"run {run_id}: preparing the environment", False, time.time())
        project = self.store.one("SELECT * FROM projects WHERE id = ?", run["project_id"])
        competition = self.store.one("SELECT * FROM competitions WHERE id = ?", project["competition_id"])
        submission = self.store.one("SELECT * FROM submissions WHERE id = ?", run["submission_id"])
        scratch = self.store.root / "runs" / str(run_id)
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        try:
            layout, requirements, truth, held_out = self._layout(project, competition, submission)
            root = build_sandbox(scratch, layout)
            self._set(run_id, status="RUNNING")
            result = run_job(
                scratch,
                root,
                JobOptions(
                    requirements=requirements,
                    main_file=submission["main_file_path"],
                    is_local=False,
                    force_first_train=bool(run["force_first_train"]),
                    train_frequency=max(int(run["train_frequency"]), 0),
                    timeout=self.app.run_timeout,
                    cache=self.cache,
                    truth_files=held_out,
                ),
                lambda emitter, line, error, at: self._log(run_id, emitter, line, error, at),
                cancelled=lambda: self._stopping or self._terminated(run_id),
                on_start=self._groups.add,
            )
            self._groups.clear()
            self._set(run_id, status="CLEANING")
            if self._stopping:
                self._finish(run_id, success=False, message=INTERRUPTED, valid=None, exit_code=result.exit_code)
                return
            if result.cancelled:
                self._log(run_id, "sandbox", "terminated on request", True, time.time())
                self._finish(run_id, success=False, message="terminated on request", valid=None, exit_code=result.exit_code, reason="TERMINATED", terminated=True)
                return
            if not result.ok:
                reason = "TIMEOUT" if result.timed_out else None
                self._finish(run_id, success=False, message=result.error, valid=None, exit_code=result.exit_code, reason=reason)
                return
            scores = result.scores
            metrics = self.app._metrics_of(competition)
            if scores is None and truth is not None and result.prediction is not None and metrics:
                try:
                    value = classic_score(root / result.prediction, truth, competition, self.app)
                    scores = {str(metrics[0]["id"]): value}
                    target = metrics[0]["target"]["name"] if isinstance(metrics[0].get("target"), dict) else "target"
                    self._log(run_id, "scorer", f"score: {target} {metrics[0]['name']} = {value:.6g} (Spearman with the held-out y_test)", False, time.time())
                except ValueError as error:
                    self._log(run_id, "scorer", f"error: the prediction cannot be scored: {error}", True, time.time())
                    self._finish(run_id, success=False, message=f"the prediction cannot be scored: {error}", valid=False, exit_code=result.exit_code)
                    return
            self._record(project, competition, submission, scores or {})
            self._finish(run_id, success=True, message=None, valid=True, exit_code=result.exit_code, scores=scores)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _record(self, project: sqlite3.Row, competition: sqlite3.Row, submission: sqlite3.Row, scores: Dict[str, float]) -> None:
        """Put the run's score of each target's ranked metric on the leaderboard."""
        for target in self.app._targets(competition):
            metric = target.get("_metric")
            if metric is not None and str(metric["id"]) in scores:
                record_score(self.store, int(project["id"]), target["name"], float(scores[str(metric["id"])]), int(submission["number"]))

    def _layout(self, project: sqlite3.Row, competition: sqlite3.Row, submission: sqlite3.Row) -> Any:
        from ..api.models import CompetitionFormat
        from ..jobs.sandbox import SandboxLayout

        files: Dict[str, Any] = {}
        requirements = ""
        for row in self.store.submission_files(submission["id"]):
            blob = self.store.upload_dir(row["upload_id"]) / "blob"
            name = row["path"] if row["kind"] == "CODE" else f"{submission['model_directory_path']}/{row['path']}"
            files[name] = blob
            if row["kind"] == "CODE" and row["path"] == "requirements.txt":
                requirements = blob.read_text(encoding="utf-8", errors="replace")
        round_ = self.store.round(competition["id"], "@current")
        release = self.store.data_release(round_["id"])
        unstructured = CompetitionFormat.parse(competition["format"]) is CompetitionFormat.UNSTRUCTURED
        data_files: Dict[str, Path] = {}
        release_files: Dict[str, Any] = {}
        truth: Optional[Path] = None
        for row in self.store.data_files(release["id"], "DEFAULT"):
            path = self.store.path_of(row["path"])
            if not unstructured and row["key"] in PUBLIC_ONLY:
                truth = path
                continue
            data_files[row["name"]] = path
            release_files[row["key"]] = {"name": row["name"], "url": path.as_uri(), "size": row["size"], "signed": False,
                                         "compressed": bool(row["compressed"]), "sha256": row["sha256"]}
        private = self.store.private_dir(competition["name"])
        held_out: Optional[Dict[str, Path]] = None
        if unstructured:
            held_out = {}
            for path in sorted(private.iterdir()) if private.is_dir() else []:
                if not path.is_file():
                    continue
                if is_truth(path.name):
                    held_out[path.name] = path  # linked for scoring.py once the participant's code ended
                else:
                    data_files[path.name] = path  # the platform's side of the data: the full test set
        dot_files: Dict[str, Any] = {
            "project.json": {
                "competitionName": competition["name"], "projectName": project["name"], "userId": project["user_id"],
                "apiBaseUrl": "http://127.0.0.1:9/", "modelDirectory": submission["model_directory_path"],
            },
            "competition.json": self.app._competition_json(competition, shapes="classic"),  # the sandbox keeps one form, whatever the answers' shapes
            "data_release.json": {
                "id": release["id"], "number": release["number"], "name": release["name"], "embargo": release["embargo"],
                "numberOfFeatures": release["number_of_features"], "hash": release["hash"], "sizeVariant": "DEFAULT",
                "columnNames": json.loads(release["column_names"]), "splits": json.loads(release["splits"]), "dataFiles": release_files,
            },
            "round.json": {"number": round_["number"], "id": round_["id"]},
            "checks.json": json.loads(competition["checks"]),
            "metrics.json": self.app._metrics_of(competition),
        }
        code_files: Dict[str, Any] = {}
        if unstructured:
            code = self.store.code_dir(competition["name"])
            records = {}
            for name in ("runner", "scoring", "submission"):
                path = code / f"{name}.py"
                if path.is_file():
                    code_files[f"{name}.py"] = path
                    records[name] = {"found": True, "location": f"hub/{competition['name']}/{name}.py"}
                else:
                    records[name] = {"found": False, "location": None}
            code_files["sources.json"] = json.dumps(records).encode("utf-8")
        layout = SandboxLayout(files=files, dot_files=dot_files, code_files=code_files, data_files=data_files)
        return layout, requirements, truth, held_out


def is_truth(name: str) -> bool:
    """A private file that holds targets (``y_test.parquet``, ``y_test.reduced.pickle``...): the
    scorer reads it, the participant's code never sees it (its other private files, such as the
    full ``X_test``, are its input)."""
    return name.lower().startswith(("y_", "y.", "truth", "target"))


def classic_score(prediction_path: Path, truth_path: Path, competition: sqlite3.Row, app: Any) -> float:
    """The mean over moons (or over all rows) of the Spearman correlation between the
    prediction and the held-out target of the competition's first target."""
    import pandas

    round_ = app.store.round(competition["id"], "@current")
    columns = json.loads(app.store.data_release(round_["id"])["column_names"])
    id_column, moon_column = columns.get("id") or "id", columns.get("moon")
    target = next(iter((columns.get("targets") or {}).values()), {"input": "target", "output": "prediction"})
    prediction = pandas.read_parquet(prediction_path)
    truth = pandas.read_parquet(truth_path)
    keys = [k for k in (moon_column, id_column) if k]
    if target["output"] not in prediction.columns:
        raise ValueError(f"the prediction has no column {target['output']!r}")
    merged = truth[[*keys, target["input"]]].merge(prediction[[*keys, target["output"]]], on=keys, how="inner")
    if merged.empty:
        raise ValueError("no row of the prediction matches the held-out targets")

    def spearman(frame: Any) -> float:
        value = frame[target["input"]].rank().corr(frame[target["output"]].rank())
        return 0.0 if value != value else float(value)

    if moon_column:
        return float(sum(spearman(group) for _, group in merged.groupby(moon_column)) / merged[moon_column].nunique())
    return spearman(merged)


__all__ = ["RunWorker", "classic_score", "HubError"]
