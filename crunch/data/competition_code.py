"""The competition's own code (UNSTRUCTURED format): where it comes from, its cache, its loading.

A *competitions source* names where ``competitions/<name>/scoring/<file>.py`` is read from:

- ``local://DIR``                            the file under DIR (a clone of crunchdao/competitions)
- ``github://OWNER/REPO[?reference=BRANCH]``  the file on GitHub (branch ``master`` by default)
- ``cache+https://HOST[?reference=R]``        ``https://HOST/competitions/...`` (``cache+http://`` too)
- several of them, comma-separated: tried in order; a source that *answers* that it has no
  such file ends the search, one that cannot be reached passes to the next.

The source is ``--competitions``, else ``CRUNCH_COMPETITIONS_SOURCE``, else, for a workspace set
up against a hub of its own (not the platform's), that hub's root (``cache+http://HOST``), else
the platform's ``cache+https://competitions.cache.crunchdao.com,github://crunchdao/competitions``.

``crunch setup``/``crunch download`` fetch ``runner.py``, ``scoring.py`` and ``submission.py`` into
``.crunchdao/code/`` (with ``sources.json``: where each came from, or that the source has none),
so that ``crunch test`` and ``crunch push`` work offline.
"""

from __future__ import annotations

import os
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from ..exceptions import CrunchError

ENV_VARIABLE = "CRUNCH_COMPETITIONS_SOURCE"
PLATFORM_SOURCE = "cache+https://competitions.cache.crunchdao.com,github://crunchdao/competitions"
PLATFORM_API_URLS = ("https://api.hub.crunchdao.com/", "https://api.hub.crunchdao.io/")
FILES = ("runner", "scoring", "submission")
CODE_DIR = "code"
SOURCES_FILE = "sources.json"
TIMEOUT = (5.0, 30.0)


class CompetitionCodeError(CrunchError):
    """The competition's code cannot be found, fetched or loaded."""


class NoCodeError(CompetitionCodeError):
    """The source answered that it has no such file."""


class UnreachableError(CompetitionCodeError):
    """No source could be read (network, refused, unreadable folder)."""


def relative_path(competition: str, file: str) -> str:
    return f"competitions/{competition}/scoring/{file}.py"


# -- sources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """One place a file may be read from: a path or a URL."""

    kind: str  # "local" or "http"
    address: str

    def read(self) -> str:
        """The file's text; :class:`NoCodeError` when the source has no such file,
        :class:`UnreachableError` when it could not be asked."""
        if self.kind == "local":
            try:
                return Path(self.address).read_text(encoding="utf-8")
            except FileNotFoundError:
                raise NoCodeError(f"no file {self.address}") from None
            except (OSError, UnicodeDecodeError) as error:
                raise UnreachableError(f"cannot read {self.address}: {error}") from None
        import requests

        from ..__version__ import __version__

        try:
            response = requests.get(self.address, timeout=TIMEOUT, headers={"User-Agent": f"crunch/{__version__}"})
        except requests.RequestException as error:
            raise UnreachableError(f"{self.address} cannot be reached ({type(error).__name__})") from None
        if response.status_code == 404:
            raise NoCodeError(f"no file at {self.address} (404)")
        if response.status_code != 200:
            raise UnreachableError(f"{self.address} answered {response.status_code}")
        return response.text


