"""The hub's cloud runs: the calls crunch-cli 13.0.1 makes for ``run create|list|show|logs|wait|
select|terminate`` and ``runtime list``, in its shapes (``crunch/api/_domain/run.py``, ``runtime.py``).

Runtimes: ``cpu`` is open to every submission; ``gpu`` is restricted: a submission may run on it
once the admin accepted a request for it (:mod:`crunch.hub.requests`). Both run on the hub's
machine; they differ in what they announce (memory, cores, a GPU model).

Selection (``/v4/.../selection``): the run the out-of-sample phase uses. A project that chose
none has its last successful run (``LAST_RUN``); ``POST`` ``{"runId"}`` chooses a successful run
(``SELECTION``); another run is refused (``RUN_NOT_SUCCESSFUL``).

A created run is queued (``CREATED``); the worker of :mod:`crunch.hub.run_worker`, apart from
the HTTP app, takes it (``PENDING`` while its environment is prepared, ``RUNNING``), runs it
with :mod:`crunch.jobs` and ends it ``COMPLETED`` with ``success`` and its scores.

Quotas: a run spends compute time; a project has ``computeSeconds`` a day (admin setting),
reported as each runtime option's ``quota`` and by ``/quota/compute``; a run asked for with
none left is refused (``COMPUTE_QUOTA_EXCEEDED``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable, Dict, List, Optional

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .http import json_answer
from .store import HubError, Store, validation

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, submission_id INTEGER NOT NULL,
    status TEXT NOT NULL, success INTEGER NOT NULL DEFAULT 0, terminated INTEGER NOT NULL DEFAULT 0,
    runtime TEXT NOT NULL, train_frequency INTEGER NOT NULL, force_first_train INTEGER NOT NULL,
    created_at REAL NOT NULL, started_at REAL, ended_at REAL, exit_code INTEGER, exit_reason TEXT,
    error_message TEXT, scores TEXT, prediction_valid INTEGER, prediction_error TEXT);
CREATE TABLE IF NOT EXISTS run_selections (
    project_id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS run_logs (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, emitter TEXT NOT NULL, error INTEGER NOT NULL,
    content TEXT NOT NULL, created_at REAL NOT NULL);
"""

PROJECT = "/v3/competitions/<c>/projects/<u>/<p>"
RUNTIME = "cpu"
GPU_RUNTIME = "gpu"
RUN_TIMEOUT = 600.0  # seconds a run may last (admin setting runTimeout)
ACTIVE = ("CREATED", "PENDING", "RUNNING", "CLEANING")

RUN_RULES = [
    Rule("/v1/competitions/<c>/runtime-definitions", methods=["GET"], endpoint="runtime_definitions"),
    Rule(PROJECT + "/submissions/<s>/runtime-options", methods=["GET"], endpoint="runtime_options"),
    Rule(PROJECT + "/runs", methods=["GET"], endpoint="runs"),
    Rule(PROJECT + "/runs", methods=["POST"], endpoint="create_run"),
    Rule(PROJECT + "/runs/<int:r>", methods=["GET"], endpoint="run"),
    Rule(PROJECT + "/runs/<int:r>", methods=["DELETE"], endpoint="terminate_run"),
    Rule(PROJECT + "/runs/<int:r>/logs", methods=["GET"], endpoint="run_logs"),
    Rule(PROJECT + "/predictions/<int:pr>", methods=["GET"], endpoint="prediction"),
    Rule(PROJECT + "/predictions/<int:pr>/scores", methods=["GET"], endpoint="prediction_scores"),
    Rule("/v4/competitions/<c>/projects/<u>/<p>/selection", methods=["GET"], endpoint="selection"),
    Rule("/v4/competitions/<c>/projects/<u>/<p>/selection", methods=["POST"], endpoint="select_run"),
]


def ensure_run_schema(store: Store) -> None:
    with store._lock:
        store._db.executescript(SCHEMA)


def add_log(store: Store, run_id: int, emitter: str, content: str, error: bool, at: float) -> None:
    with store.tx() as db:
        db.execute(
            "INSERT INTO run_logs (run_id, emitter, error, content, created_at) VALUES (?, ?, ?, ?, ?)",
            (run_id, emitter, int(error), content, at),
        )


