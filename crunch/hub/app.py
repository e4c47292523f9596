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
import json
import os
import sqlite3
import sys
import time
import traceback
from typing import Any, Dict, Iterable, Iterator, Optional
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .admin import AdminRoutes
from .competitions import CompetitionRoutes
from .faults import Faults
from .files import FileRoutes
from .guard import (
    MAX_JSON_BODY,
    MAX_JSON_DEPTH,
    SECRET_ENVIRON,
    HostGuard,
    check_admin_secret,
    json_depth_exceeds,
    load_or_create_secret,
)
from .http import (
    Cuts,
    Dropped,
    cut_connection,
    error_answer,
    is_loopback,
    json_answer,
)
from .platform import (
    COMPUTE_SECONDS,
    PLATFORM_RULES,
    PlatformRoutes,
    ensure_schema,
)
from .projects import ProjectRoutes
from .requests import REQUEST_RULES, RequestRoutes, ensure_request_schema
from .runs import RUN_RULES, RUN_TIMEOUT, RunRoutes, ensure_run_schema
from .shapes import CURRENT, SHAPES_VARIABLE, check_shapes, time_text
from .store import (
    CODE_LIMIT,
    MODEL_LIMIT,
    URL_TTL,
    HubError,
    Store,
    refuse_control_characters,
    validation,
)
from .uploads import UploadRoutes

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
    *REQUEST_RULES,  # runtime access and library requests, decided by the admin (requests.py)
]


class HubApp(CompetitionRoutes, ProjectRoutes, UploadRoutes, FileRoutes, AdminRoutes, RunRoutes, RequestRoutes, PlatformRoutes):
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
        ensure_request_schema(store)
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
            return error_answer(error)(environ, start_response)
        decision = self.faults.on_request(request.method, request.path)
        if decision["delay"]:
            time.sleep(decision["delay"])
        if decision["fail"]:
            response = json_answer({"code": "SERVICE_UNAVAILABLE", "message": "fault injection: try again"}, 503)
            return response(environ, start_response)
        if decision["error"] is not None:
            status, body = decision["error"]
            return json_answer(body, status)(environ, start_response)
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
        cuts = Cuts(drop=drop, truncate=truncate, corrupt=corrupt, stall=stall)
        return self._stream(response(environ, start_response), environ, cuts, counted)

    def _stream(self, body: Iterable[bytes], environ: Dict[str, Any], cuts: "Cuts", key: Optional[str]) -> Iterator[bytes]:
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
                    cut_connection(environ)
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
                if not is_loopback(request.remote_addr):
                    raise HubError(403, "AUTHORIZATION_DENIED", "admin calls are accepted from loopback only")
                check_admin_secret(self.admin_secret, request.environ.get(SECRET_ENVIRON))
            return getattr(self, "on_" + endpoint)(request, **args)
        except HubError as error:
            return error_answer(error)
        except NotFound:
            return error_answer(HubError(404, "NOT_FOUND", f"no such path: {request.path}"))
        except MethodNotAllowed:
            return error_answer(HubError(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}"))
        except HTTPException as error:
            return error_answer(HubError(error.code or 500, "HTTP_ERROR", error.description or "error"))
        except ConnectionError:
            raise
        except RecursionError:  # a body or path nested past what Python parses
            return error_answer(HubError(400, "VALIDATION_FAILED", "the request is nested too deeply"))
        except OverflowError:  # an id or number past what the database holds
            return error_answer(HubError(400, "VALIDATION_FAILED", "a number of the request is out of range"))
        except Exception as error:  # a bug of the hub: keep serving, answer JSON
            if isinstance(error, OSError) and error.errno in (errno.ENAMETOOLONG, errno.EILSEQ):  # a name no file system takes
                return error_answer(HubError(404, "NOT_FOUND", f"no such path: {request.path[:200]}"))
            print(f"hub: error on {request.method} {request.path}: {error!r}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return error_answer(HubError(500, "INTERNAL_ERROR", f"the hub failed: {type(error).__name__}"))

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
            "submitterImprint": row["submitter_imprint"] if "submitter_imprint" in row.keys() else None,
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
        return json_answer({"name": "crunch local hub", "competitions": [r["name"] for r in self.store.competitions()]})

    # -- UNSTRUCTURED competitions: targets, metrics and code ---------------------------------

    # -- uploads --------------------------------------------------------------------------------

    # -- files ----------------------------------------------------------------------------------

    # -- admin ----------------------------------------------------------------------------------

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