def _location(competition: str, file: str, source: str) -> Location:
    source = source.strip()
    if "://" not in source:
        raise CompetitionCodeError(
            f"invalid competitions source {source!r}: use local://DIR, github://OWNER/REPO or cache+https://HOST"
        )
    scheme, rest = source.split("://", 1)
    params: Dict[str, List[str]] = {}
    if "?" in rest:
        rest, query = rest.split("?", 1)
        params = parse_qs(query)
    reference = (params.get("reference") or [None])[0]
    scheme, _, transport = scheme.partition("+")
    path = relative_path(competition, file)
    if scheme == "local":
        return Location("local", os.path.join(rest, path))
    if scheme == "github":
        if not re.match(r"^[\w-]+/[\w-]+$", rest):
            raise CompetitionCodeError(f"invalid GitHub repository {rest!r} in the competitions source: use github://OWNER/REPO")
        return Location("http", f"https://github.com/{rest}/raw/refs/heads/{reference or 'master'}/{path}")
    if scheme == "cache":
        transport = transport or "https"
        if transport not in ("http", "https"):
            raise CompetitionCodeError(f"unsupported transport {transport!r} in the competitions source: use cache+https:// or cache+http://")
        url = f"{transport}://{rest.rstrip('/')}/{quote(path)}"
        if reference:
            url += "?" + urlencode({"reference": reference})
        return Location("http", url)
    raise CompetitionCodeError(f"unsupported competitions source scheme {scheme!r}: use local://, github:// or cache+https://")


def locations(competition: str, file: str, source: str) -> List[Location]:
    """Where ``file`` of ``competition`` is looked for, in order."""
    parts = [part for part in source.split(",") if part.strip()]
    if not parts:
        raise CompetitionCodeError("the competitions source is empty: use local://DIR, github://OWNER/REPO or cache+https://HOST")
    return [_location(competition, file, part) for part in parts]


def hub_source(api_base_url: Optional[str]) -> Optional[str]:
    """The source serving a hub of our own's code (``cache+http://HOST``), or ``None`` for the
    platform's hubs."""
    if not api_base_url:
        return None
    normalized = api_base_url.rstrip("/") + "/"
    if normalized in PLATFORM_API_URLS:
        return None
    parts = urlsplit(normalized)
    return f"cache+{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def choose_source(explicit: Optional[str], api_base_url: Optional[str]) -> Tuple[str, bool]:
    """The source to use and whether it was given explicitly (option or variable)."""
    if explicit and explicit.strip():
        return explicit.strip(), True
    return hub_source(api_base_url) or PLATFORM_SOURCE, False


def fetch(competition: str, file: str, source: str) -> Tuple[Location, str]:
    """The first text found for ``file``; :class:`NoCodeError` or :class:`UnreachableError`."""
    failures: List[str] = []
    for location in locations(competition, file, source):
        try:
            return location, location.read()
        except NoCodeError:
            raise NoCodeError(f"the competitions source has no {file}.py for {competition} ({location.address})") from None
        except UnreachableError as error:
            failures.append(error.message)
    raise UnreachableError("; ".join(failures))


# -- the workspace's cache -----------------------------------------------------------------------


