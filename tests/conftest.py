"""Shared fixtures: a real local hub in a subprocess, and the installed ``crunch`` executable.

``hub`` (one per test) and ``shared_hub`` (one per module; do not break its state) start
``crunch hub serve --port 0 --root <tmp>`` and yield a :class:`Hub`:

    token = hub.token("demo", "p1", user="alice")       # a fresh setup token
    result = hub.run("setup", "demo", "p1", "--token", token, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    hub.faults(fail_next=2, path_prefix="/data/")         # or drop_after=, delay=, method=
    hub.stats()["bytesServed"]                            # {path: bytes}, "pendingUploads", ...
"""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest

CRUNCH = str(Path(sys.executable).with_name("crunch"))
START_TIMEOUT = 60.0

# Every secret a local hub mints in this session carries this marker (crunch/hub/store.py), so
# that tests/test_zz_secrets.py can prove no token leaks into an output, a log, an error or a file.
TOKEN_MARKER = "".join(("LEAK", "CHECK"))  # spelled apart: a copy of this file (or its .pyc) holds no marker
os.environ.setdefault("CRUNCH_HUB_TOKEN_MARKER", TOKEN_MARKER)
TOKEN_MARKER = os.environ["CRUNCH_HUB_TOKEN_MARKER"]


class Recorded:
    """What the session showed: outputs of ``crunch`` runs, CrunchError messages, test captures."""

    results: list = []  # (argv, Result)
    errors: list = []  # CrunchError messages raised in this process
    captures: list = []  # (test id, captured text) holding the marker
    logs: list = []  # request logs of hubs run with --debug (scanned like every file)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def crunch_env(extra: Optional[Dict[str, str]] = None, home: Optional[Path] = None) -> Dict[str, str]:
    """The environment of a ``crunch`` run in tests: fast retries, short timeouts, no color."""
    env = dict(os.environ)
    for name in ("API_BASE_URL", "WEB_BASE_URL", "CRUNCH_ENVIRONMENT", "CRUNCH_API_KEY", "CRUNCH_DEBUG"):
        env.pop(name, None)
    env.update({
        "CRUNCH_RETRY_BACKOFF": "0.05",
        "CRUNCH_TIMEOUT": "10",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    })
    if home is not None:
        env["XDG_CACHE_HOME"] = str(home / "cache")
    env.update(extra or {})
    return env