def runtime_definitions(competition_id: int) -> List[Dict[str, Any]]:
    """The competition's runtimes: ``cpu`` (open to all) and ``gpu`` (on request)."""
    powered = {"text": "crunch hub", "url": "http://127.0.0.1/"}
    return [
        {
            "id": competition_id * 10 + 1,
            "name": RUNTIME,
            "type": "CPU",
            "status": "ACTIVE",
            "displayName": "CPU (local hub)",
            "description": "the hub's machine, one run at a time",
            "poweredBy": powered,
            "specification": {"memory": {"size": 4}, "cpu": {"coreCount": 1}, "gpu": {"count": None, "model": None, "driver": None}},
        },
        {
            "id": competition_id * 10 + 2,
            "name": GPU_RUNTIME,
            "type": "GPU",
            "status": "RESTRICTED",
            "displayName": "GPU (local hub, on request)",
            "description": "the hub's machine announced as a GPU runtime: a submission may use it once its request is accepted",
            "poweredBy": powered,
            "specification": {"memory": {"size": 16}, "cpu": {"coreCount": 4}, "gpu": {"count": 1, "model": "NVIDIA T4", "driver": "535"}},
        },
    ]


def runtime_option_status(store: Store, project_id: int, submission_number: int, definition: Dict[str, Any]) -> str:
    """``AVAILABLE``, ``REQUESTABLE``, ``REQUESTED`` or ``BLOCKED``: an open runtime is available to
    all; a restricted one once a request for that submission was accepted, blocked once a
    refusal said so, requested while a request waits."""
    if definition["status"] == "ACTIVE":
        return "AVAILABLE"
    rows = store.all(
        "SELECT * FROM runtime_access_requests WHERE project_id = ? AND definition = ? ORDER BY id", project_id, definition["name"]
    )
    if any(row["blocked"] for row in rows):
        return "BLOCKED"
    mine = [row for row in rows if row["submission_number"] == submission_number]
    if not mine:
        return "REQUESTABLE"
    return {"PENDING": "REQUESTED", "APPROVED": "AVAILABLE"}.get(mine[-1]["verdict"], "REQUESTABLE")


