"""The hub's WSGI application (Werkzeug) and its threaded server.

Every call of ``docs/protocol.md`` is served here with its exact paths and camelCase fields; answers
carry a superset of the fields the public client reads, in one of two sets of shapes
(:mod:`crunch.hub.shapes`): ``current`` (default), what the platform sends today (times without
a zone, ``columnNames.targets`` a list, the confirmed chunk as a confirm's answer, the
competition listing as a page, quickstarters listed without files), or ``classic``, the older
ones (``crunch hub serve --shapes``, admin setting ``shapes``). Links the hub hands out (data files,
quickstarter and submission files, upload chunk targets) point back at this hub and are
signed by their own ``expires`` + ``signature`` query parameters, never by the push token.

UNSTRUCTURED competitions (:mod:`crunch.hub.unstructured`) add: ``GET /v1/competitions/{c}/targets``
(``?name=``, ``?virtual=``), ``.../targets/{t}``, ``.../targets/{t}/metrics``, ``.../targets/{t}/metrics/{m}``,
``GET /v1/competitions/{c}/metrics`` (each metric with its ``target``), in the shapes crunch-cli 13
decodes; and ``GET /competitions/{name}/scoring/{file}``, the competition's code, public and
unsigned, at the layout of the public code cache (``cache+http://HOST:PORT`` as a competitions source).

Chunk ``PUT`` answers carry ``ETag: "<md5 hex of the chunk>"`` quoted the way S3 does; the
confirm call accepts the hash with or without the quotes.

Admin calls (loopback clients only, with the hub's admin secret in the ``X-Crunch-Hub-Secret``
header: see :mod:`crunch.hub.guard`, which also refuses requests meant for another host name or
sent by another site) under ``/_admin/``:

- ``GET|POST /_admin/faults``: read or set ``{"failNext", "dropAfter", "dropTimes", "delay",
  "delayTimes", "truncateAt", "truncateTimes", "corrupt", "corruptAt", "stallAfter", "stall",
  "errorCode", "errorStatus", "errorMessage", "errorExtra", "errorTimes",
  "pathPrefix", "method", "rateCap", "latency", "ignoreRange", "reset"}`` (see :mod:`crunch.hub.faults`;
  the last three shape the data file and chunk links: a per-connection rate cap, an added latency);
- ``GET /_admin/stats`` (counters, ``pendingUploads``), ``POST /_admin/stats/reset``;
- ``POST /_admin/tokens`` ``{"competition", "project", "user", "token"?}`` -> ``{"token"}`` (``token``: its text, else random);
- ``POST /_admin/api-keys`` ``{"user"}`` -> ``{"key"}``;
- ``POST /_admin/uploads/expire`` ``{"uploadId"?}`` -> ``{"expired": n}``;
- ``POST /_admin/settings`` ``{"dailyLimit", "codeLimit", "modelLimit", "checkLibraries", "urlTtl",
  "filesBaseUrl", "computeSeconds", "runTimeout", "shapes"}`` (``filesBaseUrl``: file and chunk links point
  there instead of at this hub; ``shapes``: ``"current"`` or ``"classic"``, see below);
- ``POST /_admin/competitions/{c}`` ``{"phaseClosed", "dataUnpublished", "hideTrainFrequency", "hideForceFirstTrain"}``;
- ``POST /_admin/scores`` ``{"competition", "project", "user", "score", "target"?}`` (see
  :mod:`crunch.hub.platform`, which serves the calls after the push).
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import json
import os
import socket
import sqlite3
import sys
import time
import traceback
from typing import Any, Dict, Iterable, Iterator, List, Optional
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import Faults, Pacer
from .guard import (
    MAX_JSON_BODY,
    MAX_JSON_DEPTH,
    SECRET_ENVIRON,
    HostGuard,
    check_admin_secret,
    json_depth_exceeds,
    load_or_create_secret,
)
from .platform import (
    COMPUTE_SECONDS,
    PLATFORM_RULES,
    PlatformRoutes,
    ensure_schema,
    filter_competitions,
    library_matches,
)
from .runs import RUN_RULES, RUN_TIMEOUT, RunRoutes, ensure_run_schema
from .shapes import CLASSIC, CURRENT, SHAPES, SHAPES_VARIABLE, check_shapes, column_names_json, time_text
from .store import (
    CODE_LIMIT,
    MESSAGE_LIMIT,
    MODEL_LIMIT,
    URL_TTL,
    HubError,
    Store,
    check_name,
    refuse_control_characters,
    validation,
)

BLOCK = 1024 * 1024
PACED_BLOCK = 64 * 1024  # blocks of a rate-capped link: a smooth pace


class Dropped(ConnectionAbortedError):
    """Raised after the hub cut a connection on purpose (fault injection)."""


class _Cuts:
    """The faults of one answer's body (byte offsets in the body)."""

    def __init__(self, drop: Optional[int], truncate: Optional[int], corrupt: Optional[int], stall: Optional[tuple]) -> None:
        self.drop, self.truncate, self.corrupt, self.stall = drop, truncate, corrupt, stall


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")


def _error(error: HubError) -> Response:
    return _json(error.to_json(), error.status)


def _name(body: Dict[str, Any], field: str, default: str) -> str:
    """A name of an admin call's body (competition, project, user): text of 1 to 200 characters
    without control characters, ``default`` when absent."""
    value = body.get(field)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise validation(field, "must be a text")
    check_name(field, value)
    return value


