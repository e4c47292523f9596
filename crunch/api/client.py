"""A thin client of the hub protocol (docs/platform-answers.md) over one ``requests.Session``.

It joins paths to the base URL, authenticates with the push token (query ``pushToken``) or
an API key (``Authorization: API-Key``), retries idempotent calls on connection errors and
502/503/504 with exponential backoff, and maps every error answer to a typed exception.
The token is only ever sent to the API base URL's origin (scheme, host, port), and never
appears in a message: a call that carries a token (query, body or header) does not follow a
redirect to another origin (:class:`RedirectRefused`); other redirects are followed, at most
:data:`MAX_REDIRECTS`, and only to http(s). Answers are bounded in time (headers and body,
:mod:`crunch.api.deadline`), in size (:data:`~crunch.api.deadline.MAX_ANSWER` decoded) and in
depth (:data:`~crunch.core.jsonshape.MAX_DEPTH`).
"""

from __future__ import annotations

import json as json_module
import os
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import requests

from .. import exceptions as exc
from ..__version__ import __version__
from ..core.jsonshape import MAX_DEPTH, Node, TooDeep, load_json, parse
from ..core.secrets import contains_secret, mask_url, register
from . import domain, models
from .deadline import (
    MAX_ANSWER,
    AnswerTooLarge,
    BadBody,
    DeadlineExceeded,
    answer_deadline,
    answer_seconds,
    bounded_session,
    read_body,
)
from .errors import error_from_response

T = TypeVar("T")

RETRY_STATUSES = frozenset({502, 503, 504})  # API calls: a gateway's answer, not the hub's
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
USER_AGENT = f"crunch-cli/{__version__}"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5  # a chain longer than this is a loop or a trap


class RedirectRefused(exc.CrunchError):
    """A redirect crunch does not follow: to another origin with a token, to an address
    that is not http(s), or one too many."""


def new_session() -> requests.Session:
    """A session with crunch's User-Agent whose answers are bounded (:func:`~crunch.api.deadline.bounded_session`)."""
    session = bounded_session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def origin(url: str) -> Tuple[str, str, Optional[int]]:
    """(scheme, host, port) of ``url``, the port spelled out (80, 443) when implied."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def shown_host(url: str) -> str:
    """The host (and port) of ``url`` for a message: no user, password, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        port = parts.port
    except ValueError:
        port = None
    text = f"{host}:{port}" if port else host
    return "".join(c if c.isprintable() and not c.isspace() else f"\\x{ord(c):02x}" for c in text)[:100]


def send_following(
    session: requests.Session,
    method: str,
    url: str,
    *,
    check: Optional[Callable[[str, str], None]] = None,
    on_resend: Optional[Callable[[], None]] = None,
    **kwargs: Any,
) -> requests.Response:
    """``session.request`` following redirects one by one: each new address must be http(s)
    (else :class:`RedirectRefused`), is given to ``check(current, new)`` (which raises to refuse
    it) and at most :data:`MAX_REDIRECTS` are followed. A 303 (and a 301/302 after a POST)
    continues as a GET without a body; a 307/308 sends the same method and body again
    (``on_resend`` is called first). ``params`` go with the first request only (the new
    address is taken as it is given)."""
    kwargs["allow_redirects"] = False
    for _ in range(MAX_REDIRECTS + 1):
        response = session.request(method, url, **kwargs)
        location = response.headers.get("Location")
        if response.status_code not in REDIRECT_STATUSES or not location:
            return response
        response.close()
        target = urljoin(url, location.strip())
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            shown = "".join(c for c in scheme if c.isprintable())[:20] or "relative"
            raise RedirectRefused(
                f"{shown_host(url)} redirected to a {shown}: address, which is not http(s): "
                "the redirect was not followed"
            )
        if check is not None:
            check(url, target)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method = "GET" if method != "HEAD" else method
            for key in ("json", "data", "files"):
                kwargs.pop(key, None)
        elif on_resend is not None:
            on_resend()
        kwargs.pop("params", None)
        url = target
    raise RedirectRefused(f"{shown_host(url)} redirected more than {MAX_REDIRECTS} times: the redirects were not followed")


