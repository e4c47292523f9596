"""The hub's calls after the push: one submission and its files, the project's models, the
submit and compute quotas, targets, metrics, leaderboards and their changes, users; and the
admin call that writes scores (``POST /_admin/scores``) until cloud runs write them.

Shapes are the ones crunch-cli 13.0.1 reads (its ``crunch/api/_domain/``): each answer holds
at least the fields its dataclasses require, in camelCase, with ISO times in UTC.

Scoring model of the local hub: each target of the competition's data release has one metric,
``score`` (higher is better); the leaderboard ranks the projects holding a score for a target
by their latest score, best first. A submission's model is its model files (id = the
submission's id): the public hub deduplicates models across submissions, this one does not.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any, Callable, Dict, List, Optional

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .http import json_answer
from .store import HubError, Store, validation

SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, target TEXT NOT NULL, metric TEXT NOT NULL,
    value REAL NOT NULL, submission_number INTEGER, created_at REAL NOT NULL);
"""

PROJECT = "/v3/competitions/<c>/projects/<u>/<p>"

PLATFORM_RULES = [
    Rule(PROJECT + "/submissions/<s>", methods=["GET"], endpoint="submission"),
    Rule(PROJECT + "/submissions/<s>/files", methods=["GET"], endpoint="submission_files"),
    Rule(PROJECT + "/models", methods=["GET"], endpoint="models"),
    Rule(PROJECT + "/models/<int:m>", methods=["GET"], endpoint="model"),
    Rule(PROJECT + "/models/<int:m>/files", methods=["GET"], endpoint="model_files"),
    Rule(PROJECT + "/quota/submit", methods=["GET"], endpoint="quota_submit"),
    Rule(PROJECT + "/quota/compute", methods=["GET"], endpoint="quota_compute"),
    Rule("/v2/competitions/<c>/leaderboards", methods=["GET"], endpoint="leaderboards"),
    Rule("/v2/competitions/<c>/leaderboards/<lb>", methods=["GET"], endpoint="leaderboard"),
    Rule("/v3/competitions/<c>/leaderboards/<lb>/changes/users/<u>", methods=["GET"], endpoint="leaderboard_changes"),
    Rule("/v2/users/<u>", methods=["GET"], endpoint="user"),
    Rule("/_admin/scores", methods=["POST"], endpoint="admin_scores"),
]

SCORE_UNIT = {"prefix": None, "scale": 4, "suffix": None}
RANK_UNIT = {"prefix": "#", "scale": 0, "suffix": None}
LEADERBOARD_NAME = "default"
COMPUTE_SECONDS = 10 * 3600.0  # compute time of a project a day (cloud runs spend it; admin setting computeSeconds)

COMPETITION_FILTERS = {  # query parameter of GET /v2/competitions -> field of a competition
    "format": "format",
    "mode": "mode",
    "status": "status",
    "external": "external",
    "teamBased": "teamBased",
    "continuous": "continuous",
    "featured": "featured",
    "organizerName": "hostedByName",
}


def ensure_schema(store: Store) -> None:
    with store._lock:
        store._db.executescript(SCHEMA)


def day_start(now: float) -> float:
    """Midnight UTC of the day of ``now``: the daily submission counter resets then."""
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def like(pattern: str, value: str) -> bool:
    """SQL ``LIKE`` without escapes, case-insensitive: ``%`` any run, ``_`` one character."""
    import re

    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, value.lower(), flags=re.DOTALL) is not None


def library_matches(name_filter: str, name: str, aliases: List[str]) -> bool:
    """``name`` filter of ``GET /v2/libraries``: a ``%``/``_`` pattern (as crunch-cli 13's
    ``whitelist search`` sends ``%query%``) matches the name or an alias whole; plain text
    matches a part of the name or an alias."""
    if not name_filter:
        return True
    if "%" in name_filter or "_" in name_filter:
        return any(like(name_filter, candidate) for candidate in (name, *aliases))
    lowered = name_filter.lower()
    return lowered in name.lower() or lowered in [a.lower() for a in aliases]


def _flag(value: Optional[str]) -> Optional[bool]:
    if value is None or value == "":
        return None
    return value.strip().lower() in ("true", "1", "yes")


def filter_competitions(items: List[Dict[str, Any]], args: Any) -> List[Dict[str, Any]]:
    """The competitions matching the filters of ``GET /v2/competitions`` (crunch-cli 13's ``list``)."""
    kept = items
    for parameter, field in COMPETITION_FILTERS.items():
        value = args.get(parameter)
        if value in (None, ""):
            continue
        if parameter in ("external", "teamBased", "continuous", "featured"):
            wanted = _flag(value)
            kept = [c for c in kept if bool(c.get(field)) == wanted]
        else:
            kept = [c for c in kept if str(c.get(field) or "").lower() == value.lower()]
    return kept