class CodeCache:
    """``.crunchdao/code/``: the competition's files and where each came from."""

    def __init__(self, dot_dir: Path) -> None:
        self.directory = Path(dot_dir) / CODE_DIR

    def path(self, file: str) -> Path:
        return self.directory / f"{file}.py"

    def records(self) -> Dict[str, Any]:
        import json

        try:
            data = json.loads((self.directory / SOURCES_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def known(self, file: str) -> Optional[bool]:
        """True: cached; False: the source had none; None: never fetched."""
        record = self.records().get(file)
        if not isinstance(record, dict):
            return None
        if record.get("found"):
            return True if self.path(file).is_file() else None
        return False

    def location(self, file: str) -> Optional[str]:
        record = self.records().get(file)
        return record.get("location") if isinstance(record, dict) else None

    def store(self, results: Dict[str, Tuple[Optional[str], Optional[str]]]) -> None:
        """``results``: file -> (location, text); text ``None`` when the source has none."""
        from ..core.fsutil import write_json_atomic, write_text_atomic

        self.directory.mkdir(parents=True, exist_ok=True)
        records = self.records()
        for file, (location, text) in results.items():
            if text is None:
                try:
                    self.path(file).unlink()
                except FileNotFoundError:
                    pass
                records[file] = {"found": False, "location": location}
            else:
                current = self.path(file)
                if not current.is_file() or current.read_text(encoding="utf-8", errors="replace") != text:
                    write_text_atomic(current, text)
                records[file] = {"found": True, "location": location}
        write_json_atomic(self.directory / SOURCES_FILE, records)


def refresh(cache: CodeCache, competition: str, source: str, files: Tuple[str, ...] = FILES) -> List[str]:
    """Fetch ``files`` into ``cache``; the warnings to show (files kept from an older fetch).

    Raises :class:`UnreachableError` when a file could not be fetched and none is cached.
    """
    results: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
    warnings: List[str] = []
    for file in files:
        try:
            location, text = fetch(competition, file, source)
            results[file] = (location.address, text)
        except NoCodeError:
            results[file] = (None, None)
        except UnreachableError as error:
            if cache.known(file) is None:
                raise UnreachableError(
                    f"the competition's {file}.py could not be fetched and none is cached: {error.message}; "
                    f"check the network or the competitions source ({ENV_VARIABLE} / --competitions), then run `crunch download`"
                ) from None
            warnings.append(f"the competition's {file}.py could not be fetched ({error.message}): the cached copy is used")
    cache.store(results)
    return warnings


# -- loading -------------------------------------------------------------------------------------


def load_module(path: Path, what: str) -> types.ModuleType:
    """Execute ``path`` into a fresh module named after the file (``runner.py``), with
    ``__file__`` = its path so that tracebacks name it; not put in ``sys.modules``."""
    name = path.name
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__path__ = [str(path.parent)]  # type: ignore[attr-defined]
    module.__package__ = name.rpartition(".")[0]
    try:
        source = path.read_text(encoding="utf-8")
        code = compile(source, str(path), "exec", dont_inherit=True)  # not our `from __future__` flags
        exec(code, module.__dict__)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # SystemExit included
        detail = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {detail[0]}" if detail else type(error).__name__
        raise CompetitionCodeError(
            f"the competition's {name} ({what}) failed to load: {message}; "
            "install what it imports (see the competition's requirements) or run `crunch download` to fetch it again"
        ) from error
    return module


def require_function(module: types.ModuleType, name: str) -> Any:
    function = getattr(module, name, None)
    if not callable(function):
        raise CompetitionCodeError(
            f"the competition's {module.__name__} has no `{name}` function: "
            "its code is not what crunch expects; run `crunch download` to fetch it again"
        )
    return function


# -- a workspace's code ------------------------------------------------------------------------------


def workspace_source(workspace: Any, settings: Any) -> Tuple[str, bool]:
    """The source for ``workspace`` and whether it was given explicitly."""
    project = workspace.project()
    api = project.api_base_url
    if settings is not None and getattr(settings, "explicit", False):
        api = settings.api_base_url
    return choose_source(getattr(settings, "competitions_source", None), api)


def update_workspace(workspace: Any, settings: Any, console: Any) -> None:
    """Fetch the competition's files into the workspace's cache (``crunch setup``/``download``);
    a source that cannot be reached only warns (the cached copies stay)."""
    source, _explicit = workspace_source(workspace, settings)
    cache = CodeCache(workspace.dot_dir)
    try:
        for warning in refresh(cache, workspace.project().competition_name, source):
            console.warn(warning)
    except UnreachableError as error:
        console.warn(error.message)


def code_file(workspace: Any, settings: Any, file: str, console: Any) -> Optional[Path]:
    """The cached path of the competition's ``file`` (``runner``...), or ``None`` when the source
    has none. An explicit source (option or variable) is read again; otherwise the cache is used,
    and fetched only when it never was."""
    source, explicit = workspace_source(workspace, settings)
    cache = CodeCache(workspace.dot_dir)
    if explicit or cache.known(file) is None:
        for warning in refresh(cache, workspace.project().competition_name, source, (file,)):
            console.warn(warning)
    known = cache.known(file)
    return cache.path(file) if known else None
