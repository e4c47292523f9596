"""Requests a participant makes and the hub's admin decides: access to a runtime that is not
open to everyone (``POST /v1/runtime-access-requests``, crunch-cli 13.0.1's ``runtime request``)
and a library for the whitelist (``POST /v1/library-requests``, ``whitelist request``), in the
shapes crunch-cli 13.0.1 decodes (``RuntimeAccessRequest``, ``LibraryRequest``).

A request is ``PENDING`` until the admin decides it:

- ``GET /_admin/library-requests``, ``GET /_admin/runtime-access-requests``: every request;
- ``POST /_admin/library-requests/{id}/accept`` ``{"reason"?}``: the library joins the whitelist
  (its name, or its alias when only that was given; the alias as an alias; the GPU need asked
  for, else ``OPTIONAL``); ``.../reject`` ``{"reason"?}``;
- ``POST /_admin/runtime-access-requests/{id}/accept`` ``{"reason"?}``: the runtime becomes
  available to the submission of the request; ``.../reject`` ``{"reason"?, "block"?}``
  (``block``: no further request of that runtime for the project).

``crunch hub requests|accept|reject`` do the same on a hub's folder.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any, Dict, List, Optional

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .http import json_answer
from .runs import runtime_definitions, runtime_option_status
from .store import HubError, Store, refuse_control_characters, validation

SCHEMA = """
CREATE TABLE IF NOT EXISTS runtime_access_requests (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, submission_number INTEGER NOT NULL,
    definition TEXT NOT NULL, justification TEXT, verdict TEXT NOT NULL, verdict_reason TEXT,
    verdict_at REAL, blocked INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS library_requests (
    id INTEGER PRIMARY KEY, competition_id INTEGER NOT NULL, project_id INTEGER, user_id INTEGER NOT NULL,
    name TEXT, alias TEXT, language TEXT NOT NULL, gpu_requirement TEXT, additional_details TEXT,
    verdict TEXT NOT NULL, verdict_reason TEXT, verdict_at REAL, created_at REAL NOT NULL);
"""

KINDS = ("library", "runtime")
LANGUAGES = ("PYTHON", "R")
GPU_REQUIREMENTS = ("OPTIONAL", "RECOMMENDED", "REQUIRED")
LONGEST_NAME = 200
LONGEST_TEXT = 5000

REQUEST_RULES = [
    Rule("/v1/runtime-access-requests", methods=["POST"], endpoint="create_runtime_access_request"),
    Rule("/v1/library-requests", methods=["POST"], endpoint="create_library_request"),
    Rule("/_admin/library-requests", methods=["GET"], endpoint="admin_library_requests"),
    Rule("/_admin/runtime-access-requests", methods=["GET"], endpoint="admin_runtime_access_requests"),
    Rule("/_admin/library-requests/<int:i>/<any(accept, reject):verdict>", methods=["POST"], endpoint="admin_library_request_verdict"),
    Rule("/_admin/runtime-access-requests/<int:i>/<any(accept, reject):verdict>", methods=["POST"], endpoint="admin_runtime_access_request_verdict"),
]


def ensure_request_schema(store: Store) -> None:
    with store._lock:
        store._db.executescript(SCHEMA)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def _text(body: Dict[str, Any], field: str, longest: int, *, name: bool = False) -> Optional[str]:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation(field, "must be a text or null")
    value = value.strip()
    if len(value) > longest:
        raise validation(field, f"must be at most {longest} characters")
    if name:
        refuse_control_characters(field, value, field)
        if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise validation(field, "must be a library name (letters, digits, '.', '_', '-')")
    return value or None


def _request_row(store: Store, kind: str, request_id: Any) -> sqlite3.Row:
    if kind not in KINDS:
        raise HubError(400, "VALIDATION_FAILED", f"kind: must be {' or '.join(KINDS)}")
    table = "library_requests" if kind == "library" else "runtime_access_requests"
    row = store.one(f"SELECT * FROM {table} WHERE id = ?", int(request_id))
    if row is None:
        code = "LIBRARY_REQUEST_NOT_FOUND" if kind == "library" else "RUNTIME_ACCESS_REQUEST_NOT_FOUND"
        raise HubError(404, code, f"no {kind} request #{request_id}")
    return row


def decide(store: Store, kind: str, request_id: Any, accept: bool, reason: Optional[str] = None, block: bool = False) -> sqlite3.Row:
    """Accept or reject the pending request ``request_id`` of ``kind`` (``library`` or ``runtime``);
    an accepted library joins the whitelist. The request's row, decided."""
    row = _request_row(store, kind, request_id)
    if row["verdict"] != "PENDING":
        raise HubError(409, "REQUEST_ALREADY_DECIDED", f"the {kind} request #{row['id']} was already decided: {row['verdict'].lower()}")
    if block and (accept or kind != "runtime"):
        raise validation("block", "only a rejected runtime request blocks further requests")
    verdict = "APPROVED" if accept else "REJECTED"
    now = store.clock()
    with store.tx() as db:
        if kind == "library":
            db.execute("UPDATE library_requests SET verdict = ?, verdict_reason = ?, verdict_at = ? WHERE id = ?", (verdict, reason, now, row["id"]))
            if accept:
                name = row["name"] or row["alias"]
                aliases = [row["alias"]] if row["alias"] and row["alias"] != name else []
                existing = db.execute("SELECT aliases FROM libraries WHERE name = ?", (name,)).fetchone()
                if existing is not None:
                    aliases = sorted(set(json.loads(existing["aliases"])) | set(aliases))
                db.execute(
                    "INSERT OR REPLACE INTO libraries (name, aliases, standard, language, gpu_requirement) VALUES (?, ?, 0, ?, ?)",
                    (name, json.dumps(aliases), row["language"], row["gpu_requirement"] or "OPTIONAL"),
                )
        else:
            db.execute(
                "UPDATE runtime_access_requests SET verdict = ?, verdict_reason = ?, verdict_at = ?, blocked = ? WHERE id = ?",
                (verdict, reason, now, int(block), row["id"]),
            )
    return _request_row(store, kind, row["id"])


def open_store(root: str) -> Store:
    """The store of the hub at ``root`` with its request tables; a folder that holds no hub is
    refused (not created)."""
    import os

    from ..exceptions import ConfigurationError

    if not os.path.isdir(root):
        raise ConfigurationError(f"there is no hub at {root}: give its folder with --root (the one of `crunch hub serve --root`)")
    store = Store(root)
    ensure_request_schema(store)
    return store


def list_requests(store: Store, kind: str) -> List[sqlite3.Row]:
    table = "library_requests" if kind == "library" else "runtime_access_requests"
    return store.all(f"SELECT * FROM {table} ORDER BY id")


class RequestRoutes:
    """Handlers mixed into :class:`crunch.hub.app.HubApp`."""

    store: Store

    def library_request_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "language": row["language"],
            "verdict": row["verdict"],
            "createdAt": self._time(row["created_at"]),  # type: ignore[attr-defined]
            "name": row["name"],
            "alias": row["alias"],
            "gpuRequirement": row["gpu_requirement"],
            "additionalDetails": row["additional_details"],
            "verdictReason": row["verdict_reason"],
            "verdictAt": self._time(row["verdict_at"]),  # type: ignore[attr-defined]
        }

    def runtime_access_request_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        project = self.store.one("SELECT * FROM projects WHERE id = ?", row["project_id"])
        definition = next(d for d in runtime_definitions(project["competition_id"]) if d["name"] == row["definition"])
        return {
            "id": row["id"],
            "definition": definition,
            "verdict": row["verdict"],
            "createdAt": self._time(row["created_at"]),  # type: ignore[attr-defined]
            "justification": row["justification"],
            "verdictReason": row["verdict_reason"],
            "verdictAt": self._time(row["verdict_at"]),  # type: ignore[attr-defined]
            "furtherRequestBlocked": bool(row["blocked"]),
            "submissionNumber": row["submission_number"],
        }

    def _body_id(self, body: Dict[str, Any], field: str) -> int:
        value = body.get(field)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise validation(field, "must be a number")
        return value

    # -- participants ---------------------------------------------------------------------------

    def on_create_runtime_access_request(self, request: Request) -> Response:
        body = self._body(request)  # type: ignore[attr-defined]
        project_id, user_id = self._uploader(request)  # type: ignore[attr-defined]
        asked_project = self._body_id(body, "projectId")
        project = self.store.one("SELECT * FROM projects WHERE id = ?", asked_project)
        if project is None:
            raise HubError(404, "PROJECT_NOT_FOUND", f"no project with id {asked_project}")
        if (project_id is not None and project["id"] != project_id) or project["user_id"] != user_id:
            raise HubError(403, "INVALID_PROJECT_TOKEN", "the push token is not this project's")
        if "competitionId" in body and str(body["competitionId"]) != str(project["competition_id"]):
            competition = self.store.competition(str(body["competitionId"]))
            if competition["id"] != project["competition_id"]:
                raise validation("competitionId", "is not the competition of the project")
        number = self._body_id(body, "submissionNumber")
        if self.store.one("SELECT 1 FROM submissions WHERE project_id = ? AND number = ?", project["id"], number) is None:
            raise HubError(404, "SUBMISSION_NOT_FOUND", f"no submission #{number} in this project")
        name = body.get("definitionName")
        if not isinstance(name, str) or not name.strip():
            raise validation("definitionName", "must be the name of a runtime")
        definition = next((d for d in runtime_definitions(project["competition_id"]) if d["name"] == name), None)
        if definition is None:
            raise HubError(404, "RUNTIME_DEFINITION_NOT_FOUND", f"no runtime named {name[:100]!r}", runtimeDefinitionName=name[:100])
        justification = _text(body, "justification", LONGEST_TEXT)
        status = runtime_option_status(self.store, project["id"], number, definition)
        if status == "REQUESTED":
            raise HubError(409, "PENDING_RUNTIME_ACCESS_REQUEST", f"a request for {name} is pending", runtimeDefinitionName=name)
        if status == "AVAILABLE":
            raise HubError(409, "RUNTIME_ALREADY_AVAILABLE", f"the runtime {name} is already available to submission #{number}")
        if status == "BLOCKED":
            raise HubError(403, "RUNTIME_ACCESS_BLOCKED", f"further requests for the runtime {name} are not allowed for this project")
        with self.store.tx() as db:
            cursor = db.execute(
                "INSERT INTO runtime_access_requests (project_id, submission_number, definition, justification, verdict, created_at)"
                " VALUES (?, ?, ?, ?, 'PENDING', ?)",
                (project["id"], number, name, justification, self.store.clock()),
            )
        return json_answer(self.runtime_access_request_json(_request_row(self.store, "runtime", cursor.lastrowid)))

    def on_create_library_request(self, request: Request) -> Response:
        body = self._body(request)  # type: ignore[attr-defined]
        project_id, user_id = self._uploader(request)  # type: ignore[attr-defined]
        if body.get("competitionId") is None:
            raise validation("competitionId", "must be the id of a competition")
        competition = self.store.competition(str(body["competitionId"]))
        name = _text(body, "name", LONGEST_NAME, name=True)
        alias = _text(body, "alias", LONGEST_NAME, name=True)
        if name is None and alias is None:
            raise validation("name", "a name or an alias is needed")
        language = body.get("language") or "PYTHON"
        if not isinstance(language, str) or language.upper() not in LANGUAGES:
            raise validation("language", f"must be one of {', '.join(LANGUAGES)}")
        language = language.upper()
        gpu = body.get("gpuRequirement")
        if gpu is not None and (not isinstance(gpu, str) or gpu.upper() not in GPU_REQUIREMENTS):
            raise validation("gpuRequirement", f"must be one of {', '.join(GPU_REQUIREMENTS)} or null")
        details = _text(body, "additionalDetails", LONGEST_TEXT)
        asked = {_normalized(n) for n in (name, alias) if n}
        for row in self.store.all("SELECT name, aliases FROM libraries WHERE language = ?", language):
            known = {_normalized(n) for n in [row["name"], *json.loads(row["aliases"])]}
            if asked & known:
                raise HubError(409, "LIBRARY_ALREADY_WHITELISTED", f"{row['name']} is already whitelisted", libraryName=row["name"])
        for row in self.store.all("SELECT * FROM library_requests WHERE verdict = 'PENDING' AND language = ?", language):
            if asked & {_normalized(n) for n in (row["name"], row["alias"]) if n}:
                raise HubError(
                    409, "LIBRARY_REQUEST_ALREADY_PENDING", f"request #{row['id']} for {row['name'] or row['alias']} is already waiting for review"
                )
        with self.store.tx() as db:
            cursor = db.execute(
                "INSERT INTO library_requests (competition_id, project_id, user_id, name, alias, language, gpu_requirement,"
                " additional_details, verdict, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', ?)",
                (competition["id"], project_id, user_id, name, alias, language, gpu.upper() if gpu else None, details, self.store.clock()),
            )
        return json_answer(self.library_request_json(_request_row(self.store, "library", cursor.lastrowid)))

    # -- admin ----------------------------------------------------------------------------------

    def on_admin_library_requests(self, request: Request) -> Response:
        return json_answer([self.library_request_json(row) for row in list_requests(self.store, "library")])

    def on_admin_runtime_access_requests(self, request: Request) -> Response:
        return json_answer([self.runtime_access_request_json(row) for row in list_requests(self.store, "runtime")])

    def _decision(self, request: Request, kind: str, i: int, verdict: str) -> sqlite3.Row:
        body = self._body(request)  # type: ignore[attr-defined]
        reason = _text(body, "reason", LONGEST_TEXT)
        block = body.get("block", False)
        if not isinstance(block, bool):
            raise validation("block", "must be true or false")
        return decide(self.store, kind, i, verdict == "accept", reason, block)

    def on_admin_library_request_verdict(self, request: Request, i: int, verdict: str) -> Response:
        return json_answer(self.library_request_json(self._decision(request, "library", i, verdict)))

    def on_admin_runtime_access_request_verdict(self, request: Request, i: int, verdict: str) -> Response:
        return json_answer(self.runtime_access_request_json(self._decision(request, "runtime", i, verdict)))


__all__ = ["REQUEST_RULES", "RequestRoutes", "decide", "ensure_request_schema", "list_requests", "open_store"]