class RunRoutes:
    """Handlers mixed into :class:`crunch.hub.app.HubApp`."""

    store: Store
    compute_seconds: float
    run_timeout: float
    _time: Callable[..., Optional[str]]  # HubApp's: a time of the store in the answers' shapes

    # -- helpers --------------------------------------------------------------------------------

    def compute_used(self, project_id: int) -> float:
        from .platform import day_start

        now = self.store.clock()
        used = 0.0
        for row in self.store.all("SELECT started_at, ended_at FROM runs WHERE project_id = ? AND started_at IS NOT NULL", project_id):
            end = row["ended_at"] if row["ended_at"] is not None else now
            start = max(row["started_at"], day_start(now))
            used += max(0.0, end - start)
        return used

    def compute_remaining(self, project_id: int) -> float:
        return max(0.0, self.compute_seconds - self.compute_used(project_id))

    def _run_row(self, project: sqlite3.Row, run_id: int) -> sqlite3.Row:
        row = self.store.one("SELECT * FROM runs WHERE id = ? AND project_id = ?", run_id, project["id"])
        if row is None:
            raise HubError(404, "RUN_NOT_FOUND", f"no run {run_id} in this project", runId=run_id)
        return row

    def runtime_options_of(self, project: sqlite3.Row, submission_number: int) -> List[Dict[str, Any]]:
        """The runtime options of a submission, each with its status for it and the compute time left."""
        remaining = self.compute_remaining(project["id"])
        return [
            {
                "definition": definition,
                "quota": remaining,
                "recommended": definition["name"] == RUNTIME,
                "status": runtime_option_status(self.store, project["id"], submission_number, definition),
            }
            for definition in runtime_definitions(project["competition_id"])
        ]

    def _metrics_of(self, competition: sqlite3.Row) -> List[Dict[str, Any]]:
        """The competition's metrics, each with its target: the ids a run's scores are keyed by."""
        rows = self.store.targets(competition["id"])
        return [self._store_metric_json(m, t) for t in rows for m in self.store.metrics(t["id"])]  # type: ignore[attr-defined]

    def _scores_json(self, run: sqlite3.Row, competition: sqlite3.Row) -> List[Dict[str, Any]]:
        scores = json.loads(run["scores"]) if run["scores"] else {}
        answer = []
        for metric in self._metrics_of(competition):
            if str(metric["id"]) not in scores:
                continue
            answer.append({
                "id": run["id"] * 100 + len(answer) + 1,
                "success": True,
                "createdAt": self._time(run["ended_at"]),
                "value": scores[str(metric["id"])],
                "details": [],
                "metric": metric,
            })
        return answer

    def _prediction_json(self, run: sqlite3.Row, competition: sqlite3.Row) -> Optional[Dict[str, Any]]:
        if run["status"] != "COMPLETED" or run["prediction_valid"] is None:
            return None
        scores = self._scores_json(run, competition)
        primary = scores[0] if scores else None
        return {
            "id": run["id"],
            "name": f"prediction of run {run['id']}",
            "valid": bool(run["prediction_valid"]),
            "success": bool(run["success"]) if run["prediction_valid"] else None,
            "managed": True,
            "totalSize": 0,
            "createdAt": self._time(run["ended_at"]),
            "error": run["prediction_error"],
            "deterministic": None,
            "primaryMean": primary["value"] if primary else None,
            "primaryUnit": primary["metric"]["unit"] if primary else None,
        }

    def run_json(self, run: sqlite3.Row) -> Dict[str, Any]:
        submission = self.store.one("SELECT * FROM submissions WHERE id = ?", run["submission_id"])
        project = self.store.one("SELECT * FROM projects WHERE id = ?", run["project_id"])
        competition = self.store.one("SELECT * FROM competitions WHERE id = ?", project["competition_id"])
        duration = None
        if run["started_at"] is not None:
            duration = (run["ended_at"] if run["ended_at"] is not None else self.store.clock()) - run["started_at"]
        return {
            "id": run["id"],
            "status": run["status"],
            "success": bool(run["success"]),
            "terminated": bool(run["terminated"]),
            "submission": self._submission_json(submission),  # type: ignore[attr-defined]
            "createdAt": self._time(run["created_at"]),
            "startedAt": self._time(run["started_at"]),
            "endedAt": self._time(run["ended_at"]),
            "duration": duration,
            "exitCode": run["exit_code"],
            "exitReason": run["exit_reason"],
            "errorMessage": run["error_message"],
            "errorTrace": None,
            "runtime": run["runtime"],
            "trainFrequency": run["train_frequency"],
            "forceFirstTrain": bool(run["force_first_train"]),
            "prediction": self._prediction_json(run, competition),
        }

    # -- runtimes -------------------------------------------------------------------------------

    def on_runtime_definitions(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        page, size = self._paging(request)  # type: ignore[attr-defined]
        return json_answer(self._page(runtime_definitions(competition["id"]), page, size))  # type: ignore[attr-defined]

    def on_runtime_options(self, request: Request, c: str, u: str, p: str, s: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        submission = self._submission_row(project, s)  # type: ignore[attr-defined]
        page, size = self._paging(request)  # type: ignore[attr-defined]
        return json_answer(self._page(self.runtime_options_of(project, submission["number"]), page, size))  # type: ignore[attr-defined]

    # -- runs -----------------------------------------------------------------------------------

    def on_runs(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        rows = self.store.all("SELECT * FROM runs WHERE project_id = ? ORDER BY id", project["id"])
        number = request.args.get("submissionNumber")
        if number:
            rows = [r for r in rows if str(self.store.one("SELECT number FROM submissions WHERE id = ?", r["submission_id"])["number"]) == number]
        return json_answer([self.run_json(r) for r in rows])

    def on_create_run(self, request: Request, c: str, u: str, p: str) -> Response:
        body = self._body(request)  # type: ignore[attr-defined]
        project = self._project(request, c, u, p, body)  # type: ignore[attr-defined]
        submission_id = body.get("submissionId")
        if not isinstance(submission_id, int) or isinstance(submission_id, bool):
            raise validation("submissionId", "must be the id of a submission of this project")
        submission = self.store.one("SELECT * FROM submissions WHERE id = ? AND project_id = ?", submission_id, project["id"])
        if submission is None:
            raise HubError(404, "SUBMISSION_NOT_FOUND", f"no submission with id {submission_id} in this project")
        runtime = body.get("runtimeDefinitionName") or RUNTIME
        if not isinstance(runtime, str):
            raise validation("runtimeDefinitionName", "must be the name of a runtime")
        option = next((o for o in self.runtime_options_of(project, submission["number"]) if o["definition"]["name"] == runtime), None)
        if option is None:
            raise HubError(404, "RUNTIME_DEFINITION_NOT_FOUND", f"no runtime named {runtime[:100]!r}", runtimeDefinitionName=runtime[:100])
        if option["status"] != "AVAILABLE":
            raise HubError(
                403, "AUTHORIZATION_DENIED",
                f"the runtime {runtime} is not available to submission #{submission['number']} ({option['status'].lower()}): request it first",
            )
        frequency = body.get("trainFrequency")
        frequency = 1 if frequency is None else frequency
        if not isinstance(frequency, int) or isinstance(frequency, bool) or frequency < 0:
            raise validation("trainFrequency", "must be an integer >= 0")
        force = body.get("forceFirstTrain")
        force = True if force is None else force
        if not isinstance(force, bool):
            raise validation("forceFirstTrain", "must be a boolean")
        if self.compute_remaining(project["id"]) <= 0:
            raise HubError(429, "COMPUTE_QUOTA_EXCEEDED", "the project's compute time for today is spent: wait until midnight UTC")
        with self.store.tx() as db:
            cursor = db.execute(
                "INSERT INTO runs (project_id, submission_id, status, runtime, train_frequency, force_first_train, created_at)"
                " VALUES (?, ?, 'CREATED', ?, ?, ?, ?)",
                (project["id"], submission_id, runtime, frequency, int(force), self.store.clock()),
            )
            run_id = cursor.lastrowid
        self.run_worker().wake()  # type: ignore[attr-defined]
        return json_answer(self.run_json(self._run_row(project, int(run_id))))

    def on_run(self, request: Request, c: str, u: str, p: str, r: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        return json_answer(self.run_json(self._run_row(project, r)))

    def on_terminate_run(self, request: Request, c: str, u: str, p: str, r: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        run = self._run_row(project, r)
        if run["status"] in ACTIVE:
            with self.store.tx() as db:
                db.execute("UPDATE runs SET terminated = 1 WHERE id = ?", (r,))
                if run["status"] == "CREATED":  # never started: ends now
                    now = self.store.clock()
                    db.execute(
                        "UPDATE runs SET status = 'COMPLETED', success = 0, ended_at = ?, error_message = ? WHERE id = ?",
                        (now, "terminated before it started", r),
                    )
        return json_answer(self.run_json(self._run_row(project, r)))

    def on_run_logs(self, request: Request, c: str, u: str, p: str, r: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        self._run_row(project, r)
        after = request.args.get("after")
        rows = self.store.all(
            "SELECT * FROM run_logs WHERE run_id = ? AND id > ? ORDER BY id", r, int(after) if after and after.isdigit() else 0
        )
        return json_answer([
            {"id": row["id"], "emitter": row["emitter"], "error": bool(row["error"]), "content": row["content"], "createdAt": self._time(row["created_at"])}
            for row in rows
        ])

    def on_prediction(self, request: Request, c: str, u: str, p: str, pr: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        run = self._run_row(project, pr)
        answer = self._prediction_json(run, self.store.competition(c))
        if answer is None:
            raise HubError(404, "PREDICTION_NOT_FOUND", f"no prediction {pr} in this project")
        return json_answer(answer)

    def on_prediction_scores(self, request: Request, c: str, u: str, p: str, pr: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        run = self._run_row(project, pr)
        return json_answer(self._scores_json(run, self.store.competition(c)))

    def _selection_json(self, run: sqlite3.Row, origin: str, created: Any, updated: Any) -> Dict[str, Any]:
        submission = self.store.one("SELECT * FROM submissions WHERE id = ?", run["submission_id"])
        return {
            "origin": origin,
            "runnable": True,
            "runId": run["id"],
            "submission": {"id": submission["id"], "number": submission["number"]},
            "trainFrequency": run["train_frequency"],
            "forceFirstTrain": bool(run["force_first_train"]),
            "createdAt": self._time(created),
            "updatedAt": self._time(updated),
        }

    def on_selection(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        chosen = self.store.one("SELECT * FROM run_selections WHERE project_id = ?", project["id"])
        if chosen is not None:
            run = self.store.one("SELECT * FROM runs WHERE id = ?", chosen["run_id"])
            return json_answer(self._selection_json(run, "SELECTION", chosen["created_at"], chosen["updated_at"]))
        last = self.store.one("SELECT * FROM runs WHERE project_id = ? AND success = 1 ORDER BY id DESC LIMIT 1", project["id"])
        if last is None:
            raise HubError(404, "CURRENT_ROUND_NOT_FOUND", "no run is selected for the current round")
        return json_answer(self._selection_json(last, "LAST_RUN", last["created_at"], last["ended_at"]))

    def on_select_run(self, request: Request, c: str, u: str, p: str) -> Response:
        body = self._body(request)  # type: ignore[attr-defined]
        project = self._project(request, c, u, p, body)  # type: ignore[attr-defined]
        run_id = body.get("runId")
        if isinstance(run_id, str) and run_id.strip().isdigit():
            run_id = int(run_id.strip())
        if not isinstance(run_id, int) or isinstance(run_id, bool):
            raise validation("runId", "must be the id of a run of this project")
        run = self._run_row(project, run_id)
        if run["status"] != "COMPLETED" or not run["success"] or run["prediction_valid"] == 0:
            raise HubError(400, "RUN_NOT_SUCCESSFUL", f"run {run_id} did not complete successfully", id=run_id)
        now = self.store.clock()
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO run_selections (project_id, run_id, created_at, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (project_id) DO UPDATE SET run_id = excluded.run_id, updated_at = excluded.updated_at",
                (project["id"], run_id, now, now),
            )
        chosen = self.store.one("SELECT * FROM run_selections WHERE project_id = ?", project["id"])
        return json_answer(self._selection_json(run, "SELECTION", chosen["created_at"], chosen["updated_at"]))




__all__ = ["RUN_RULES", "RunRoutes", "add_log", "ensure_run_schema", "runtime_definitions", "runtime_option_status"]