class PlatformRoutes:
    """Handlers mixed into :class:`crunch.hub.app.HubApp` (which provides ``store``,
    ``daily_limit``, ``code_limit``, ``model_limit``, ``_project`` and ``_submission_json``)."""

    store: Store
    daily_limit: int
    code_limit: int
    model_limit: int
    _time: Callable[..., Optional[str]]  # HubApp's: a time of the store in the answers' shapes

    # -- helpers --------------------------------------------------------------------------------

    def _submission_row(self, project: sqlite3.Row, identifier: str) -> sqlite3.Row:
        if identifier in ("@last", "@latest"):
            return self.store.submission(project["id"], None)
        if not identifier.isdigit():
            raise validation("submission", f"{identifier!r} is not a submission number or @last")
        return self.store.submission(project["id"], int(identifier))

    def model_json(self, submission: sqlite3.Row) -> Optional[Dict[str, Any]]:
        """The model of a submission (its model files), or ``None`` when it has none."""
        files = [r for r in self.store.submission_files(submission["id"]) if r["kind"] == "MODEL"]
        if not files:
            return None
        return {
            "id": submission["id"],
            "name": f"model of submission #{submission['number']}",
            "totalSize": sum(int(r["size"]) for r in files),
            "createdAt": self._time(submission["created_at"]),
        }

    @staticmethod
    def _file_json(row: sqlite3.Row) -> Dict[str, Any]:
        import mimetypes

        return {"name": row["path"], "size": row["size"], "mimeType": mimetypes.guess_type(row["path"])[0] or "application/octet-stream"}

    def _targets(self, competition: sqlite3.Row) -> List[Dict[str, Any]]:
        """The competition's targets (the store's, as ``GET .../targets`` serves them), each with
        ``"_metric"``: the metric its leaderboard ranks by (the first scoring one)."""
        answer = []
        for row in self.store.targets(competition["id"]):
            target = self._target_json(row)  # type: ignore[attr-defined]
            metrics = self.store.metrics(row["id"])
            ranked = next((m for m in metrics if m["score"]), metrics[0] if metrics else None)
            target["_metric"] = None if ranked is None else self._store_metric_json(ranked)  # type: ignore[attr-defined]
            answer.append(target)
        return answer

    @staticmethod
    def _leaderboard_metric(target: Dict[str, Any]) -> Dict[str, Any]:
        """The metric a target's leaderboard shows, with the target it belongs to."""
        public = {k: v for k, v in target.items() if not k.startswith("_")}
        metric = target.get("_metric") or {
            "id": target["id"], "name": "score", "displayName": "Score", "unit": SCORE_UNIT,
            "weight": 100, "score": True, "multiplier": 1.0,
        }
        return {**metric, "target": public}

    def _latest_scores(self, competition_id: int, target: str) -> List[sqlite3.Row]:
        """Per project of the competition, its two latest scores of ``target`` (current, previous)."""
        return self.store.all(
            "SELECT s.*, p.name AS project_name, p.user_id AS user_id FROM scores s JOIN projects p ON p.id = s.project_id"
            " WHERE p.competition_id = ? AND s.target = ? AND s.metric = 'score' ORDER BY s.project_id, s.id DESC",
            competition_id, target,
        )

    def _ranking(self, competition_id: int, target: str) -> List[Dict[str, Any]]:
        """Positions, best first: ``{"project_id", "project", "user_id", "score", "previous", "rank"}``."""
        by_project: Dict[int, Dict[str, Any]] = {}
        for row in self._latest_scores(competition_id, target):
            entry = by_project.setdefault(
                row["project_id"],
                {"project_id": row["project_id"], "project": row["project_name"], "user_id": row["user_id"], "score": row["value"],
                 "previous": None, "count": 0, "submission": row["submission_number"]},
            )
            entry["count"] += 1
            if entry["count"] == 2:
                entry["previous"] = row["value"]
        positions = sorted(by_project.values(), key=lambda e: (-e["score"], e["project_id"]))
        for index, entry in enumerate(positions):
            entry["rank"] = index + 1
        return positions

    # -- submissions and models ---------------------------------------------------------------

    def on_submission(self, request: Request, c: str, u: str, p: str, s: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        return json_answer(self._submission_json(self._submission_row(project, s)))  # type: ignore[attr-defined]

    def on_submission_files(self, request: Request, c: str, u: str, p: str, s: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        submission = self._submission_row(project, s)
        rows = [r for r in self.store.submission_files(submission["id"]) if r["kind"] == "CODE"]
        return json_answer([self._file_json(r) for r in rows])

    def _model_submission(self, project: sqlite3.Row, m: int) -> sqlite3.Row:
        row = self.store.one("SELECT * FROM submissions WHERE id = ? AND project_id = ?", m, project["id"])
        if row is None or self.model_json(row) is None:
            raise HubError(404, "MODEL_NOT_FOUND", f"no model {m} in this project")
        return row

    def on_models(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        models = [self.model_json(row) for row in self.store.submissions(project["id"])]
        return json_answer([m for m in models if m is not None])

    def on_model(self, request: Request, c: str, u: str, p: str, m: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        return json_answer(self.model_json(self._model_submission(project, m)))

    def on_model_files(self, request: Request, c: str, u: str, p: str, m: int) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        submission = self._model_submission(project, m)
        rows = [r for r in self.store.submission_files(submission["id"]) if r["kind"] == "MODEL"]
        return json_answer([self._file_json(r) for r in rows])

    # -- quotas ---------------------------------------------------------------------------------

    def submissions_today(self, project_id: int) -> int:
        row = self.store.one(
            "SELECT COUNT(*) AS n FROM submissions WHERE project_id = ? AND created_at >= ?", project_id, day_start(self.store.clock())
        )
        return int(row["n"]) if row else 0

    def on_quota_submit(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        return json_answer({
            "codeFiles": {"totalSize": self.code_limit},
            "modelFiles": {"totalSize": self.model_limit},
            "notebookFile": {"totalSize": self.code_limit},
            "predictionFile": {"totalSize": self.code_limit},
            "submissionsPerDay": {"current": self.submissions_today(project["id"]), "maximum": self.daily_limit, "bypass": False},
            "resetsAt": self._time(day_start(self.store.clock()) + 86400),
        })

    def on_quota_compute(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)  # type: ignore[attr-defined]
        available = float(getattr(self, "compute_seconds", COMPUTE_SECONDS))
        used = self.compute_used(project["id"]) if hasattr(self, "compute_used") else 0.0  # type: ignore[attr-defined]
        running = hasattr(self, "compute_used") and self.store.one(
            "SELECT 1 FROM runs WHERE project_id = ? AND status != 'COMPLETED' LIMIT 1", project["id"]
        ) is not None
        return json_answer({"available": available, "remaining": max(0.0, available - used), "used": used, "running": running})

    # -- targets, metrics, leaderboards -------------------------------------------------------

    def _leaderboard_json(self, competition: sqlite3.Row, detailed: bool) -> Dict[str, Any]:
        answer: Dict[str, Any] = {
            "id": competition["id"],
            "name": LEADERBOARD_NAME,
            "displayName": "Leaderboard",
            "default": True,
        }
        if detailed:
            crunch = {"id": competition["id"], "number": 1}
            answer["crunch"] = crunch
            targets = []
            for target in self._targets(competition):
                metric = self._leaderboard_metric(target)
                positions = []
                for entry in self._ranking(competition["id"], target["name"]):
                    user = self.store.user(entry["user_id"])
                    positions.append({
                        "user": {"id": entry["user_id"], "login": user["name"] if user else None},
                        "project": {"id": entry["project_id"], "name": entry["project"]},
                        "team": None,
                        "mean": entry["score"],
                        "best": entry["score"],
                        "rank": entry["rank"],
                        "rewardRank": entry["rank"],
                        "metrics": [{"metricId": metric["id"], "score": entry["score"], "best": entry["score"]}],
                    })
                public = {k: v for k, v in target.items() if not k.startswith("_")}
                targets.append({**public, "crunch": crunch, "metrics": [{"id": metric["id"], "name": metric["name"]}], "positions": positions})
            answer["targets"] = targets
        return answer

    def on_leaderboards(self, request: Request, c: str) -> Response:
        return json_answer([self._leaderboard_json(self.store.competition(c), detailed=False)])

    def _check_leaderboard(self, lb: str) -> None:
        if lb not in ("@default", LEADERBOARD_NAME):
            raise HubError(404, "LEADERBOARD_NOT_FOUND", f"no leaderboard {lb!r}")

    def on_leaderboard(self, request: Request, c: str, lb: str) -> Response:
        self._check_leaderboard(lb)
        return json_answer(self._leaderboard_json(self.store.competition(c), detailed=True))

    def on_leaderboard_changes(self, request: Request, c: str, lb: str, u: str) -> Response:
        """The rank and metrics of one project (``projectIdentifier``) of user ``u``: the current
        value and the one before the latest score, per target where it has a score."""
        self._check_leaderboard(lb)
        competition = self.store.competition(c)
        project_name = request.args.get("projectIdentifier")
        if not project_name:
            raise validation("projectIdentifier", "is required")
        project = self.store.find_project(competition["id"], u, project_name)
        targets = []
        for target in self._targets(competition):
            positions = self._ranking(competition["id"], target["name"])
            mine = next((e for e in positions if e["project_id"] == project["id"]), None)
            if mine is None:
                continue
            previous_rank = None
            if mine["previous"] is not None:
                previous_rank = 1 + sum(
                    1 for e in positions if e["project_id"] != project["id"] and e["score"] > mine["previous"]
                )
            targets.append({
                "id": target["id"],
                "name": target["name"],
                "displayName": target["displayName"],
                "rank": _change(RANK_UNIT, mine["rank"], previous_rank, lower_is_better=True),
                "rewardRank": _change(RANK_UNIT, mine["rank"], previous_rank, lower_is_better=True),
                "mean": _change(SCORE_UNIT, mine["score"], mine["previous"]),
                "metrics": {self._leaderboard_metric(target)["name"]: _change(SCORE_UNIT, mine["score"], mine["previous"])},
            })
        submitted = self.store.one("SELECT 1 FROM submissions WHERE project_id = ? LIMIT 1", project["id"]) is not None
        return json_answer({"submitted": submitted, "targets": targets})

    def on_user(self, request: Request, u: str) -> Response:
        row = self.store.one("SELECT * FROM users WHERE id = ?", int(u)) if u.isdigit() else None
        if row is None:
            row = self.store.one("SELECT * FROM users WHERE name = ?", u)
        if row is None:
            raise HubError(404, "USER_NOT_FOUND", f"no user {u!r}")
        return json_answer({"id": row["id"], "login": row["name"]})

    # -- admin ----------------------------------------------------------------------------------

    def on_admin_scores(self, request: Request) -> Response:
        """``{"competition", "project", "user", "score", "target"?, "submission"?}``: record a
        score of the project (on the first target unless named); answers its position."""
        body = self._body(request)  # type: ignore[attr-defined]
        competition = self.store.competition(str(body.get("competition") or "demo"))
        user = self.store.one("SELECT * FROM users WHERE name = ?", str(body.get("user") or "me"))
        if user is None:
            raise HubError(404, "USER_NOT_FOUND", f"no user {body.get('user')!r}")
        project = self.store.find_project(competition["id"], str(user["id"]), str(body.get("project") or ""))
        score = body.get("score")
        if not isinstance(score, (int, float)) or isinstance(score, bool) or score != score:
            raise validation("score", "must be a number")
        names = [t["name"] for t in self._targets(competition)]
        if not names:
            raise validation("competition", "has no targets to score")
        target = str(body.get("target") or names[0])
        if target not in names:
            raise validation("target", f"must be one of {', '.join(names)}")
        submission = body.get("submission")
        record_score(self.store, int(project["id"]), target, float(score), submission if isinstance(submission, int) else None)
        mine = next(e for e in self._ranking(competition["id"], target) if e["project_id"] == project["id"])
        return json_answer({"target": target, "score": float(score), "rank": mine["rank"]})


def record_score(store: Store, project_id: int, target: str, value: float, submission_number: Optional[int] = None) -> None:
    """Write a score of a project on ``target`` (what a scored run writes; the admin call until then)."""
    ensure_schema(store)
    with store.tx() as db:
        db.execute(
            "INSERT INTO scores (project_id, target, metric, value, submission_number, created_at) VALUES (?, ?, 'score', ?, ?, ?)",
            (project_id, target, value, submission_number, store.clock()),
        )


def _change(unit: Dict[str, Any], current: Any, previous: Any, lower_is_better: bool = False) -> Dict[str, Any]:
    change = None if current is None or previous is None else current - previous
    better = change is not None and ((change < 0) if lower_is_better else (change > 0))
    return {
        "unit": unit,
        "current": current,
        "previous": previous,
        "change": change,
        "changeDirection": "GREEN" if better or not change else "RED",
    }




__all__ = ["PLATFORM_RULES", "PlatformRoutes", "ensure_schema", "filter_competitions", "library_matches", "record_score"]
