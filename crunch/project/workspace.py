"""The workspace a ``crunch setup`` makes: ``.crunchdao/`` metadata, the push token, folders.

```
<root>/.crunchdao/project.json   {"competitionName", "projectName", "userId", "sizeVariant", ...}
<root>/.crunchdao/token          the push token, mode 0600
<root>/.crunchdao/*.json         cached data release, checks, whitelist (for offline work)
<root>/data/ resources/ prediction/
```
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, TypeVar

from ..core.fsutil import (
    PathLike,
    ensure_folder,
    json_text,
    read_text,
    special_kind,
    write_json_atomic,
    write_text_atomic,
)
from ..core.jsonshape import Node, describe, load_json, parse
from ..core.secrets import register
from ..exceptions import CorruptCacheError, NotInWorkspaceError, TokenError, WorkspaceError

T = TypeVar("T")

DOT_DIR = ".crunchdao"
PROJECT_FILE = "project.json"
TOKEN_FILE = "token"
# the keys of project.json that crunch-cli 13 drops when it rewrites the file (download
# --size-variant, update-token): kept here too, a file it never touches
WORKSPACE_FILE = "workspace.json"
LEGACY_PROJECT_NAME = "default"  # crunch-cli 3.x workspaces have no projectName: 13.0.1 reads this
DATA_DIR = "data"
PREDICTION_DIR = "prediction"
DEFAULT_MODEL_DIR = "resources"

CACHE_DATA_RELEASE = "data_release.json"
CACHE_CHECKS = "checks.json"
CACHE_LIBRARIES = "libraries.json"
CACHE_COMPETITION = "competition.json"
CACHE_ROUND = "round.json"  # the round whose data release is cached
CACHE_METRICS = "metrics.json"  # the competition's metrics, each with its target (UNSTRUCTURED)

GITIGNORE = """\
# crunch: data, predictions and the push token stay out of git
data/
prediction/
.crunchdao/
.crunch-hub/
"""


@dataclass
class ProjectInfo:
    competition_name: str
    project_name: str
    user_id: Any
    size_variant: str = "DEFAULT"
    api_base_url: Optional[str] = None
    web_base_url: Optional[str] = None
    model_directory: str = DEFAULT_MODEL_DIR
    extra: Dict[str, Any] = field(default_factory=dict)

    _KEYS = {
        "competitionName": "competition_name",
        "projectName": "project_name",
        "userId": "user_id",
        "sizeVariant": "size_variant",
        "apiBaseUrl": "api_base_url",
        "webBaseUrl": "web_base_url",
        "modelDirectory": "model_directory",
    }

    # what crunch-cli 13.0.1 writes itself; every other key of ours is also kept in workspace.json
    _PEER_KEYS = ("competitionName", "projectName", "userId", "sizeVariant")

    def to_dict(self) -> Dict[str, Any]:
        values = asdict(self)
        out = {key: values[attr] for key, attr in self._KEYS.items() if values[attr] is not None}
        out.update(self.extra)
        return out

    def local_dict(self) -> Dict[str, Any]:
        """The keys crunch-cli 13 would drop from project.json (hub address, model directory)."""
        values = asdict(self)
        return {
            key: values[attr] for key, attr in self._KEYS.items() if key not in self._PEER_KEYS and values[attr] is not None
        }

    @classmethod
    def read(cls, node: Node) -> "ProjectInfo":
        """``project.json``, each field of its type (a DocumentError naming the field)."""
        data = node.mapping()
        return cls(
            competition_name=node["competitionName"].string(nonempty=True),
            project_name=node["projectName"].string(nonempty=True),
            user_id=node["userId"].identifier(),
            size_variant=_size_variant(node["sizeVariant"]),
            api_base_url=_base_url(node["apiBaseUrl"]),
            web_base_url=_base_url(node["webBaseUrl"]),
            model_directory=node["modelDirectory"].string(DEFAULT_MODEL_DIR, nonempty=True),
            extra={k: v for k, v in data.items() if k not in cls._KEYS},
        )

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ProjectInfo":
        return cls.read(Node(data, strict=True))


SIZE_VARIANTS = ("DEFAULT", "SMALL", "LARGE")


def _size_variant(node: Node) -> str:
    value = node.string("DEFAULT")
    if value.strip().upper() not in SIZE_VARIANTS:
        raise node.fail(f"expected one of {', '.join(SIZE_VARIANTS)}, got {describe(value)}")
    return value.strip().upper()


def _base_url(node: Node) -> Optional[str]:
    """A hub URL of ``project.json``: an http(s) URL, or absent."""
    from ..exceptions import ConfigurationError
    from .settings import normalize_base_url

    value = node.string(None)
    if value is None:
        return None
    try:
        return normalize_base_url(value)
    except ConfigurationError:
        raise node.fail(f"expected an http:// or https:// URL, got {describe(value)}") from None


REFETCH_CACHE = ": run `crunch download` to fetch it again"
REPAIR_KEPT_KEYS = ": correct it, or run `crunch setup ... --force` to repair the workspace"


def read_kept_keys(node: Node) -> Dict[str, str]:
    """``workspace.json``: the keys of ``project.json`` that crunch-cli 13 drops when it
    rewrites that file (the hub's addresses, the model directory), each of its type; other
    keys are left alone."""
    node.mapping()
    kept = {"apiBaseUrl": _base_url(node["apiBaseUrl"]), "webBaseUrl": _base_url(node["webBaseUrl"])}
    kept["modelDirectory"] = node["modelDirectory"].string(None, nonempty=True)
    return {key: value for key, value in kept.items() if value is not None}


def read_round_cache(node: Node) -> Optional[int]:
    """``round.json``: ``{"number": N, "id": ...}`` of the round whose data release is cached."""
    node["id"].identifier(None)
    return node["number"].integer(None)


def find_root(start: Optional[PathLike] = None) -> Optional[Path]:
    """The nearest folder at or above ``start`` holding ``.crunchdao/project.json``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        marker = folder / DOT_DIR / PROJECT_FILE
        if marker.exists() and not marker.is_dir():  # a FIFO or a device there is reported by project()
            return folder
    return None


class Workspace:
    """A workspace on disk, rooted at ``root``."""

    def __init__(self, root: PathLike) -> None:
        self.root = Path(root).resolve()

    # -- discovery --------------------------------------------------------------------------

    @classmethod
    def find(cls, start: Optional[PathLike] = None) -> "Workspace":
        root = find_root(start)
        if root is None:
            raise NotInWorkspaceError(Path(start or os.getcwd()))
        return cls(root)

    # -- paths -----------------------------------------------------------------------------

    @property
    def dot_dir(self) -> Path:
        return self.root / DOT_DIR

    @property
    def project_file(self) -> Path:
        return self.dot_dir / PROJECT_FILE

    @property
    def token_file(self) -> Path:
        return self.dot_dir / TOKEN_FILE

    @property
    def data_dir(self) -> Path:
        return self.root / DATA_DIR

    @property
    def prediction_dir(self) -> Path:
        return self.root / PREDICTION_DIR

    def model_dir(self, override: Optional[str] = None) -> Path:
        return self.root / (override or self.project().model_directory)

    def cache_path(self, name: str) -> Path:
        return self.dot_dir / name

    # -- project.json ---------------------------------------------------------------------

    def project(self) -> ProjectInfo:
        try:
            text = read_text(self.project_file)
        except FileNotFoundError:
            raise WorkspaceError(
                f"{self.project_file} is missing: run `crunch setup ... --force` in {self.root} to repair the workspace"
            ) from None
        except OSError as error:
            raise WorkspaceError(f"cannot read {self.project_file}: {error.strerror}") from None
        except UnicodeDecodeError:
            text = ""  # not text: reported as corrupt below
        try:
            data = load_json(text)
        except ValueError:
            data = None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("competitionName"), str)
            or not data.get("competitionName")
            or not isinstance(data.get("projectName") or "", str)
        ):
            raise WorkspaceError(
                f"{self.project_file} is corrupt (expected JSON with competitionName and projectName): "
                "run `crunch setup ... --force` to repair the workspace"
            )
        data = dict(data)
        if not data.get("projectName"):  # a crunch-cli 3.x workspace: its project is "default"
            data["projectName"] = LEGACY_PROJECT_NAME
        kept = self.load_cache(WORKSPACE_FILE, read_kept_keys, default={}, hint=REPAIR_KEPT_KEYS, strict=True)
        model_directory_file = self.project_file
        if "modelDirectory" in kept and "modelDirectory" not in data:
            model_directory_file = self.cache_path(WORKSPACE_FILE)
        for key, value in kept.items():  # what crunch-cli 13 dropped when it rewrote project.json
            data.setdefault(key, value)
        info = parse(
            ProjectInfo.read,
            data,
            str(self.project_file),
            ": correct that field, or run `crunch setup ... --force` to repair the workspace",
            WorkspaceError,
            strict=True,
        )
        from .modeldir import check_name

        try:
            info.model_directory = check_name(
                info.model_directory, given_as=f"the modelDirectory of {model_directory_file}", error=WorkspaceError
            )
        except WorkspaceError as error:
            raise WorkspaceError(f"{error.message}, and write it as modelDirectory in that file") from None
        return info

    def write_project(self, info: ProjectInfo) -> None:
        write_json_atomic(self.project_file, info.to_dict())
        self.write_cache(WORKSPACE_FILE, info.local_dict())

    # -- token ----------------------------------------------------------------------------

    def read_token(self) -> str:
        path = self.token_file
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise TokenError(f"no push token in this workspace ({path}): run `crunch update-token` with a fresh setup token") from None
        if special_kind(mode) is not None:
            raise TokenError(
                f"the token file {path} is {special_kind(mode)}, not a regular file: remove it, then run "
                "`crunch update-token` with a fresh setup token"
            )
        if sys.platform != "win32" and stat.S_IMODE(mode) & 0o077:
            raise TokenError(
                f"the token file {path} can be read by other users (mode {stat.S_IMODE(mode):04o}): "
                f"run `chmod 600 {path}`"
            )
        try:
            token = read_text(path).strip()
        except OSError as error:
            raise TokenError(f"cannot read the token file {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            token = ""
        if not token:
            raise TokenError(f"the token file {path} is empty or unreadable: run `crunch update-token` with a fresh setup token")
        register(token)
        return token

    def check_token_replaceable(self) -> None:
        """Raise a TokenError unless :meth:`write_token` can replace the token file (a file
        written beside it, then renamed over it): checked before a setup token is spent."""
        import tempfile

        path = self.token_file
        if path.is_dir() and not path.is_symlink():
            raise TokenError(f"the token file {path} is a folder: remove it, then run the command again")
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{TOKEN_FILE}.", suffix=".check", dir=self.dot_dir)
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            raise TokenError(
                f"the token file {path} cannot be replaced: {self.dot_dir} is not writable ({error.strerror or error}). "
                f"Make it writable (chmod u+w {self.dot_dir}), then run the command again: the setup token was not used"
            ) from None

    def write_token(self, token: str) -> None:
        register(token)
        ensure_folder(self.dot_dir)
        # no newline: crunch-cli 13 sends the file's text as it is in its Authorization header
        write_text_atomic(self.token_file, token.strip(), mode=0o600)

    # -- caches ---------------------------------------------------------------------------

    def read_cache(self, name: str) -> Any:
        """The cached JSON ``name`` as it is, or ``None`` when absent or unreadable."""
        try:
            return load_json(read_text(self.cache_path(name)))
        except (OSError, ValueError):
            return None

    def load_cache(self, name: str, reader: Callable[[Node], T], default: Any = None, hint: str = REFETCH_CACHE, strict: bool = False) -> Any:
        """The cached JSON ``name`` read by ``reader`` (see :mod:`crunch.core.jsonshape`; ``strict``
        for a file of our own rather than a hub's answer), or ``default`` when the file is absent.

        A file that cannot be read, is not JSON or not of the shape ``reader`` expects is a
        :class:`~crunch.exceptions.CorruptCacheError` naming it and the field, ending with
        ``hint`` (what to do: fetch it again, by default).
        """
        path = self.cache_path(name)
        try:
            text = read_text(path)  # a FIFO there is refused, naming it
        except FileNotFoundError:
            return default
        except OSError as error:
            raise CorruptCacheError(f"cannot read {path} ({error.strerror or type(error).__name__}){hint}", path) from None
        except UnicodeDecodeError:
            raise CorruptCacheError(f"{path} is damaged (not UTF-8 text){hint}", path) from None
        try:
            data = load_json(text)  # nested too deep: a ValueError too
        except ValueError:
            raise CorruptCacheError(f"{path} is damaged (not valid JSON){hint}", path) from None
        return parse(reader, data, str(path), hint, lambda message, failure: CorruptCacheError(message, path), strict=strict)

    def cached_round_number(self) -> Any:
        """The number of the round whose data release is cached, or ``None``."""
        return self.load_cache(CACHE_ROUND, read_round_cache)

    def write_cache(self, name: str, value: Any) -> None:
        """Write the JSON ``name`` atomically; a cache that already holds ``value`` is left alone."""
        path = self.cache_path(name)
        text = json_text(value)
        try:
            if read_text(path) == text:
                return
        except (OSError, ValueError):
            pass
        write_text_atomic(path, text)

    # -- layout ---------------------------------------------------------------------------

    def create_layout(self, model_directory: str = DEFAULT_MODEL_DIR) -> None:
        for folder in (self.dot_dir, self.data_dir, self.prediction_dir, self.root / model_directory):
            ensure_folder(folder)
        gitignore = self.root / ".gitignore"
        if not gitignore.exists():
            write_text_atomic(gitignore, GITIGNORE)
        else:
            text = read_text(gitignore, errors="replace")
            missing = [line for line in GITIGNORE.splitlines()[1:] if line not in text.splitlines()]
            if missing:
                sep = "" if text.endswith("\n") or not text else "\n"
                write_text_atomic(gitignore, text + sep + "\n".join(missing) + "\n")