def transient_status(status: int) -> bool:
    """An answer of a file link (data download, chunk upload) worth trying again: throttling
    (429) or any server-side failure (5xx) of the storage or of a gateway in front of it."""
    return status == 429 or 500 <= status <= 599


def _env_float(name: str, default: float) -> float:
    """A number from the environment; a value that is not a finite, non-negative number is ignored."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if 0 <= value < 1e9 else default


def default_timeout() -> Tuple[float, float]:
    """(connect, read) seconds; ``CRUNCH_TIMEOUT`` sets the read timeout."""
    return (min(10.0, _env_float("CRUNCH_TIMEOUT", 60.0)), _env_float("CRUNCH_TIMEOUT", 60.0))


def describe_connection_error(error: BaseException) -> str:
    """A short reason for a requests exception, without its URL (which may hold a token)."""
    text = str(error).lower()
    if isinstance(error, requests.Timeout) or "timed out" in text:
        return "the connection timed out"
    if "refused" in text:
        return "the connection was refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text or "resolve" in text:
        return "the host name could not be resolved"
    if isinstance(error, requests.exceptions.ChunkedEncodingError) or "incomplete" in text or "broken" in text or "reset" in text:
        return "the connection broke in the middle of an answer"
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    return "the connection failed"


def _segment(value: Any) -> str:
    """A path segment: escaped, but ``@current``/``@last`` stay readable."""
    return quote(str(value), safe="@")


class Backoff:
    """Exponential backoff: ``CRUNCH_RETRIES`` retries, ``CRUNCH_RETRY_BACKOFF`` first delay."""

    def __init__(self, retries: Optional[int] = None, base: Optional[float] = None) -> None:
        self.retries = int(_env_float("CRUNCH_RETRIES", 4)) if retries is None else retries
        self.base = _env_float("CRUNCH_RETRY_BACKOFF", 0.5) if base is None else base

    def delays(self) -> Iterable[float]:
        for attempt in range(self.retries):
            yield min(self.base * (2**attempt), 30.0)


#: ids in one batch call on uploads (list, delete), as the platform takes them
UPLOAD_BATCH = 100


class Client:
    def __init__(
        self,
        api_base_url: str,
        *,
        push_token: Optional[str] = None,
        api_key: Optional[str] = None,
        timeout: Optional[Tuple[float, float]] = None,
        backoff: Optional[Backoff] = None,
        session: Optional[requests.Session] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self.push_token = push_token
        self.api_key = api_key
        register(push_token)
        register(api_key)
        try:
            register(urlsplit(self.base_url).password)  # a password in the address is a secret too
        except ValueError:
            pass
        self.timeout = timeout or default_timeout()
        self.backoff = backoff or Backoff()
        self.session = session or new_session()
        self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep

    # -- plumbing -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    def is_api_url(self, url: str) -> bool:
        return origin(self.base_url) == origin(url)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[Dict[str, Any]] = None,
        json: Any = None,
        auth: bool = True,
        idempotent: Optional[bool] = None,
        expect_json: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Call the hub and return the decoded JSON answer (or the response)."""
        method = method.upper()
        url = self.url(path)
        params = dict(params or {})
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth and self.push_token:
            params.setdefault("pushToken", self.push_token)
        if auth and self.api_key:
            headers["Authorization"] = f"API-Key {self.api_key}"
        retry = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        what = f"{method} /{path.lstrip('/').split('?')[0]}"
        hub = mask_url(self.base_url)
        # a token in the query, a header or the body: it goes to the hub's own origin only
        carries_token = bool(auth and (self.push_token or self.api_key)) or (json is not None and contains_secret(json_module.dumps(json)))
        delays = iter(self.backoff.delays() if retry else ())
        while True:
            limit = answer_seconds(self.timeout[1])
            try:
                response = self._send(method, url, limit, carries_token, what, params=params, json=json, headers=headers, **kwargs)
            except DeadlineExceeded:
                # a server that trickles its answer: asking again would only wait as long again
                raise exc.NetworkError(
                    f"the hub at {hub} did not finish its answer to {what} within {limit:g} s "
                    "(it sends too slowly): check your network connection or --api-base-url; CRUNCH_TIMEOUT sets "
                    "the seconds to wait (an answer may take twice that)"
                ) from None
            except AnswerTooLarge as error:
                raise exc.MalformedAnswerError(
                    f"the hub's answer to {what} is larger than {error.limit >> 20} MiB, more than any answer of the "
                    "hub: it was not read. Is --api-base-url a CrunchDAO hub? If it is, try again later"
                ) from None
            except BadBody as error:
                raise exc.MalformedAnswerError(
                    f"the hub's answer to {what} is {error}, which crunch does not decode (it asks for gzip or "
                    "deflate only): is --api-base-url a CrunchDAO hub?"
                ) from None
            except requests.exceptions.ContentDecodingError:
                raise exc.MalformedAnswerError(
                    f"the hub's answer to {what} is compressed but damaged: it was not read; try again later"
                ) from None
            except requests.RequestException as error:
                delay = next(delays, None)
                if delay is None:
                    failure = exc.NetworkError(
                        f"cannot reach the hub at {hub} ({describe_connection_error(error)}): "
                        "check your network connection or --api-base-url"
                    )
                    # the hub may still be working on a request it received: not safe to send again
                    failure.read_timeout = isinstance(error, requests.ReadTimeout)  # type: ignore[attr-defined]
                    raise failure from None
                self._sleep(delay)
                continue
            if response.status_code in RETRY_STATUSES:
                delay = next(delays, None)
                if delay is not None:
                    response.close()
                    self._sleep(delay)
                    continue
            if expect_json and response.ok and response.status_code != 204 and response.content:
                try:  # strict decoding: a damaged byte must not become U+FFFD inside a value
                    return load_json(response.content)
                except TooDeep:
                    raise exc.MalformedAnswerError(
                        f"the hub's answer to {what} is JSON nested deeper than {MAX_DEPTH} levels, deeper than any "
                        "answer of the hub: it was not read. Is --api-base-url a CrunchDAO hub?",
                        status=response.status_code,
                    ) from None
                except ValueError:
                    # a success whose body is cut or damaged: ask again when that is safe
                    delay = next(delays, None)
                    if delay is None:
                        raise exc.ApiError(
                            f"the hub answered {what} with a body that is not valid JSON (truncated or not a hub?): "
                            "check --api-base-url and try again",
                            status=response.status_code,
                        ) from None
                    self._sleep(delay)
                    continue
            break
        if not response.ok:
            raise error_from_response(
                response.status_code, response.content, response.headers.get("Content-Type", ""), what
            )
        if not expect_json:
            return response
        return None

    def _send(self, method: str, url: str, limit: float, carries_token: bool = False, what: str = "", **kwargs: Any) -> requests.Response:
        """One request (and the redirects it follows) whose answer, headers and body, must be
        whole within ``limit`` seconds and at most :data:`~crunch.api.deadline.MAX_ANSWER` bytes.
        ``carries_token``: a redirect away from the hub's origin is refused."""

        def check(current: str, target: str) -> None:
            if carries_token and not self.is_api_url(target):
                raise RedirectRefused(
                    f"the hub at {mask_url(self.base_url)} redirected {what or method} to another address "
                    f"({shown_host(target)}): crunch sends its tokens to the hub's own address only, so the "
                    "redirect was not followed and nothing was sent there; check --api-base-url"
                )

        deadline = time.monotonic() + limit
        with answer_deadline(deadline):
            response = send_following(self.session, method, url, check=check, timeout=self.timeout, stream=True, **kwargs)
        # requests' own cache of the body: .content works
        response._content = read_body(response, deadline, limit=MAX_ANSWER)
        return response

    def answer(self, method: str, path: str, reader: Callable[[Node], T], **kwargs: Any) -> T:
        """Call the hub and read its answer with ``reader`` (see :mod:`crunch.core.jsonshape`); an
        answer of another shape is a :class:`~crunch.exceptions.MalformedAnswerError` naming
        the call and the field."""
        data = self.request(method, path, **kwargs)
        return parse(
            reader,
            data,
            f"the hub's answer to {method.upper()} /{path.lstrip('/')}",
            ": is --api-base-url a CrunchDAO hub? If it is, try again later",
            exc.MalformedAnswerError,
        )

    def _project_path(self, version: str, competition: str, user_id: Any, project: str) -> str:
        return f"/{version}/competitions/{_segment(competition)}/projects/{_segment(user_id)}/{_segment(project)}"

    # -- the calls (docs/platform-answers.md says what each reads) --------------------------------

    def upgrade_token(self, clone_token: str) -> models.ProjectToken:
        register(clone_token)
        data = self.request("POST", "/v2/project-tokens/upgrade", json={"cloneToken": clone_token}, auth=False)
        if isinstance(data, dict) and isinstance(data.get("plain"), str):
            register(data["plain"])  # before anything about this answer can be shown
        token = parse(
            models.ProjectToken.read,
            data,
            "the hub's answer to POST /v2/project-tokens/upgrade",
            ": try again with a fresh setup token, or check --api-base-url",
            exc.MalformedAnswerError,
        )
        if not token.plain:
            raise exc.ApiError("the hub did not return a push token: try again with a fresh setup token")
        return token

    def list_competitions(self, filters: Optional[Dict[str, Any]] = None) -> List[models.Competition]:
        """The competitions (matching ``filters``, query parameters of ``GET /v2/competitions``),
        page after page."""
        params = {k: ("true" if v is True else "false" if v is False else v) for k, v in (filters or {}).items() if v is not None}
        return self._pages("/v2/competitions", models.Competition.read, params)

    def get_competition(self, competition: str) -> models.Competition:
        found = self.answer("GET", f"/v1/competitions/{_segment(competition)}", models.Competition.read)
        if not found.name and not str(competition).isdigit():  # asked by name: that is its name
            found.name = str(competition)
            found.display_name = found.display_name or found.name
        return found

    def get_round(self, competition: str, round_number: Any = "@current") -> models.Round:
        return self.answer("GET", f"/v1/competitions/{_segment(competition)}/rounds/{_segment(round_number)}", models.Round.read)

    def get_data_release(self, competition: str, round_number: Any = "@current", size_variant: str = "DEFAULT") -> models.DataRelease:
        path = f"/v2/competitions/{_segment(competition)}/rounds/{_segment(round_number)}/phases/submission/data-release"
        return self.answer("GET", path, models.DataRelease.read, params={"sizeVariant": size_variant.upper()})

    def get_checks(self, competition: str) -> List[models.Check]:
        """The competition's prediction checks. The platform's own client no longer asks for
        them: callers treat this call as optional (:func:`optional_call`)."""
        return self.answer("GET", f"/v1/competitions/{_segment(competition)}/checks", _list_of(models.Check))

    def list_libraries(self, name: Optional[str] = None, *, language: Optional[str] = "PYTHON", standard: Optional[bool] = None, limit: Optional[int] = None) -> List[models.Library]:
        """The whitelist's libraries (whose name or alias matches ``name``, ``%`` any text),
        page after page until the end or ``limit`` (plus one, to tell there are more)."""
        params: Dict[str, Any] = {}
        if name:
            params["name"] = name
        if language:
            params["language"] = language
        if standard is not None:
            params["standard"] = "true" if standard else "false"
        return self._pages("/v2/libraries", models.Library.read, params, limit=limit)

    def clone(self, competition: str, user_id: Any, project: str, submission_number: Optional[int] = None, include_model: bool = True) -> Dict[str, str]:
        params: Dict[str, Any] = {"includeModel": "true" if include_model else "false"}
        if submission_number is not None:
            params["submissionNumber"] = submission_number
        path = self._project_path("v4", competition, user_id, project) + "/clone"
        return self.answer("GET", path, lambda node: {} if node.missing else models.clone_listing(node), params=params)

    def create_upload(self, name: str, size: int, preferred_chunk_size: Optional[int] = None) -> models.Upload:
        body: Dict[str, Any] = {"name": name, "size": size, "encrypted": False}
        if preferred_chunk_size:
            body["preferredChunkSize"] = preferred_chunk_size
        return self.answer("POST", "/v1/uploads", models.Upload.read, json=body)

    def chunk_request(self, upload_id: Any, number: int) -> models.ChunkRequest:
        return self.answer("GET", f"/v1/uploads/{_segment(upload_id)}/chunks/{number}/request", models.ChunkRequest.read)

    def confirm_chunk(self, upload_id: Any, number: int, etag: str) -> None:
        """Confirm a chunk sent. The answer (the chunk, or on older hubs the upload) is not needed."""
        self.request("POST", f"/v1/uploads/{_segment(upload_id)}/chunks/{number}/confirm", json={"hash": etag}, idempotent=True)

    def complete_upload(self, upload_id: Any) -> Optional[str]:
        """Complete an upload; the status the hub gives it (None when its answer says none)."""
        return self.answer("POST", f"/v1/uploads/{_segment(upload_id)}/complete", models.upload_status, json={}, idempotent=True)

    def abort_upload(self, upload_id: Any) -> None:
        self.request("POST", f"/v1/uploads/{_segment(upload_id)}/abort", json={}, idempotent=True)

    def delete_upload(self, upload_id: Any) -> None:
        self.request("DELETE", f"/v1/uploads/{_segment(upload_id)}")

    def list_uploads(self, upload_ids: List[Any]) -> Dict[str, Optional[Node]]:
        """The uploads of ``upload_ids`` (``POST /v1/uploads/~/list``, 100 at a time), by id: each
        as the hub describes it (read by the caller), None when the hub knows it not."""
        found: Dict[str, Optional[Node]] = {}
        for start in range(0, len(upload_ids), UPLOAD_BATCH):
            batch = [str(i) for i in upload_ids[start : start + UPLOAD_BATCH]]
            listed = self.answer("POST", "/v1/uploads/~/list", lambda node: dict(node["uploads"].entries({})), json={"uploadIds": batch}, idempotent=True)
            for upload_id in batch:
                node = listed.get(upload_id)
                found[upload_id] = None if node is None or node.missing else node
        return found

    def delete_uploads(self, upload_ids: List[Any]) -> None:
        """Delete the uploads of ``upload_ids`` (``POST /v1/uploads/~/delete``, 100 at a time);
        ids the hub does not know are passed over."""
        for start in range(0, len(upload_ids), UPLOAD_BATCH):
            batch = [str(i) for i in upload_ids[start : start + UPLOAD_BATCH]]
            self.request("POST", "/v1/uploads/~/delete", json={"uploadIds": batch}, idempotent=True)

    def create_submission(
        self,
        competition: str,
        user_id: Any,
        project: str,
        *,
        message: str,
        main_file_path: str,
        model_directory_path: str,
        code_files: Dict[str, Any],
        model_files: Dict[str, Any],
        submitter_imprint: Optional[str] = None,
    ) -> models.Submission:
        """``submitter_imprint``: who makes it (``human/cli``, ``agent/NAME``...), sent as
        ``submitterImprint`` as the platform's client sends it."""
        body = {
            "message": message,
            "mainFilePath": main_file_path,
            "modelDirectoryPath": model_directory_path,
            "type": "CODE",
            "codeFiles": code_files,
            "modelFiles": model_files,
            "pushToken": self.push_token,
        }
        if submitter_imprint is not None:
            body["submitterImprint"] = submitter_imprint
        path = self._project_path("v4", competition, user_id, project) + "/submissions"
        return self.answer("POST", path, lambda node: models.Submission.read(node) if isinstance(node.value, dict) else models.Submission(None, None, message, None), json=body)

    def get_project(self, competition: str, user_id: Any, project: str) -> models.Project:
        return self.answer("GET", self._project_path("v3", competition, user_id, project), models.Project.read)

    def list_submissions(self, competition: str, user_id: Any, project: str) -> List[models.Submission]:
        return self._list(self._project_path("v3", competition, user_id, project) + "/submissions", models.Submission.read)

    def get_submission(self, competition: str, user_id: Any, project: str, identifier: Any) -> models.Submission:
        return self.answer("GET", self._project_path("v3", competition, user_id, project) + f"/submissions/{_segment(identifier)}", models.Submission.read)

    def submission_files(self, competition: str, user_id: Any, project: str, number: int) -> List[models.FileInfo]:
        return self._list(self._project_path("v3", competition, user_id, project) + f"/submissions/{_segment(number)}/files", models.FileInfo.read)

    def model_files(self, competition: str, user_id: Any, project: str, model_id: Any) -> List[models.FileInfo]:
        return self._list(self._project_path("v3", competition, user_id, project) + f"/models/{_segment(model_id)}/files", models.FileInfo.read)

    def submit_quota(self, competition: str, user_id: Any, project: str) -> models.SubmitQuota:
        return self.answer("GET", self._project_path("v3", competition, user_id, project) + "/quota/submit", models.SubmitQuota.read)

    def compute_quota(self, competition: str, user_id: Any, project: str) -> models.ComputeQuota:
        return self.answer("GET", self._project_path("v3", competition, user_id, project) + "/quota/compute", models.ComputeQuota.read)

    def leaderboard_standing(self, competition: str, user_id: Any, project: str) -> List[models.TargetStanding]:
        path = f"/v3/competitions/{_segment(competition)}/leaderboards/@default/changes/users/{_segment(user_id)}"
        return self.answer("GET", path, models.standings, params={"projectIdentifier": project})

    # -- runs

    def list_runs(self, competition: str, user_id: Any, project: str) -> List[models.Run]:
        return self._list(self._project_path("v3", competition, user_id, project) + "/runs", models.Run.read)

    def get_run(self, competition: str, user_id: Any, project: str, run_id: Any) -> models.Run:
        return self.answer("GET", self._project_path("v3", competition, user_id, project) + f"/runs/{_segment(run_id)}", models.Run.read)

    def create_run(
        self, competition: str, user_id: Any, project: str, *, submission_id: Any, train_frequency: int, force_first_train: Optional[bool], runtime: str
    ) -> models.Run:
        """Create a run; ``force_first_train`` None leaves the choice to the hub (a competition that hides it)."""
        body = {"submissionId": submission_id, "trainFrequency": train_frequency, "forceFirstTrain": force_first_train, "runtimeDefinitionName": runtime}
        return self.answer("POST", self._project_path("v3", competition, user_id, project) + "/runs", models.Run.read, json=body)

    def terminate_run(self, competition: str, user_id: Any, project: str, run_id: Any) -> models.Run:
        return self.answer("DELETE", self._project_path("v3", competition, user_id, project) + f"/runs/{_segment(run_id)}", models.Run.read)

    def run_logs(self, competition: str, user_id: Any, project: str, run_id: Any) -> List[models.RunLog]:
        return self._list(self._project_path("v3", competition, user_id, project) + f"/runs/{_segment(run_id)}/logs", models.RunLog.read)

    def runtime_options(self, competition: str, user_id: Any, project: str, submission_number: int) -> List[models.RuntimeOption]:
        path = self._project_path("v3", competition, user_id, project) + f"/submissions/{_segment(submission_number)}/runtime-options"
        return self._pages(path, models.RuntimeOption.read, {}, page_size=1000)

    def runtime_definitions(self, competition: str) -> List[models.RuntimeDefinition]:
        """The competition's runtimes (``GET /v1/competitions/{c}/runtime-definitions``, paged)."""
        return self._pages(f"/v1/competitions/{_segment(competition)}/runtime-definitions", models.RuntimeDefinition.read, {}, page_size=1000)

    def request_runtime_access(
        self, *, competition_id: Any, project_id: Any, submission_number: int, runtime: str, justification: Optional[str]
    ) -> models.RuntimeAccessRequest:
        """Ask for a runtime for one submission (``POST /v1/runtime-access-requests``)."""
        body = {
            "competitionId": competition_id,
            "projectId": project_id,
            "submissionNumber": submission_number,
            "definitionName": runtime,
            "justification": justification,
        }
        return self.answer("POST", "/v1/runtime-access-requests", models.RuntimeAccessRequest.read, json=body)

    def get_selection(self, competition: str, user_id: Any, project: str) -> models.Selection:
        return self.answer("GET", self._project_path("v4", competition, user_id, project) + "/selection", models.Selection.read)

    def select_run(self, competition: str, user_id: Any, project: str, run_id: Any) -> models.Selection:
        """Choose the run the out-of-sample phase uses (``POST /v4/.../selection``)."""
        return self.answer("POST", self._project_path("v4", competition, user_id, project) + "/selection", models.Selection.read, json={"runId": run_id})

    def request_library(
        self,
        competition_id: Any,
        *,
        name: Optional[str],
        alias: Optional[str],
        language: Optional[str] = None,
        gpu_requirement: Optional[str] = None,
        additional_details: Optional[str] = None,
    ) -> models.LibraryRequest:
        """Ask for a library to be whitelisted (``POST /v1/library-requests``)."""
        body: Dict[str, Any] = {
            "competitionId": competition_id,
            "name": name,
            "alias": alias,
            "gpuRequirement": gpu_requirement,
            "additionalDetails": additional_details,
        }
        if language is not None:
            body["language"] = language
        return self.answer("POST", "/v1/library-requests", models.LibraryRequest.read, json=body)

    # -- the competition's scoring

    def get_metrics(self, competition: str) -> List[domain.Metric]:
        """Every metric of the competition, each with its ``.target`` (one Target object per target,
        whose ``.metrics`` lists its metrics in the hub's order)."""

        def read(node: Node) -> List[domain.Metric]:
            targets: Dict[Any, domain.Target] = {}
            metrics = []
            for item in node.items([]):
                owner = item["target"]
                key = owner["id"].identifier()
                target = targets.get(key)
                if target is None:
                    target = targets[key] = domain.Target.read(owner)
                metrics.append(domain.Metric.read(item, target=target))
            return metrics

        return self.answer("GET", f"/v1/competitions/{_segment(competition)}/metrics", read)

    def get_targets(self, competition: str) -> List[domain.Target]:
        """The competition's targets (the primary one first when the hub says so), each with its ``.metrics``."""
        targets = self.answer("GET", f"/v1/competitions/{_segment(competition)}/targets", _list_of(domain.Target))
        by_id = {target.id: target for target in targets}
        for metric in self.get_metrics(competition):
            owner = by_id.get(metric.target.id) if metric.target is not None else None
            if owner is not None:
                metric.target = owner
                if all(known.id != metric.id for known in owner.metrics):
                    owner.metrics.append(metric)
        return targets

    def get_target_and_metrics(self, competition: str) -> List[Tuple[domain.Target, List[domain.Metric]]]:
        """What ``scoring.py`` receives as ``target_and_metrics``: ``[(target, its metrics)]``, ordered by target id."""
        return domain.group_metrics_by_target(self.get_metrics(competition))

    def list_quickstarters(self, competition: str) -> List[models.Quickstarter]:
        """The competition's quickstarters; their ``files`` are None when the listing does not
        give them (:meth:`get_quickstarter` does)."""
        return self._list(f"/v2/competitions/{_segment(competition)}/quickstarters", models.Quickstarter.read)

    def get_quickstarter(self, competition: str, name: str) -> models.Quickstarter:
        return self.answer("GET", f"/v2/competitions/{_segment(competition)}/quickstarters/{_segment(name)}", models.Quickstarter.read)

    def get_own_project(self, competition: str, project: str) -> models.ProjectInfo:
        """``GET /v3/competitions/{c}/projects/@me/{project}`` (API-key calls): the key owner's project."""
        return self.answer("GET", f"/v3/competitions/{_segment(competition)}/projects/@me/{_segment(project)}", models.ProjectInfo.read)


    def list_rounds(self, competition: str) -> List[models.Round]:
        return self._list(f"/v1/competitions/{_segment(competition)}/rounds", models.Round.read)

    def list_leaderboards(self, competition: str) -> List[models.Leaderboard]:
        return self._list(f"/v2/competitions/{_segment(competition)}/leaderboards", models.Leaderboard.read)

    def get_leaderboard(self, competition: str, name: str = "@default") -> models.Leaderboard:
        """The leaderboard ``name`` (``@default``: the competition's default) with its positions."""
        return self.answer("GET", f"/v2/competitions/{_segment(competition)}/leaderboards/{_segment(name)}", models.Leaderboard.read)

    # -- reading listings

    def _list(self, path: str, read: Callable[[Node], T], **kwargs: Any) -> List[T]:
        """A listing (a bare list or one page object; an empty answer is an empty list)."""
        return self.answer("GET", path, _list_of(read), **kwargs)

    def _pages(self, path: str, read: Callable[[Node], T], params: Dict[str, Any], *, page_size: int = 500, limit: Optional[int] = None) -> List[T]:
        """Every element of a paged listing, page after page. A hub that answers a bare list
        has given everything at once; paging stops at a page shorter than asked for, a page
        that says it is the last, or an empty one."""
        found: List[T] = []
        page = 0
        while True:
            data = self.request("GET", path, params={**params, "page": page, "size": page_size})
            items = parse(
                _list_of(read),
                data,
                f"the hub's answer to GET /{path.lstrip('/')}",
                ": is --api-base-url a CrunchDAO hub? If it is, try again later",
                exc.MalformedAnswerError,
            )
            found.extend(items)
            if not isinstance(data, dict) or not items or data.get("last") is True or (limit is not None and len(found) > limit):
                return found
            said = Node(data)
            size = _soft_int(said["pageSize"]) or page_size  # a hub may give fewer than asked for
            pages = _soft_int(said["totalPages"])
            if len(items) < size or (pages is not None and page + 1 >= pages):
                return found
            page += 1
            if page > 10_000:  # a hub that never ends its pages
                return found


def _soft_int(node: Node) -> Optional[int]:
    try:
        value = node.integer(None)
    except exc.DocumentError:
        return None
    return value if value is None or value > 0 else None


def optional_call(call: Callable[[], T], default: T, what: str, instead: str, say: Callable[[str], None]) -> T:
    """``call()`` for a call that the platform's own client does not make, so that a hub may
    not offer it: an answer 404, 405 or 501, or one of a shape this version cannot read, gives
    ``default`` and one line through ``say``: ``what`` could not be had, ``instead`` what is
    done without it."""
    try:
        return call()
    except exc.MalformedAnswerError as error:
        field = getattr(error, "field", None)
        say(f"the hub's answer for {what} could not be read ({field or 'its shape'} is not as expected): {instead}")
    except exc.ApiError as error:
        if error.status not in (404, 405, 501):
            raise
        say(f"this hub does not offer {what} (HTTP {error.status}): {instead}")
    return default


def _list_of(read: Any) -> Callable[[Node], List[Any]]:
    """A reader of a listing (a bare list or a page; an empty answer is an empty list) whose
    elements ``read`` reads: a model class (its ``read``) or a function."""
    element = getattr(read, "read", read)
    return lambda node: [element(item) for item in node.listing([])]