def run_crunch(*args: Any, cwd: Any = None, env: Optional[Dict[str, str]] = None, input: Optional[str] = None, timeout: float = 120) -> Result:
    """Run the installed ``crunch`` executable; never raises on a non-zero exit."""
    completed = subprocess.run(
        [CRUNCH, *[str(a) for a in args]],
        cwd=str(cwd) if cwd is not None else None,
        env=env if env is not None else crunch_env(),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    Recorded.results.append(([str(a) for a in args], result))
    return result


class Hub:
    """A ``crunch hub serve`` subprocess and helpers to drive it; its admin calls carry the
    hub's admin secret (read from ``<root>/admin-secret``). ``Hub.at(url)``: the running hub of a URL."""

    running: Dict[str, "Hub"] = {}

    def __init__(self, root: Path, *serve_args: Any, port: int = 0, env: Optional[Dict[str, str]] = None) -> None:
        self.root = Path(root)
        self.extra_env = dict(env or {})
        self.log_path = self.root.parent / (self.root.name + ".log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [CRUNCH, "hub", "serve", "--port", str(port), "--root", str(self.root), *[str(a) for a in serve_args]],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=crunch_env(self.extra_env),
        )
        self.url = self._wait_for_url()
        self.admin_secret = (self.root / "admin-secret").read_text(encoding="utf-8").strip()
        Hub.running[self.url] = self
        self.home = self.root.parent / (self.root.name + "-home")
        self.home.mkdir(exist_ok=True)

    def _wait_for_url(self) -> str:
        assert self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"the hub did not start: {self.log_path.read_text(errors='replace')[-2000:]}")
            if selector.select(timeout=0.1):
                block = os.read(self.process.stdout.fileno(), 4096)
                if not block:
                    continue
                line += block
        selector.close()
        text = line.decode().splitlines()[0].strip()
        assert text.startswith("listening on http://"), text
        return text.split(" ", 2)[2]

    # -- HTTP helpers -----------------------------------------------------------------------------

    @classmethod
    def at(cls, url: str) -> "Hub":
        return cls.running[url]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """A JSON call of the hub (with the admin secret: admin calls pass)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("X-Crunch-Hub-Secret", self.admin_secret)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def token(self, competition: str = "demo", project: str = "p1", user: str = "alice", value: Optional[str] = None) -> str:
        """A fresh setup token (single use, 3 minutes) of ``project`` (created on first use);
        ``value``: its text (a notebook's placeholder token), else random."""
        body = {"competition": competition, "project": project, "user": user}
        if value is not None:
            body["token"] = value
        return self.call("POST", "/_admin/tokens", body)["token"]

    def push_token(self, competition: str = "demo", project: str = "p1", user: str = "alice") -> str:
        """A push token of ``project``, exchanged from a fresh setup token."""
        return self.call("POST", "/v2/project-tokens/upgrade", {"cloneToken": self.token(competition, project, user)})["plain"]

    def api_key(self, user: str = "alice") -> str:
        return self.call("POST", "/_admin/api-keys", {"user": user})["key"]

    def faults(self, reset: bool = False, **values: Any) -> Dict[str, Any]:
        """Set faults: ``fail_next``, ``drop_after``, ``drop_times``, ``delay``, ``delay_times``, ``truncate_at``,
        ``truncate_times``, ``corrupt``, ``corrupt_at``, ``stall_after``, ``stall``, ``path_prefix``, ``method``; the link shape ``rate_cap``
        (bytes/s per connection), ``latency`` (s), ``ignore_range``."""
        names = {
            "fail_next": "failNext", "drop_after": "dropAfter", "drop_times": "dropTimes", "path_prefix": "pathPrefix",
            "delay_times": "delayTimes", "truncate_at": "truncateAt", "truncate_times": "truncateTimes",
            "corrupt_at": "corruptAt", "stall_after": "stallAfter", "rate_cap": "rateCap", "ignore_range": "ignoreRange",
        }
        body = {names.get(k, k): v for k, v in values.items()}
        if reset:
            body["reset"] = True
        return self.call("POST", "/_admin/faults", body)

    def reset_faults(self) -> Dict[str, Any]:
        return self.faults(reset=True)

    def stats(self) -> Dict[str, Any]:
        """Counters: ``requests``, ``requestsByPath``, ``bytesServed``/``bytesReceived`` by path, ``pendingUploads``..."""
        return self.call("GET", "/_admin/stats")

    def reset_stats(self) -> Dict[str, Any]:
        return self.call("POST", "/_admin/stats/reset", {})

    def bytes_served(self, name_part: str = "") -> int:
        """Bytes of response bodies served for paths containing ``name_part``."""
        return sum(v for k, v in self.stats()["bytesServed"].items() if name_part in k)

    def settings(self, **values: Any) -> Dict[str, Any]:
        """Limits: ``dailyLimit``, ``codeLimit``, ``modelLimit`` (bytes)."""
        return self.call("POST", "/_admin/settings", values)

    def competition_state(self, competition: str = "demo", **values: bool) -> Dict[str, Any]:
        """``phaseClosed=True`` (no current phase, submissions refused), ``dataUnpublished=True``."""
        return self.call("POST", f"/_admin/competitions/{competition}", values)

    def score(self, competition: str, project: str, user: str, score: float, target: Optional[str] = None) -> Dict[str, Any]:
        """Put a score of ``project`` on the leaderboard (``{"target", "score", "rank"}``)."""
        body: Dict[str, Any] = {"competition": competition, "project": project, "user": user, "score": score}
        if target:
            body["target"] = target
        return self.call("POST", "/_admin/scores", body)

    def expire_uploads(self, upload_id: Optional[str] = None) -> int:
        return self.call("POST", "/_admin/uploads/expire", {"uploadId": upload_id} if upload_id else {})["expired"]

    def client(self, push_token: Optional[str] = None, api_key: Optional[str] = None) -> Any:
        """A :class:`crunch.api.Client` of this hub, with fast retries and short timeouts."""
        from crunch.api import Client
        from crunch.api.client import Backoff

        return Client(self.url, push_token=push_token, api_key=api_key, timeout=(5, 10), backoff=Backoff(retries=4, base=0.02))

    # -- the crunch executable --------------------------------------------------------------------

    def env(self, **extra: str) -> Dict[str, str]:
        return crunch_env(extra, home=self.home)

    def run(self, *args: Any, cwd: Any = None, env: Optional[Dict[str, str]] = None, input: Optional[str] = None, timeout: float = 120) -> Result:
        """``crunch --api-base-url <hub> ARGS...``"""
        return run_crunch("--api-base-url", self.url, *args, cwd=cwd, env=env or self.env(), input=input, timeout=timeout)

    def stop(self) -> None:
        if Hub.running.get(getattr(self, "url", "")) is self:
            del Hub.running[self.url]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()

    def restart(self, *serve_args: Any, same_port: bool = False, kill: bool = False) -> None:
        """Stop (``kill``: SIGKILL, mid-request) and start again on the same root: on a new port
        (read ``url`` again), or with ``same_port`` on this one, so links already handed out work."""
        port = int(self.url.rstrip("/").rsplit(":", 1)[1]) if same_port else 0
        if kill and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.stop()
        self.__init__(self.root, *serve_args, port=port, env=self.extra_env)  # type: ignore[misc]


@pytest.fixture
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A fresh hub for one test."""
    instance = Hub(tmp_path_factory.mktemp("hub") / "root")
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub for a whole module: for tests that only read, or that use their own project."""
    instance = Hub(tmp_path_factory.mktemp("shared-hub") / "root")
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def hub_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``hub_factory(*serve_args)`` starts a hub with flags (``"--fail-next", 2``...); all stop after."""
    started = []

    def start(*serve_args: Any) -> Hub:
        instance = Hub(tmp_path_factory.mktemp("hub") / "root", *serve_args)
        started.append(instance)
        return instance

    try:
        yield start
    finally:
        for instance in started:
            instance.stop()


@pytest.fixture
def crunch() -> Any:
    """``crunch(*args, cwd=..., env=...)`` runs the installed executable without a hub."""
    return run_crunch


@pytest.fixture(scope="session", autouse=True)
def _record_crunch_errors() -> Iterator[None]:
    """Keep the message of every CrunchError raised in this process (checked for tokens)."""
    from crunch import exceptions

    original = exceptions.CrunchError.__init__

    def init(self: Any, message: str) -> None:
        original(self, message)
        Recorded.errors.append(str(self))

    exceptions.CrunchError.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        exceptions.CrunchError.__init__ = original  # type: ignore[method-assign]


def pytest_runtest_logreport(report: Any) -> None:
    """Keep any captured output or failure text of a test that holds the token marker."""
    for name, text in [*report.sections, ("longrepr", report.longreprtext or "")]:
        if TOKEN_MARKER in text:
            Recorded.captures.append((report.nodeid, name))

_UNEXPECTED = re.compile(r"\bunexpected [A-Z][A-Za-z]*:")


@pytest.fixture(scope="session", autouse=True)
def _no_unexpected_error() -> Iterator[None]:
    """At the end of the session (of each worker's): ``unexpected <Type>: ...`` is how crunch words
    an error it has no message for, a bug in crunch; no run of ``crunch`` in any test (bad input,
    hostile hubs, full disks included) may print it. A run that did fails the session."""
    yield
    said = [(" ".join(argv)[:160], line) for argv, result in Recorded.results for line in result.output.splitlines() if _UNEXPECTED.search(line)]
    if said:
        pytest.fail(f"crunch printed an unexpected error: {said[:5]}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _no_token_leaked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the session (of each worker's, in a parallel run): every token a local hub
    minted carries ``TOKEN_MARKER``, and the marker is in no output of ``crunch`` (but the answer
    of ``crunch hub token``, which is a token), no CrunchError message, no test capture, and no
    file under the session's temporary folder (hub logs and databases, workspaces, pushed
    files) except ``.crunchdao/token`` files, which are mode 0600. A leak fails the session."""
    yield
    leaks = []
    for argv, result in Recorded.results:
        prints_a_token = any(argv[i : i + 2] == ["hub", "token"] for i in range(len(argv)))
        shown = result.stderr if prints_a_token else result.stdout + result.stderr
        if TOKEN_MARKER in shown:
            leaks.append(("output of crunch", " ".join(argv)[:200]))
    leaks += [("CrunchError message", message[:200]) for message in Recorded.errors if TOKEN_MARKER in message]
    leaks += [("test capture", capture) for capture in Recorded.captures]
    needle = TOKEN_MARKER.encode()
    base = tmp_path_factory.getbasetemp()
    for path in _files(base):
        if path.name == "token" and path.parent.name == ".crunchdao":
            mode = stat.S_IMODE(path.stat().st_mode)
            if _holds(path, needle) and mode != 0o600:
                leaks.append(("token file not 0600", f"{path} {mode:04o}"))
            continue
        if _holds(path, needle):
            leaks.append(("file", str(path.relative_to(base))))
    unread = [str(log) for log in Recorded.logs if not Path(log).is_file() or Path(log).stat().st_size == 0]
    if leaks or unread:
        pytest.fail(f"a token leaked: {leaks}; hub logs not written: {unread}", pytrace=False)


def _files(root: Path) -> Iterator[Path]:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file():
                yield path


def _holds(path: Path, needle: bytes) -> bool:
    overlap = len(needle) - 1
    tail = b""
    with open(path, "rb") as handle:
        while True:
            block = handle.read(1 << 20)
            if not block:
                return False
            if needle in tail + block:
                return True
            tail = block[-overlap:]


_PEER_CALLS = ("crunch_cli_13(", "crunch_cli_3(", "crunch_convert(", "kernel_libraries(", "peer_environment(")


def _runs_a_public_tool(item: Any, seen: Dict[Any, bool]) -> bool:
    """Whether the test's function, or a fixture it uses, calls a public tool, directly or through
    a function of its module that does."""
    import inspect

    module = getattr(item, "module", None)
    if module not in seen:  # the module's own functions that call one: its helpers for the peer
        helpers = []
        for name, value in vars(module).items() if module is not None else ():
            if inspect.isfunction(value) and getattr(value, "__module__", None) == module.__name__:
                try:
                    if any(call in inspect.getsource(value) for call in _PEER_CALLS):
                        helpers.append(name + "(")
                except (OSError, TypeError):
                    pass
        seen[module] = helpers  # type: ignore[assignment]
    calls_of_module = tuple(seen[module]) + _PEER_CALLS  # type: ignore[operator]

    def calls(function: Any) -> bool:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            return False
        return any(call in source for call in calls_of_module)

    if calls(getattr(item, "function", None)):
        return True
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {}) or {}
    return any(calls(definition.func) for name in item.fixturenames for definition in definitions.get(name, ()))


def pytest_collection_modifyitems(config: Any, items: Any) -> None:
    """The tiers (``-m unit``, ``-m e2e``, ``-m peer``, ``-m readme``): a test that runs a public
    tool (itself or through a fixture) is ``peer`` as well; a test with no tier is ``unit``."""
    seen: Dict[Any, bool] = {}
    for item in items:
        if Path(str(item.fspath)).name.endswith("_peer.py") or _runs_a_public_tool(item, seen):
            item.add_marker(pytest.mark.peer)
        if not any(item.get_closest_marker(tier) for tier in ("e2e", "peer", "readme")):
            item.add_marker(pytest.mark.unit)