def _kill(environ: Dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _is_loopback(address: Optional[str]) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


RULES = [
    Rule("/v2/project-tokens/upgrade", methods=["POST"], endpoint="upgrade"),
    Rule("/v2/competitions", methods=["GET"], endpoint="competitions"),
    Rule("/v1/competitions", methods=["GET"], endpoint="competitions"),
    Rule("/v1/competitions/<c>", methods=["GET"], endpoint="competition"),
    Rule("/v2/competitions/<c>", methods=["GET"], endpoint="competition"),
    Rule("/v1/competitions/<c>/rounds", methods=["GET"], endpoint="rounds"),
    Rule("/v1/competitions/<c>/rounds/<r>", methods=["GET"], endpoint="round"),
    Rule("/v2/competitions/<c>/rounds/<r>/phases", methods=["GET"], endpoint="phases"),
    Rule("/v2/competitions/<c>/rounds/<r>/phases/<p>", methods=["GET"], endpoint="phase"),
    Rule("/v2/competitions/<c>/rounds/<r>/phases/<p>/data-release", methods=["GET"], endpoint="data_release"),
    Rule("/v1/competitions/<c>/checks", methods=["GET"], endpoint="checks"),
    Rule("/v1/competitions/<c>/targets", methods=["GET"], endpoint="targets"),
    Rule("/v1/competitions/<c>/targets/<t>", methods=["GET"], endpoint="target"),
    Rule("/v1/competitions/<c>/targets/<t>/metrics", methods=["GET"], endpoint="target_metrics"),
    Rule("/v1/competitions/<c>/targets/<t>/metrics/<m>", methods=["GET"], endpoint="target_metric"),
    Rule("/v1/competitions/<c>/metrics", methods=["GET"], endpoint="metrics"),
    Rule("/competitions/<c>/scoring/<path:f>", methods=["GET", "HEAD"], endpoint="code_file"),
    Rule("/v2/libraries", methods=["GET"], endpoint="libraries"),
    Rule("/v2/competitions/<c>/quickstarters", methods=["GET"], endpoint="quickstarters"),
    Rule("/v2/competitions/<c>/quickstarters/<q>", methods=["GET"], endpoint="quickstarter"),
    Rule("/v3/competitions/<c>/projects/<u>/<p>", methods=["GET"], endpoint="project"),
    Rule("/v4/competitions/<c>/projects/<u>/<p>/clone", methods=["GET"], endpoint="clone"),
    Rule("/v4/competitions/<c>/projects/<u>/<p>/submissions", methods=["POST"], endpoint="create_submission"),
    Rule("/v3/competitions/<c>/projects/<u>/<p>/submissions", methods=["GET"], endpoint="submissions"),
    Rule("/v4/competitions/<c>/projects/<u>/<p>/submissions", methods=["GET"], endpoint="submissions"),
    Rule("/v1/uploads", methods=["POST"], endpoint="create_upload"),
    Rule("/v1/uploads/~/list", methods=["POST"], endpoint="batch_list_uploads"),
    Rule("/v1/uploads/~/delete", methods=["POST"], endpoint="batch_delete_uploads"),
    Rule("/v1/uploads/<u>", methods=["GET"], endpoint="get_upload"),
    Rule("/v1/uploads/<u>", methods=["DELETE"], endpoint="delete_upload"),
    Rule("/v1/uploads/<u>/chunks/<int:n>/request", methods=["GET"], endpoint="chunk_request"),
    Rule("/v1/uploads/<u>/chunks/<int:n>/confirm", methods=["POST"], endpoint="confirm_chunk"),
    Rule("/v1/uploads/<u>/complete", methods=["POST"], endpoint="complete_upload"),
    Rule("/v1/uploads/<u>/abort", methods=["POST"], endpoint="abort_upload"),
    Rule("/_upload/<u>/<int:n>", methods=["PUT"], endpoint="put_chunk"),
    Rule("/data/<path:rel>", methods=["GET", "HEAD"], endpoint="file"),
    Rule("/files/<path:rel>", methods=["GET", "HEAD"], endpoint="file"),
    Rule("/_admin/faults", methods=["GET", "POST"], endpoint="admin_faults"),
    Rule("/_admin/stats", methods=["GET"], endpoint="admin_stats"),
    Rule("/_admin/stats/reset", methods=["POST"], endpoint="admin_stats_reset"),
    Rule("/_admin/tokens", methods=["POST"], endpoint="admin_tokens"),
    Rule("/_admin/api-keys", methods=["POST"], endpoint="admin_api_keys"),
    Rule("/_admin/uploads/expire", methods=["POST"], endpoint="admin_expire_uploads"),
    Rule("/_admin/settings", methods=["POST"], endpoint="admin_settings"),
    Rule("/_admin/competitions/<c>", methods=["POST"], endpoint="admin_competition"),
    Rule("/", methods=["GET"], endpoint="index"),
    *PLATFORM_RULES,  # after the push: submissions, models, quotas, leaderboards (platform.py)
    *RUN_RULES,  # cloud runs, their logs and scores (runs.py; the worker: run_worker.py)
]


class HubApp(RunRoutes, PlatformRoutes):
    """The WSGI application over a :class:`Store` and a :class:`Faults`."""

    def __init__(
        self, store: Store, faults: Optional[Faults] = None, daily_limit: int = 5, shapes: str = CURRENT, admin_secret: Optional[str] = None
    ) -> None:
        self.store = store
        # the admin calls' secret: given, else the one in the root (made on the first start)
        if admin_secret:
            self.admin_secret, self.admin_secret_created = admin_secret, False
        else:
            self.admin_secret, self.admin_secret_created = load_or_create_secret(store.root)
        self.guard = HostGuard()  # the Host and Origin a request may carry (bound by make_server)
        self.shapes = check_shapes(shapes)  # the answers' shapes (crunch.hub.shapes): admin setting "shapes"
        ensure_schema(store)
        ensure_run_schema(store)
        from .run_worker import fail_interrupted_runs

        fail_interrupted_runs(store)
        self.compute_seconds = COMPUTE_SECONDS
        self.run_timeout = RUN_TIMEOUT
        self._run_worker: Optional[Any] = None
        if store.one("SELECT 1 FROM runs WHERE status = 'CREATED' LIMIT 1") is not None:
            self.run_worker().wake()  # runs queued before a restart
        self.faults = faults or Faults()
        self.daily_limit = daily_limit
        self.code_limit = CODE_LIMIT
        self.model_limit = MODEL_LIMIT
        self.check_libraries = False
        self.url_ttl = URL_TTL
        self.files_base_url: Optional[str] = None  # another host for file and chunk links (tests)
        self.closed: Dict[int, Dict[str, bool]] = {}  # competition id -> {"phase": closed?, "data": unpublished?}
        self.url_map = Map([rule.empty() for rule in RULES], strict_slashes=False, merge_slashes=False)

    def stop_runs(self) -> None:
        """Kill the runs under way and stop the worker (before the store closes)."""
        if self._run_worker is not None:
            self._run_worker.stop()

    def run_worker(self) -> Any:
        """The worker of the run queue (started by the first run asked for)."""
        if self._run_worker is None:
            from .run_worker import RunWorker

            self._run_worker = RunWorker(self)
        return self._run_worker

    # -- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            self.guard.check(environ, self.files_base_url)
        except HubError as error:  # another host name (DNS rebinding) or another site
            return _error(error)(environ, start_response)
        decision = self.faults.on_request(request.method, request.path)
        if decision["delay"]:
            time.sleep(decision["delay"])
        if decision["fail"]:
            response = _json({"code": "SERVICE_UNAVAILABLE", "message": "fault injection: try again"}, 503)
            return response(environ, start_response)
        if decision["error"] is not None:
            status, body = decision["error"]
            return _json(body, status)(environ, start_response)
        # faults on a body: the chunk PUT handler takes the ones meant for its request body
        environ["crunch.hub.drop_after"] = decision["drop_after"]
        environ["crunch.hub.corrupt_at"] = decision["corrupt_at"]
        environ["crunch.hub.stall"] = (decision["stall_after"], decision["stall"]) if decision["stall_after"] is not None else None
        response = self.dispatch(request)
        body_faults = request.method != "HEAD"
        drop = environ.get("crunch.hub.drop_after") if body_faults else None
        truncate = decision["truncate_at"] if body_faults else None
        corrupt = environ.get("crunch.hub.corrupt_at") if body_faults else None
        stall = environ.get("crunch.hub.stall") if body_faults else None
        counted = environ.get("crunch.hub.count")
        if drop is None and truncate is None and corrupt is None and stall is None and counted is None:
            return response(environ, start_response)
        length = response.content_length
        if truncate is not None and length is not None and truncate < length:
            response.headers["Content-Length"] = str(truncate)  # a complete answer, of a cut body
        else:
            truncate = None
        if corrupt is not None and corrupt < 0:
            corrupt = (length or 0) // 2
        cuts = _Cuts(drop=drop, truncate=truncate, corrupt=corrupt, stall=stall)
        return self._stream(response(environ, start_response), environ, cuts, counted)

    def _stream(self, body: Iterable[bytes], environ: Dict[str, Any], cuts: "_Cuts", key: Optional[str]) -> Iterator[bytes]:
        """Pass ``body`` on, counting the bytes sent under ``key``, with the faults of ``cuts``:
        cut the connection after ``drop`` bytes, end the body after ``truncate`` bytes, flip
        the byte at ``corrupt``, pause ``stall[1]`` seconds after ``stall[0]`` bytes."""
        sent = 0
        limit = cuts.drop
        if key:
            self.faults.body_began(key)
        try:
            yield b""  # the status line and headers, with the full Content-Length
            for block in body:
                if cuts.stall is not None and sent + len(block) >= cuts.stall[0]:
                    part, block = block[: cuts.stall[0] - sent], block[cuts.stall[0] - sent :]
                    if part:
                        yield part
                        sent += len(part)
                        if key:
                            self.faults.served(key, len(part))
                    self.faults.count_stall()
                    time.sleep(cuts.stall[1])
                    cuts.stall = None
                if cuts.corrupt is not None and sent <= cuts.corrupt < sent + len(block):
                    damaged = bytearray(block)
                    damaged[cuts.corrupt - sent] ^= 0x80
                    block = bytes(damaged)
                    self.faults.count_corrupt()
                if cuts.truncate is not None and sent + len(block) >= cuts.truncate:
                    part = block[: cuts.truncate - sent]
                    if part:
                        yield part
                        if key:
                            self.faults.served(key, len(part))
                    self.faults.count_truncate()
                    return
                if limit is not None and sent + len(block) > limit:
                    part = block[: limit - sent]
                    if part:
                        yield part
                        if key:
                            self.faults.served(key, len(part))
                    self.faults.count_drop()
                    _kill(environ)
                    raise Dropped("fault injection: connection cut")
                sent += len(block)
                if block:
                    yield block
                if key:
                    self.faults.served(key, len(block))
        finally:
            if key:
                self.faults.body_ended(key)
            close = getattr(body, "close", None)
            if close is not None:
                close()

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            refuse_control_characters("path", request.path, "path")  # %00, %0A... in a file's path
            endpoint, args = adapter.match()
            if endpoint.startswith("admin_"):
                if not _is_loopback(request.remote_addr):
                    raise HubError(403, "AUTHORIZATION_DENIED", "admin calls are accepted from loopback only")
                check_admin_secret(self.admin_secret, request.environ.get(SECRET_ENVIRON))
            return getattr(self, "on_" + endpoint)(request, **args)
        except HubError as error:
            return _error(error)
        except NotFound:
            return _error(HubError(404, "NOT_FOUND", f"no such path: {request.path}"))
        except MethodNotAllowed:
            return _error(HubError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}"))
        except HTTPException as error:
            return _error(HubError(error.code or 500, "HTTP_ERROR", error.description or "error"))
        except ConnectionError:
            raise
        except RecursionError:  # a body or path nested past what Python parses
            return _error(HubError(400, "VALIDATION_FAILED", "the request is nested too deeply"))
        except OverflowError:  # an id or number past what the database holds
            return _error(HubError(400, "VALIDATION_FAILED", "a number of the request is out of range"))
        except Exception as error:  # a bug of the hub: keep serving, answer JSON
            if isinstance(error, OSError) and error.errno in (errno.ENAMETOOLONG, errno.EILSEQ):  # a name no file system takes
                return _error(HubError(404, "NOT_FOUND", f"no such path: {request.path[:200]}"))
            print(f"hub: error on {request.method} {request.path}: {error!r}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return _error(HubError(500, "INTERNAL_ERROR", f"the hub failed: {type(error).__name__}"))

    # -- helpers --------------------------------------------------------------------------------

    def _body(self, request: Request) -> Dict[str, Any]:
        """The JSON object of the request's body ({} for none): at most MAX_JSON_BODY bytes,
        MAX_JSON_DEPTH levels, sent as JSON (a form or a text/plain body is refused)."""
        length = request.content_length
        if length is not None and length > MAX_JSON_BODY:
            raise HubError(400, "REQUEST_TOO_LARGE", f"the body has {length} bytes, more than the {MAX_JSON_BODY} a call takes")
        kind = (request.mimetype or "").lower()
        if kind and kind != "application/json" and not kind.endswith("+json"):
            if request.content_length or request.environ.get("wsgi.input_terminated"):
                raise HubError(400, "UNSUPPORTED_CONTENT_TYPE", f"the body is {kind}: send it as application/json")
        data = request.stream.read(MAX_JSON_BODY + 1) if "crunch.hub.body" not in request.environ else request.environ["crunch.hub.body"]
        request.environ["crunch.hub.body"] = data
        if len(data) > MAX_JSON_BODY:
            raise HubError(400, "REQUEST_TOO_LARGE", f"the body is larger than the {MAX_JSON_BODY} bytes a call takes")
        if not data:
            return {}
        try:
            value = json.loads(data)
        except (ValueError, RecursionError):
            raise HubError(400, "VALIDATION_FAILED", "the body is not JSON", fieldErrors=[{"field": "body", "message": "not JSON"}]) from None
        if not isinstance(value, dict):
            raise validation("body", "must be a JSON object")
        if json_depth_exceeds(value):
            raise validation("body", f"is nested deeper than {MAX_JSON_DEPTH} levels")
        return value

    def _time(self, value: Any, shapes: Optional[str] = None) -> Optional[str]:
        """A time of the store as the answers write it (``shapes``: the hub's setting unless given)."""
        return time_text(value, shapes or self.shapes)

    def _link(self, request: Request, path: str) -> str:
        quoted = quote(path)
        base = self.files_base_url or request.host_url
        return f"{base.rstrip('/')}{quoted}?{self.store.signed_query(quoted, self.url_ttl)}"

    def _competition_json(self, row: sqlite3.Row, shapes: Optional[str] = None) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "displayName": row["display_name"],
            "shortDescription": f"{row['display_name']} (local hub)",
            "start": self._time("2024-01-01T00:00:00Z", shapes),
            "end": None,
            "status": row["status"],
            "format": row["format"],
            "mode": "OFFLINE",
            "splitKeyType": row["split_key_type"],
            "external": False,
            "documentationUrl": None,
            "notebookUrl": None,
            "hostedByName": "local hub",
            "prizePoolShortText": "",
            "teamBased": False,
            "onlyTeamLeader": False,
            "maxTeamSize": 1,
            "projectCreationLimit": 100,
            "encryptSubmissions": False,
            "phalaKeyUrl": None,
            **self.store.run_flags(int(row["id"])),
        }

    def _round_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        return {"id": row["id"], "number": row["number"], "start": self._time(row["start"]), "end": self._time(row["end"])}

    def _project_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        user = self.store.user(row["user_id"])
        return {
            "id": row["id"],
            "name": row["name"],
            "userId": row["user_id"],
            "userLogin": user["name"] if user else None,
            "competitionId": row["competition_id"],
            "createdAt": self._time(row["created_at"]),
        }

    def _upload_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        chunks = self.store.upload_chunks(row["id"])
        return {
            "id": row["id"],
            "name": row["name"],
            "size": row["size"],
            "encrypted": False,
            "mediaType": "application/octet-stream",
            "chunked": len(chunks) > 1,
            "status": row["status"],
            "statusMessage": row["status_message"],
            "provider": "AWS_S3",
            "createdAt": self._time(row["created_at"]),
            "expiresAt": self._time(row["expires_at"]),
            "chunks": [
                {
                    "number": c["number"],
                    "offset": c["offset"],
                    "size": c["size"],
                    "last": c["number"] == len(chunks),
                    "completed": c["completed_at"] is not None,
                    "completedAt": self._time(c["completed_at"]),
                }
                for c in chunks
            ],
        }

    def _submission_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "number": row["number"],
            "type": row["type"],
            "message": row["message"],
            "mainFilePath": row["main_file_path"],
            "modelDirectoryPath": row["model_directory_path"],
            "totalSize": row["total_size"],
            "createdAt": self._time(row["created_at"]),
            "model": self.model_json(row),
        }

    def _push_token(self, request: Request, body: Optional[Dict[str, Any]] = None) -> Optional[str]:
        token = request.args.get("pushToken")
        header = request.headers.get("Authorization", "")
        if not token and header.lower().startswith("project-token "):
            token = header.split(None, 1)[1].strip()
        if not token and body:
            value = body.get("pushToken")
            token = value if isinstance(value, str) else None
        return token or None

    def _api_key_user(self, request: Request) -> Optional[sqlite3.Row]:
        header = request.headers.get("Authorization", "")
        if not header.lower().startswith("api-key "):
            return None
        user = self.store.user_of_api_key(header[8:].strip())
        if user is None:
            raise HubError(401, "AUTHORIZATION_DENIED", "the API key is unknown")
        return user

    def _project(self, request: Request, c: str, u: str, p: str, body: Optional[Dict[str, Any]] = None) -> sqlite3.Row:
        """The project of the path, once the push token (or API key) proves access to it."""
        competition = self.store.competition(c)
        user = self._api_key_user(request)
        if user is not None:
            project = self.store.find_project(competition["id"], str(user["id"]) if u == "@me" else u, p)
            if project["user_id"] != user["id"]:
                raise HubError(403, "AUTHORIZATION_DENIED", "this project belongs to another user")
            return project
        owner = self.store.project_of_push_token(self._push_token(request, body))
        if owner is None:
            raise HubError(401, "INVALID_PROJECT_TOKEN", "the push token is missing, unknown or expired")
        project = self.store.find_project(competition["id"], str(owner["user_id"]) if u == "@me" else u, p)
        if project["id"] != owner["id"]:
            raise HubError(403, "INVALID_PROJECT_TOKEN", "the push token is not this project's")
        return project

    def _uploader(self, request: Request) -> tuple:
        """(project id, user id) behind an upload call's push token (an API key: no project)."""
        user = self._api_key_user(request)
        if user is not None:
            return None, int(user["id"])
        owner = self.store.project_of_push_token(self._push_token(request))
        if owner is None:
            raise HubError(401, "INVALID_PROJECT_TOKEN", "the push token is missing, unknown or expired")
        return int(owner["id"]), int(owner["user_id"])

    def _own_upload(self, request: Request, u: str) -> sqlite3.Row:
        """The upload ``u``, once the caller's token proves it is the one that made it."""
        project_id, user_id = self._uploader(request)
        upload = self.store.upload(u)
        if not self.store.owns_upload(upload, project_id, user_id):
            raise HubError(403, "AUTHORIZATION_DENIED", f"the upload {u!r} belongs to another project")
        return upload

    # -- calls of docs/protocol.md --------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        return _json({"name": "crunch local hub", "competitions": [r["name"] for r in self.store.competitions()]})

    def on_upgrade(self, request: Request) -> Response:
        body = self._body(request)
        token = body.get("cloneToken")
        if not isinstance(token, str) or not token:
            raise validation("cloneToken", "is required")
        plain, project = self.store.upgrade_token(token)
        return _json({
            "id": project["id"],
            "plain": plain,
            "type": "PUSH",
            "validUntil": None,
            "project": self._project_json(project),
        })

    def on_competitions(self, request: Request) -> Response:
        items = filter_competitions([self._competition_json(r) for r in self.store.competitions()], request.args)
        # current: a page, always (crunch-cli 13 pages through it); classic: a bare list unless a page is asked for
        if self.shapes != CLASSIC or "page" in request.args or "size" in request.args:
            page, size = self._paging(request)
            return _json(self._page(items, page, size))
        return _json(items)

    def on_competition(self, request: Request, c: str) -> Response:
        return _json(self._competition_json(self.store.competition(c)))

    def on_rounds(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        rows = self.store.all("SELECT * FROM rounds WHERE competition_id = ? ORDER BY number", competition["id"])
        return _json([self._round_json(r) for r in rows])

    def on_round(self, request: Request, c: str, r: str) -> Response:
        competition = self.store.competition(c)
        return _json(self._round_json(self.store.round(competition["id"], r)))

    def _phase_json(self, round_: sqlite3.Row) -> Dict[str, Any]:
        return {"id": round_["id"], "type": "SUBMISSION", "start": self._time(round_["start"]), "end": self._time(round_["end"])}

    def _check_phase(self, p: str) -> None:
        if p.upper().replace("-", "_") not in ("SUBMISSION", "@CURRENT"):
            raise HubError(404, "CURRENT_PHASE_NOT_FOUND" if p.startswith("@") else "PHASE_NOT_FOUND", f"no phase {p!r}")

    def on_phases(self, request: Request, c: str, r: str) -> Response:
        competition = self.store.competition(c)
        return _json([self._phase_json(self.store.round(competition["id"], r))])

    def on_phase(self, request: Request, c: str, r: str, p: str) -> Response:
        competition = self.store.competition(c)
        round_ = self.store.round(competition["id"], r)
        self._check_phase(p)
        return _json(self._phase_json(round_))

    def _state(self, competition: sqlite3.Row) -> Dict[str, bool]:
        return self.closed.get(int(competition["id"]), {})

    def on_data_release(self, request: Request, c: str, r: str, p: str) -> Response:
        competition = self.store.competition(c)
        round_ = self.store.round(competition["id"], r)
        self._check_phase(p)
        if self._state(competition).get("phase") and (p.startswith("@") or r.startswith("@")):
            raise HubError(404, "CURRENT_PHASE_NOT_FOUND", "the competition has no open phase")
        if self._state(competition).get("data"):
            raise HubError(404, "CRUNCH_NOT_FOUND", "no data published for this round yet")
        variant = (request.args.get("sizeVariant") or "DEFAULT").upper()
        if variant not in ("DEFAULT", "SMALL", "LARGE"):
            raise validation("sizeVariant", "must be DEFAULT, SMALL or LARGE")
        release = self.store.data_release(round_["id"])
        files = {}
        for row in self.store.data_files(release["id"], variant):
            files[row["key"]] = {
                "name": row["name"],
                "url": self._link(request, "/data/" + row["path"]),
                "size": row["size"],
                "signed": True,
                "compressed": bool(row["compressed"]),
                "sha256": row["sha256"],
            }
        return _json({
            "id": release["id"],
            "number": release["number"],
            "name": release["name"],
            "embargo": release["embargo"],
            "numberOfFeatures": release["number_of_features"],
            "hash": release["hash"],
            "sizeVariant": variant,
            "columnNames": column_names_json(
                json.loads(release["column_names"]), {t["name"]: int(t["id"]) for t in self.store.targets(competition["id"])}, self.shapes
            ),
            "splits": json.loads(release["splits"]),
            "dataFiles": files,
        })

    def on_checks(self, request: Request, c: str) -> Response:
        return _json(json.loads(self.store.competition(c)["checks"]))

    # -- UNSTRUCTURED competitions: targets, metrics and code ---------------------------------

    def _target_json(self, row: sqlite3.Row) -> Dict[str, Any]:
        return {
            "id": row["id"],
            "name": row["name"],
            "displayName": row["display_name"],
            "virtual": bool(row["virtual"]),
            "primary": bool(row["is_primary"]),
        }

    def _store_metric_json(self, row: sqlite3.Row, target: Optional[sqlite3.Row] = None) -> Dict[str, Any]:
        answer = {
            "id": row["id"],
            "name": row["name"],
            "displayName": row["display_name"],
            "unit": json.loads(row["unit"]),
            "weight": row["weight"],
            "score": bool(row["score"]),
            "multiplier": row["multiplier"],
        }
        if target is not None:
            answer["target"] = self._target_json(target)
        return answer

    def _target(self, c: str, t: str) -> sqlite3.Row:
        competition = self.store.competition(c)
        rows = self.store.targets(competition["id"], t)
        if not rows:
            raise HubError(404, "TARGET_NOT_FOUND", f"no target {t!r} in competition {competition['name']!r}")
        return rows[0]

    def on_targets(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        rows = self.store.targets(competition["id"], request.args.get("name") or None)
        virtual = request.args.get("virtual")
        if virtual is not None and virtual.lower() in ("true", "false"):
            rows = [row for row in rows if bool(row["virtual"]) == (virtual.lower() == "true")]
        return _json([self._target_json(row) for row in rows])

    def on_target(self, request: Request, c: str, t: str) -> Response:
        return _json(self._target_json(self._target(c, t)))

    def on_target_metrics(self, request: Request, c: str, t: str) -> Response:
        return _json([self._store_metric_json(row) for row in self.store.metrics(self._target(c, t)["id"])])

    def on_target_metric(self, request: Request, c: str, t: str, m: str) -> Response:
        for row in self.store.metrics(self._target(c, t)["id"]):
            if row["name"] == m:
                return _json(self._store_metric_json(row))
        raise HubError(404, "METRIC_NOT_FOUND", f"no metric {m!r} for target {t!r}")

    def on_metrics(self, request: Request, c: str) -> Response:
        competition = self.store.competition(c)
        answer = []
        for target in self.store.targets(competition["id"]):
            answer.extend(self._store_metric_json(row, target) for row in self.store.metrics(target["id"]))
        return _json(answer)

    def on_code_file(self, request: Request, c: str, f: str) -> Response:
        """A competition's code file, public and unsigned, at the layout of the public code cache."""
        folder = self.store.code_dir(c).resolve()
        path = (folder / f).resolve()
        if not str(path).startswith(str(folder) + os.sep) or not path.is_file():
            raise HubError(404, "NOT_FOUND", f"no file {f!r} in the code of competition {c!r}")
        response = Response(path.read_bytes(), mimetype="text/x-python" if path.suffix == ".py" else "application/octet-stream")
        response.headers["Cache-Control"] = "no-cache"
        return response

    def _paging(self, request: Request) -> tuple:
        try:
            page = int(request.args.get("page", 0))
            size = int(request.args.get("size", 100))
        except ValueError:
            raise validation("page", "page and size must be integers") from None
        if page < 0 or size < 1 or size > 10_000:
            raise validation("size", "page >= 0 and 1 <= size <= 10000")
        return page, size

    def _page(self, items: List[Any], page: int, size: int) -> Dict[str, Any]:
        return {
            "content": items[page * size : (page + 1) * size],
            "pageNumber": page,
            "pageSize": size,
            "totalElements": len(items),
            "totalPages": -(-len(items) // size),
        }

    def on_libraries(self, request: Request) -> Response:
        page, size = self._paging(request)
        language = (request.args.get("language") or "PYTHON").upper()
        name = (request.args.get("name") or "").strip()
        standard = (request.args.get("standard") or "").strip().lower()
        gpu = (request.args.get("gpuRequirement") or "").strip().upper()
        rows = self.store.all("SELECT * FROM libraries WHERE language = ? ORDER BY name", language)
        items = []
        for row in rows:
            aliases = json.loads(row["aliases"])
            if not library_matches(name, row["name"], aliases):
                continue
            if standard in ("true", "false") and bool(row["standard"]) != (standard == "true"):
                continue
            if gpu and row["gpu_requirement"] != gpu:
                continue
            items.append({
                "id": row["id"],
                "name": row["name"],
                "aliases": aliases,
                "standard": bool(row["standard"]),
                "freeze": not row["standard"],
                "language": row["language"],
                "gpuRequirement": row["gpu_requirement"],
            })
        return _json(self._page(items, page, size))

    def _quickstarter_json(self, request: Request, row: sqlite3.Row, files: bool = True) -> Dict[str, Any]:
        answer: Dict[str, Any] = {
            "id": row["id"],
            "name": row["name"],
            "title": row["title"],
            "authors": [{"name": "local hub", "link": None}],
            "language": "PYTHON",
            "notebook": bool(row["notebook"]),
        }
        if files:
            answer["files"] = [
                {"name": f["name"], "url": self._link(request, "/files/" + f["path"]), "githubUrl": ""}
                for f in json.loads(row["files"])
            ]
        return answer

    def on_quickstarters(self, request: Request, c: str) -> Response:
        """The competition's quickstarters; their files only in the classic shapes (current: ask for one)."""
        competition = self.store.competition(c)
        rows = self.store.all("SELECT * FROM quickstarters WHERE competition_id = ? ORDER BY id", competition["id"])
        return _json([self._quickstarter_json(request, row, files=self.shapes == CLASSIC) for row in rows])

    def on_quickstarter(self, request: Request, c: str, q: str) -> Response:
        competition = self.store.competition(c)
        for row in self.store.all("SELECT * FROM quickstarters WHERE competition_id = ? ORDER BY id", competition["id"]):
            if q in (row["name"], str(row["id"])):
                return _json(self._quickstarter_json(request, row))
        raise HubError(404, "QUICKSTARTER_NOT_FOUND", f"no quickstarter {q!r}")

    def on_project(self, request: Request, c: str, u: str, p: str) -> Response:
        return _json(self._project_json(self._project(request, c, u, p)))

    def on_clone(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)
        number_arg = request.args.get("submissionNumber")
        number: Optional[int] = None
        if number_arg not in (None, "", "null", "None"):
            try:
                number = int(number_arg)
            except ValueError:
                raise validation("submissionNumber", "must be an integer") from None
        include_model = (request.args.get("includeModel") or "true").lower() not in ("false", "0", "no")
        submission = self.store.submission(project["id"], number)
        model_dir = submission["model_directory_path"].strip("/") or "resources"
        answer: Dict[str, str] = {}
        for row in self.store.submission_files(submission["id"]):
            if row["kind"] == "MODEL":
                if not include_model:
                    continue
                path = f"{model_dir}/{row['path']}"
            else:
                path = row["path"]
            answer[path] = self._link(request, f"/files/uploads/{row['upload_id']}/blob")
        return _json(answer)

    def on_create_submission(self, request: Request, c: str, u: str, p: str) -> Response:
        body = self._body(request)
        project = self._project(request, c, u, p, body)
        if self._state(self.store.competition(c)).get("phase"):
            raise HubError(403, "RESTRICTED_PHASE_ACTION", "submissions are closed in the current phase")
        message = body.get("message", "")
        if not isinstance(message, str):
            raise validation("message", "must be a string")
        if len(message) > MESSAGE_LIMIT:
            raise validation("message", f"must be at most {MESSAGE_LIMIT} characters")
        main_file_path = body.get("mainFilePath") or "main.py"
        model_directory_path = body.get("modelDirectoryPath") or "resources"
        type_ = body.get("type") or "CODE"
        code_files = body.get("codeFiles") or {}
        model_files = body.get("modelFiles") or {}
        for field, value in (("codeFiles", code_files), ("modelFiles", model_files)):
            if not isinstance(value, dict):
                raise validation(field, "must be an object of path: upload id")
        if not isinstance(main_file_path, str) or not isinstance(model_directory_path, str):
            raise validation("mainFilePath", "mainFilePath and modelDirectoryPath must be strings")
        refuse_control_characters("mainFilePath", main_file_path, "main file")
        refuse_control_characters("modelDirectoryPath", model_directory_path, "model directory")
        if type_ == "CODE" and code_files and main_file_path not in code_files:
            raise validation("mainFilePath", f"{main_file_path} is not among the code files")
        row = self.store.create_submission(
            project,
            message=message,
            main_file_path=main_file_path,
            model_directory_path=model_directory_path,
            type_=type_,
            code_files={str(k): str(v) for k, v in code_files.items()},
            model_files={str(k): str(v) for k, v in model_files.items()},
            daily_limit=self.daily_limit,
            code_limit=self.code_limit,
            model_limit=self.model_limit,
            check_libraries=self.check_libraries,
        )
        return _json(self._submission_json(row), 200)

    def on_submissions(self, request: Request, c: str, u: str, p: str) -> Response:
        project = self._project(request, c, u, p)
        # oldest first, as the public hub lists them (crunch-cli 13 reverses the list to show the newest first)
        rows = sorted(self.store.submissions(project["id"]), key=lambda r: r["number"])
        return _json([self._submission_json(r) for r in rows])

    # -- uploads --------------------------------------------------------------------------------

    def on_create_upload(self, request: Request) -> Response:
        project_id, user_id = self._uploader(request)
        body = self._body(request)
        name, size = body.get("name"), body.get("size")
        if not isinstance(name, str) or not name:
            raise validation("name", "is required")
        refuse_control_characters("name", name, "file name")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise validation("size", "must be a non-negative integer")
        if body.get("encrypted"):
            raise validation("encrypted", "the local hub does not take encrypted uploads")
        preferred = body.get("preferredChunkSize")
        if preferred is not None and (not isinstance(preferred, int) or preferred < 1):
            raise validation("preferredChunkSize", "must be a positive integer")
        if size > 1 << 50:
            raise validation("size", "is larger than any file the hub takes")
        if len(name) > 4096:
            raise validation("name", "is longer than 4096 characters")
        upload_id = self.store.create_upload(project_id, name, size, preferred, user_id=user_id)
        return _json(self._upload_json(self.store.upload(upload_id)))

    def on_get_upload(self, request: Request, u: str) -> Response:
        return _json(self._upload_json(self._own_upload(request, u)))

    def _upload_ids(self, request: Request) -> List[str]:
        ids = self._body(request).get("uploadIds") or []
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
            raise validation("uploadIds", "must be a list of upload ids")
        if len(ids) > 10_000:
            raise validation("uploadIds", "at most 10000 ids in one call")
        return [str(i) for i in ids]

    def _owned(self, request: Request, ids: List[str]) -> Dict[str, Optional[sqlite3.Row]]:
        """Each id's upload when the caller made it, else None (unknown, or another project's)."""
        project_id, user_id = self._uploader(request)
        found: Dict[str, Optional[sqlite3.Row]] = {}
        for upload_id in ids:
            try:
                row = self.store.upload(upload_id)
            except HubError:
                row = None
            found[upload_id] = row if row is not None and self.store.owns_upload(row, project_id, user_id) else None
        return found

    def on_batch_list_uploads(self, request: Request) -> Response:
        owned = self._owned(request, self._upload_ids(request))
        return _json({"uploads": {i: None if row is None else self._upload_json(row) for i, row in owned.items()}})

    def on_batch_delete_uploads(self, request: Request) -> Response:
        owned = self._owned(request, self._upload_ids(request))
        return _json({"uploads": {i: "DELETED" if row is not None and self.store.delete_upload(i) else "NOT_FOUND" for i, row in owned.items()}})

    def on_chunk_request(self, request: Request, u: str, n: int) -> Response:
        self._own_upload(request, u)
        upload, chunk = self.store.chunk(u, n)
        return _json({"method": "PUT", "url": self._link(request, f"/_upload/{u}/{n}"), "headers": {}})

    def on_confirm_chunk(self, request: Request, u: str, n: int) -> Response:
        self._own_upload(request, u)
        value = self._body(request).get("hash")
        if not isinstance(value, str) or not value:
            raise validation("hash", "is required (the ETag of the chunk's PUT)")
        self.store.confirm_chunk(u, n, value)
        answer = self._upload_json(self.store.upload(u))
        chunk = next(c for c in answer["chunks"] if c["number"] == n)
        if self.shapes != CLASSIC:  # current: the confirmed chunk
            return _json(chunk)
        # classic: the upload, plus the confirmed chunk's own fields (read by other clients)
        answer.update({k: chunk[k] for k in ("number", "offset", "last", "completed", "completedAt")})
        return _json(answer)

    def on_complete_upload(self, request: Request, u: str) -> Response:
        self._own_upload(request, u)
        self.store.complete_upload(u)
        return _json(self._upload_json(self.store.upload(u)))

    def on_abort_upload(self, request: Request, u: str) -> Response:
        self._own_upload(request, u)
        self.store.abort_upload(u)
        return _json(self._upload_json(self.store.upload(u)))

    def on_delete_upload(self, request: Request, u: str) -> Response:
        row = self._upload_json(self._own_upload(request, u))
        self.store.delete_upload(u)
        row["status"] = "DELETED"
        return _json(row)

    def on_put_chunk(self, request: Request, u: str, n: int) -> Response:
        self.store.check_signature(quote(request.path), request.args.get("expires"), request.args.get("signature"))
        upload, chunk = self.store.chunk(u, n)
        length = request.content_length
        if length is None:
            if request.environ.get("wsgi.input_terminated"):  # chunked transfer encoding
                length = chunk["size"]
            else:
                length = 0
        if length != chunk["size"]:
            raise validation("body", f"chunk {n} is {chunk['size']} bytes, the body has {length}")
        rate, latency, _ = self.faults.link_shape()
        if latency:
            time.sleep(latency)
        pacer = Pacer(rate)
        drop = request.environ.get("crunch.hub.drop_after")
        stall = request.environ.get("crunch.hub.stall")
        corrupt = request.environ.get("crunch.hub.corrupt_at") is not None
        # the drop or stall (if any) is for this request body; a corruption, for the ETag
        request.environ["crunch.hub.drop_after"] = request.environ["crunch.hub.stall"] = None
        request.environ["crunch.hub.corrupt_at"] = None
        stream = request.environ["wsgi.input"]
        md5 = hashlib.md5()
        # every chunk is written in place, at its offset of the upload's file: `complete` then
        # only checks and renames, whatever the number of chunks
        self.store.chunk_receiving(u, n)
        part = self.store.part_path(u)
        part.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT, 0o644)
        received = 0
        try:
            while received < length:
                want = min(PACED_BLOCK if rate else BLOCK, length - received)
                if stall is not None:
                    if received >= stall[0]:
                        self.faults.count_stall()
                        time.sleep(stall[1])
                        stall = None
                    else:
                        want = min(want, stall[0] - received)
                if drop is not None:
                    want = min(want, drop - received)
                    if want <= 0:
                        self.faults.count_drop()
                        _kill(request.environ)
                        raise Dropped("fault injection: request body cut")
                block = stream.read(want)
                if not block:
                    raise HubError(400, "VALIDATION_FAILED", "the body ended early", fieldErrors=[{"field": "body", "message": "too short"}])
                self.faults.received(request.path, len(block))
                md5.update(block)
                os.pwrite(fd, block, chunk["offset"] + received)
                received += len(block)
                pacer.wait(len(block))
            etag = md5.hexdigest()
        finally:
            os.close(fd)
        self.store.chunk_received(u, n, etag)
        response = Response(b"", status=200)
        if corrupt:  # the ETag arrives damaged: the confirm will not match
            self.faults.count_corrupt()
            response.headers["ETag"] = f'"{etag[:-1]}{"0" if etag[-1] != "0" else "1"}"'
        else:
            response.headers["ETag"] = f'"{etag}"'
        return response

    # -- files ----------------------------------------------------------------------------------

    def on_file(self, request: Request, rel: str) -> Response:
        self.store.check_signature(quote(request.path), request.args.get("expires"), request.args.get("signature"))
        path = self.store.path_of(rel)
        if not path.is_file():
            raise HubError(404, "NOT_FOUND", "no such file")
        info = path.stat()
        size = info.st_size
        etag = f'"{size:x}-{info.st_mtime_ns:x}"'
        rate, latency, ignore_range = self.faults.link_shape()
        if latency:
            time.sleep(latency)
        start, stop, status = 0, size, 200
        headers = {
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "ETag": etag,
            "Last-Modified": http_date(info.st_mtime),
        }
        header = request.headers.get("Range")
        if ignore_range:  # a server without range support: the whole file, every time
            del headers["Accept-Ranges"]
            header = None
        if_range = request.headers.get("If-Range")
        if header and if_range and if_range != etag and if_range != headers["Last-Modified"]:
            header = None  # the file changed since the first part: send it whole
        if header:
            parsed = request.range
            if parsed is not None and len(parsed.ranges) == 1:
                bounds = parsed.range_for_length(size)
                if bounds is None:
                    response = _json({"code": "RANGE_NOT_SATISFIABLE", "message": f"the file has {size} bytes"}, 416)
                    response.headers["Content-Range"] = f"bytes */{size}"
                    return response
                start, stop = bounds
                status = 206
                headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        headers["Content-Length"] = str(stop - start)
        request.environ["crunch.hub.count"] = request.path

        def body() -> Iterator[bytes]:
            pacer = Pacer(rate)
            step = PACED_BLOCK if rate else BLOCK
            with open(path, "rb") as fd:
                fd.seek(start)
                left = stop - start
                while left > 0:
                    block = fd.read(min(step, left))
                    if not block:
                        break
                    left -= len(block)
                    pacer.wait(len(block))  # the block is sent when its last byte is due
                    yield block

        response = Response(body(), status=status, headers=headers, direct_passthrough=True)
        return response

    # -- admin ----------------------------------------------------------------------------------

    def on_admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            self.faults.configure(self._body(request))
        return _json(self.faults.describe())

    def on_admin_stats(self, request: Request) -> Response:
        stats = self.faults.stats()
        stats["pendingUploads"] = self.store.pending_uploads()
        stats["uploads"] = {
            row["status"]: row["n"] for row in self.store.all("SELECT status, COUNT(*) AS n FROM uploads GROUP BY status")
        }
        return _json(stats)

    def on_admin_stats_reset(self, request: Request) -> Response:
        self.faults.reset_counters()
        return _json(self.faults.stats())

    def on_admin_tokens(self, request: Request) -> Response:
        body = self._body(request)
        value = body.get("token")
        if value is not None and (not isinstance(value, str) or len(value) < 8 or not value.isprintable() or " " in value):
            return _error(HubError(400, "VALIDATION_FAILED", "token: a text of 8 characters or more, without spaces"))
        token = self.store.mint_clone_token(
            _name(body, "competition", "demo"), _name(body, "project", "p1"), _name(body, "user", "me"), value=value
        )
        return _json({"token": token})

    def on_admin_api_keys(self, request: Request) -> Response:
        body = self._body(request)
        return _json({"key": self.store.mint_api_key(_name(body, "user", "me"))})

    def on_admin_expire_uploads(self, request: Request) -> Response:
        body = self._body(request)
        return _json({"expired": self.store.expire_uploads(body.get("uploadId"))})

    def on_admin_competition(self, request: Request, c: str) -> Response:
        """Close a competition's phase (``{"phaseClosed": true}``: no current phase, no submission)
        or withdraw its data (``{"dataUnpublished": true}``), in memory; hide the run options
        (``{"hideTrainFrequency": true}``, ``{"hideForceFirstTrain": true}``), kept in the database."""
        competition = self.store.competition(c)
        body = self._body(request)
        for name in ("phaseClosed", "dataUnpublished", "hideTrainFrequency", "hideForceFirstTrain"):
            if name in body and not isinstance(body[name], bool):
                raise validation(name, "must be true or false")
        state = self.closed.setdefault(int(competition["id"]), {})
        if "phaseClosed" in body:
            state["phase"] = body["phaseClosed"]
        if "dataUnpublished" in body:
            state["data"] = body["dataUnpublished"]
        flags = self.store.set_run_flags(
            int(competition["id"]),
            hide_train_frequency=body.get("hideTrainFrequency"),
            hide_force_first_train=body.get("hideForceFirstTrain"),
        )
        return _json({"phaseClosed": state.get("phase", False), "dataUnpublished": state.get("data", False), **flags})

    def on_admin_settings(self, request: Request) -> Response:
        """Settings of this running hub (in memory): ``dailyLimit``, ``codeLimit``, ``modelLimit``
        (bytes), ``checkLibraries`` (bool), ``urlTtl`` (seconds a signed link stays valid),
        ``filesBaseUrl`` (file and chunk links point at that base URL: a proxy on another host),
        ``computeSeconds`` (a project's compute time a day), ``runTimeout`` (seconds a cloud run may last),
        ``shapes`` (``"current"`` or ``"classic"``: the answers' shapes, see :mod:`crunch.hub.shapes`)."""
        body = self._body(request)
        if "shapes" in body and body["shapes"] not in SHAPES:
            raise validation("shapes", f"must be {' or '.join(repr(s) for s in SHAPES)}")
        fields = (
            ("dailyLimit", "daily_limit", int),
            ("codeLimit", "code_limit", int),
            ("modelLimit", "model_limit", int),
            ("checkLibraries", "check_libraries", bool),
            ("urlTtl", "url_ttl", float),
            ("filesBaseUrl", "files_base_url", lambda value: str(value) if value else None),
            ("computeSeconds", "compute_seconds", float),
            ("runTimeout", "run_timeout", float),
            ("shapes", "shapes", str),
        )
        values = {}
        for field, attribute, kind in fields:  # every value checked before any is set
            if field in body:
                value = body[field]
                if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value):
                    raise validation(field, "must be a number")
                if kind is bool and not isinstance(value, bool):
                    raise validation(field, "must be true or false")
                if field == "filesBaseUrl" and value and (not isinstance(value, str) or not value.startswith(("http://", "https://"))):
                    raise validation(field, "must be an http(s) URL or null")
                try:
                    values[attribute] = kind(value)  # type: ignore[operator]
                except (OverflowError, ValueError):
                    raise validation(field, "is out of range") from None
        for attribute, value in values.items():
            setattr(self, attribute, value)
        return _json({field: getattr(self, attribute) for field, attribute, _ in fields})


def make_app(
    root: str, *, daily_limit: int = 5, faults: Optional[Faults] = None, seed: bool = True, shapes: Optional[str] = None
) -> HubApp:
    """The hub's WSGI app over ``root`` (seeded with the demo competitions on first start);
    ``shapes``: ``current`` or ``classic`` (default: ``CRUNCH_HUB_SHAPES``, else ``current``)."""
    chosen = check_shapes(shapes or os.environ.get(SHAPES_VARIABLE) or CURRENT)
    store = Store(root)
    if seed:
        from .seed import seed_if_needed

        seed_if_needed(store)
    return HubApp(store, faults=faults, daily_limit=daily_limit, shapes=chosen)


__all__ = ["HubApp", "make_app"]
