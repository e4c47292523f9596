"""The hub's state: one SQLite database and a folder of files under the hub's root.

Everything the HTTP layer needs goes through :class:`Store`; it raises :class:`HubError`
(status + code + message) for answers that are not a success, which the app turns into
``{"code", "message", ...}`` JSON. Tokens are stored as sha256 digests, never in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..exceptions import ConfigurationError

CLONE_TOKEN_TTL = 180.0
UPLOAD_TTL = 24 * 3600.0
URL_TTL = 24 * 3600.0
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
MAX_CHUNKS = 10_000
MESSAGE_LIMIT = 1000
CODE_LIMIT = 5 * 1000**3  # the platform's 5 GB and 10 GB (docs/protocol.md, Limits), as the client counts them (crunch/code/files.py)
MODEL_LIMIT = 10 * 1000**3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS competitions (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, display_name TEXT NOT NULL,
    format TEXT NOT NULL, status TEXT NOT NULL, split_key_type TEXT NOT NULL,
    checks TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rounds (
    id INTEGER PRIMARY KEY, competition_id INTEGER NOT NULL, number INTEGER NOT NULL,
    start TEXT NOT NULL, "end" TEXT NOT NULL, UNIQUE (competition_id, number));
CREATE TABLE IF NOT EXISTS data_releases (
    id INTEGER PRIMARY KEY, round_id INTEGER NOT NULL, number INTEGER NOT NULL, name TEXT NOT NULL,
    embargo INTEGER NOT NULL, number_of_features INTEGER NOT NULL, column_names TEXT NOT NULL,
    splits TEXT NOT NULL, hash TEXT);
CREATE TABLE IF NOT EXISTS data_files (
    release_id INTEGER NOT NULL, size_variant TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
    path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT, compressed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (release_id, size_variant, key));
CREATE TABLE IF NOT EXISTS libraries (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, aliases TEXT NOT NULL, standard INTEGER NOT NULL,
    language TEXT NOT NULL, gpu_requirement TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS quickstarters (
    id INTEGER PRIMARY KEY, competition_id INTEGER NOT NULL, name TEXT NOT NULL, title TEXT NOT NULL,
    notebook INTEGER NOT NULL, files TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, competition_id INTEGER NOT NULL, user_id INTEGER NOT NULL, name TEXT NOT NULL,
    created_at TEXT NOT NULL, UNIQUE (competition_id, user_id, name));
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, kind TEXT NOT NULL, digest TEXT UNIQUE NOT NULL,
    valid_until REAL, used INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, digest TEXT UNIQUE NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, project_id INTEGER, name TEXT NOT NULL, size INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL, status TEXT NOT NULL, status_message TEXT,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, user_id INTEGER);
CREATE TABLE IF NOT EXISTS upload_chunks (
    upload_id TEXT NOT NULL, number INTEGER NOT NULL, "offset" INTEGER NOT NULL, size INTEGER NOT NULL,
    etag TEXT, completed_at REAL, PRIMARY KEY (upload_id, number));
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, number INTEGER NOT NULL, message TEXT NOT NULL,
    main_file_path TEXT NOT NULL, model_directory_path TEXT NOT NULL, type TEXT NOT NULL,
    total_size INTEGER NOT NULL, created_at REAL NOT NULL, UNIQUE (project_id, number));
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY, competition_id INTEGER NOT NULL, name TEXT NOT NULL, display_name TEXT NOT NULL,
    virtual INTEGER NOT NULL, is_primary INTEGER NOT NULL, UNIQUE (competition_id, name));
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY, target_id INTEGER NOT NULL, name TEXT NOT NULL, display_name TEXT NOT NULL,
    unit TEXT NOT NULL, weight INTEGER NOT NULL, score INTEGER NOT NULL, multiplier REAL NOT NULL,
    UNIQUE (target_id, name));
CREATE TABLE IF NOT EXISTS submission_files (
    submission_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, upload_id TEXT NOT NULL,
    size INTEGER NOT NULL, PRIMARY KEY (submission_id, kind, path));
CREATE TABLE IF NOT EXISTS competition_run_flags (
    competition_id INTEGER PRIMARY KEY, hide_train_frequency INTEGER NOT NULL DEFAULT 0,
    hide_force_first_train INTEGER NOT NULL DEFAULT 0);
"""


class HubError(Exception):
    """An answer that is not a success: HTTP ``status``, ``code`` and a message, plus extra fields."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def to_json(self) -> Dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def validation(field: str, message: str) -> HubError:
    return HubError(400, "VALIDATION_FAILED", f"{field}: {message}", fieldErrors=[{"field": field, "message": message}])


CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")


def refuse_control_characters(field: str, value: str, what: str = "name") -> None:
    """A VALIDATION_FAILED answer when ``value`` holds a control character (U+0000-U+001F,
    U+007F): a tab, a newline or an escape in a file name (the name is shown escaped)."""
    found = CONTROL_CHARACTER.search(value)
    if found is not None:
        raise validation(field, f"the {what} {value!r} holds a control character (U+{ord(found.group()):04X}): rename it")


NAME_LIMIT = 200


def check_name(field: str, value: str) -> None:
    """A competition, project or user name: 1 to NAME_LIMIT characters, no control character,
    no slash (names are parts of the API's paths)."""
    if not value or not value.strip():
        raise validation(field, "must not be empty")
    if len(value) > NAME_LIMIT:
        raise validation(field, f"must be at most {NAME_LIMIT} characters")
    refuse_control_characters(field, value, field)
    if not value.isprintable():  # C1 controls, bidirectional overrides, separators
        raise validation(field, f"the {field} {value!r} holds a character that cannot be shown")
    if "/" in value or "\\" in value:
        raise validation(field, f"the {field} {value!r} holds a slash")


def iso(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


TOKEN_MARKER_VARIABLE = "CRUNCH_HUB_TOKEN_MARKER"


def _mint(prefix: str, size: int) -> str:
    """A fresh secret: ``prefix`` and random text; with ``CRUNCH_HUB_TOKEN_MARKER`` set (tests that
    prove no secret leaks), the marker stands at both ends of the random part."""
    marker = "".join(c for c in os.environ.get(TOKEN_MARKER_VARIABLE, "") if c.isalnum())
    return f"{prefix}{marker}{secrets.token_urlsafe(size)}{marker}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as fd:
        for block in iter(lambda: fd.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def chunk_layout(size: int, chunk_size: int) -> List[Tuple[int, int, int]]:
    """(number, offset, size) of each chunk; an empty file is one empty chunk."""
    if size <= 0:
        return [(1, 0, 0)]
    count = -(-size // chunk_size)
    return [(i + 1, i * chunk_size, min(chunk_size, size - i * chunk_size)) for i in range(count)]


class Store:
    """SQLite state and files of one hub root. Thread-safe (one connection behind a lock)."""

    def __init__(self, root: os.PathLike | str, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        self.files = self.root / "files"
        self.clock = clock
        self._lock = threading.RLock()
        self._complete_lock = threading.Lock()
        try:
            self.files.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.root / "hub.sqlite3"), timeout=30, check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            with self._lock:
                self._db.executescript(SCHEMA)
                self._migrate()
        except OSError as error:
            raise ConfigurationError(f"cannot use {self.root} as the hub's root: {error.strerror or error}") from None
        except sqlite3.DatabaseError as error:
            raise ConfigurationError(
                f"{self.root / 'hub.sqlite3'} is not a usable hub database ({error}): give another --root, or remove that folder"
            ) from None

    def _migrate(self) -> None:
        """Columns added since a root was made: ``uploads.user_id`` (the owner of an upload made
        with an API key; for a push token's upload, the project's user); ``submissions.submitter_imprint``
        (who made a submission, as the client says: ``human/cli``, ``agent/NAME``...)."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(uploads)")}
        if "user_id" not in columns:
            self._db.execute("ALTER TABLE uploads ADD COLUMN user_id INTEGER")
            self._db.execute(
                "UPDATE uploads SET user_id = (SELECT user_id FROM projects WHERE projects.id = uploads.project_id) WHERE user_id IS NULL"
            )
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(submissions)")}
        if "submitter_imprint" not in columns:
            self._db.execute("ALTER TABLE submissions ADD COLUMN submitter_imprint TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def one(self, sql: str, *args: Any) -> Optional[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def all(self, sql: str, *args: Any) -> List[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        row = self.one("SELECT value FROM meta WHERE key = ?", key)
        return row["value"] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def secret(self) -> bytes:
        value = self.meta("secret")
        if value is None:
            with self.tx() as db:
                row = db.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
                value = row["value"] if row else secrets.token_hex(32)
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?)", (value,))
        return value.encode()

    def sign(self, path: str, expires: int) -> str:
        return hmac.new(self.secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_query(self, path: str, ttl: float = URL_TTL) -> str:
        expires = int(self.clock() + ttl)
        return f"expires={expires}&signature={self.sign(path, expires)}"

    def check_signature(self, path: str, expires: Optional[str], signature: Optional[str]) -> None:
        try:
            when = int(expires or "")
        except ValueError:
            raise HubError(403, "INVALID_SIGNATURE", "the link is not signed: ask the hub for a fresh one") from None
        if not signature or not hmac.compare_digest(self.sign(path, when), signature):
            raise HubError(403, "INVALID_SIGNATURE", "the link's signature does not match: ask the hub for a fresh one")
        if when < self.clock():
            raise HubError(403, "EXPIRED_SIGNATURE", "the link has expired: ask the hub for a fresh one")

    def path_of(self, relative: str) -> Path:
        path = (self.files / relative).resolve()
        if not str(path).startswith(str(self.files.resolve()) + os.sep):
            raise HubError(404, "NOT_FOUND", "no such file")
        return path

    # -- competitions -------------------------------------------------------------------------

    def competition(self, id_or_name: str) -> sqlite3.Row:
        key = str(id_or_name)
        row = self.one("SELECT * FROM competitions WHERE name = ?", key)
        if row is None and key.isdigit():
            row = self.one("SELECT * FROM competitions WHERE id = ?", int(key))
        if row is None:
            raise HubError(404, "COMPETITION_NAME_NOT_FOUND", f"no competition named {key!r}")
        return row

    def competitions(self) -> List[sqlite3.Row]:
        return self.all("SELECT * FROM competitions ORDER BY id")

    def run_flags(self, competition_id: int) -> Dict[str, bool]:
        """Which run options the competition hides from participants: ``hideTrainFrequency``
        (runs take no train frequency, 0 is used) and ``hideForceFirstTrain``; both False unless set."""
        row = self.one("SELECT * FROM competition_run_flags WHERE competition_id = ?", competition_id)
        return {
            "hideTrainFrequency": bool(row["hide_train_frequency"]) if row else False,
            "hideForceFirstTrain": bool(row["hide_force_first_train"]) if row else False,
        }

    def set_run_flags(
        self, competition_id: int, *, hide_train_frequency: Optional[bool] = None, hide_force_first_train: Optional[bool] = None
    ) -> Dict[str, bool]:
        """Set either flag of :meth:`run_flags` (None keeps it); returns both."""
        if hide_train_frequency is None and hide_force_first_train is None:
            return self.run_flags(competition_id)
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO competition_run_flags (competition_id) VALUES (?)", (competition_id,))
            if hide_train_frequency is not None:
                db.execute(
                    "UPDATE competition_run_flags SET hide_train_frequency = ? WHERE competition_id = ?",
                    (int(hide_train_frequency), competition_id),
                )
            if hide_force_first_train is not None:
                db.execute(
                    "UPDATE competition_run_flags SET hide_force_first_train = ? WHERE competition_id = ?",
                    (int(hide_force_first_train), competition_id),
                )
        return self.run_flags(competition_id)

    def round(self, competition_id: int, number: str) -> sqlite3.Row:
        if number in ("@current", "@last"):
            row = self.one("SELECT * FROM rounds WHERE competition_id = ? ORDER BY number DESC LIMIT 1", competition_id)
        elif str(number).isdigit():
            row = self.one("SELECT * FROM rounds WHERE competition_id = ? AND number = ?", competition_id, int(number))
        else:
            row = None
        if row is None:
            raise HubError(404, "ROUND_NOT_FOUND", f"no round {number!r}")
        return row

    def data_release(self, round_id: int) -> sqlite3.Row:
        row = self.one("SELECT * FROM data_releases WHERE round_id = ? ORDER BY number DESC LIMIT 1", round_id)
        if row is None:
            raise HubError(404, "CRUNCH_NOT_FOUND", "no data published for this round")
        return row

    def data_files(self, release_id: int, size_variant: str) -> List[sqlite3.Row]:
        rows = self.all("SELECT * FROM data_files WHERE release_id = ? AND size_variant = ? ORDER BY rowid", release_id, size_variant)
        if not rows and size_variant != "DEFAULT":
            rows = self.all("SELECT * FROM data_files WHERE release_id = ? AND size_variant = 'DEFAULT' ORDER BY rowid", release_id)
        if not rows:
            raise HubError(404, "MISSING_PHASE_DATA", "no data files for this phase")
        return rows

    def add_competition(
        self,
        *,
        name: str,
        display_name: str,
        format: str,
        checks: List[Dict[str, Any]],
        embargo: int,
        number_of_features: int,
        column_names: Dict[str, Any],
        splits: List[Dict[str, Any]],
        files: Dict[str, Dict[str, Dict[str, Any]]],
        split_key_type: str = "INTEGER",
        replace: bool = False,
    ) -> int:
        """Create (or replace) a competition with round 1 and its data release.

        ``files`` maps a size variant to ``{key: {"name", "path", "size", "sha256", "compressed"}}``
        with ``path`` relative to the files folder.
        """
        created = iso(self.clock())
        with self.tx() as db:
            old = db.execute("SELECT id FROM competitions WHERE name = ?", (name,)).fetchone()
            if old is not None:
                if not replace:
                    raise HubError(409, "COMPETITION_ALREADY_EXISTS", f"a competition named {name!r} already exists")
                cid = old["id"]
                db.execute(
                    "UPDATE competitions SET display_name = ?, format = ?, split_key_type = ?, checks = ? WHERE id = ?",
                    (display_name, format, split_key_type, json.dumps(checks), cid),
                )
                for r in db.execute("SELECT id FROM rounds WHERE competition_id = ?", (cid,)).fetchall():
                    for release in db.execute("SELECT id FROM data_releases WHERE round_id = ?", (r["id"],)).fetchall():
                        db.execute("DELETE FROM data_files WHERE release_id = ?", (release["id"],))
                    db.execute("DELETE FROM data_releases WHERE round_id = ?", (r["id"],))
                db.execute("DELETE FROM rounds WHERE competition_id = ?", (cid,))
            else:
                cid = db.execute(
                    "INSERT INTO competitions (name, display_name, format, status, split_key_type, checks, created_at)"
                    " VALUES (?, ?, ?, 'OPEN', ?, ?, ?)",
                    (name, display_name, format, split_key_type, json.dumps(checks), created),
                ).lastrowid
            round_id = db.execute(
                "INSERT INTO rounds (competition_id, number, start, \"end\") VALUES (?, 1, ?, ?)",
                (cid, "2024-01-01T00:00:00Z", "2099-12-31T23:59:59Z"),
            ).lastrowid
            release_hash = hashlib.sha256(
                json.dumps({v: {k: f.get("sha256") for k, f in fs.items()} for v, fs in files.items()}, sort_keys=True).encode()
            ).hexdigest()
            release_id = db.execute(
                "INSERT INTO data_releases (round_id, number, name, embargo, number_of_features, column_names, splits, hash)"
                " VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
                (round_id, f"{name} data", embargo, number_of_features, json.dumps(column_names), json.dumps(splits), release_hash),
            ).lastrowid
            for variant, entries in files.items():
                for key, entry in entries.items():
                    db.execute(
                        "INSERT INTO data_files (release_id, size_variant, key, name, path, size, sha256, compressed)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (release_id, variant, key, entry["name"], entry["path"], entry["size"], entry.get("sha256"), int(bool(entry.get("compressed")))),
                    )
            has_targets = db.execute("SELECT 1 FROM targets WHERE competition_id = ? LIMIT 1", (cid,)).fetchone() is not None
        if not has_targets:  # a classic competition: its release's targets, each scored by one metric
            names = list((column_names.get("targets") or {}).keys()) or ["target"]
            self.set_targets(int(cid), [
                {"name": target, "displayName": target.replace("_", " ").capitalize(), "primary": index == 0,
                 "metrics": [{"name": "score", "displayName": "Score", "weight": 100}]}
                for index, target in enumerate(names)
            ])
        return int(cid)

    def set_targets(self, competition_id: int, targets: List[Dict[str, Any]]) -> None:
        """Replace a competition's targets: ``[{"name", "displayName"?, "virtual"?, "primary"?,
        "metrics": [{"name", "displayName"?, "unit"?, "weight"?, "score"?, "multiplier"?}]}]``."""
        with self.tx() as db:
            for row in db.execute("SELECT id FROM targets WHERE competition_id = ?", (competition_id,)).fetchall():
                db.execute("DELETE FROM metrics WHERE target_id = ?", (row["id"],))
            db.execute("DELETE FROM targets WHERE competition_id = ?", (competition_id,))
            for target in targets:
                target_id = db.execute(
                    "INSERT INTO targets (competition_id, name, display_name, virtual, is_primary) VALUES (?, ?, ?, ?, ?)",
                    (competition_id, target["name"], target.get("displayName") or target["name"],
                     int(bool(target.get("virtual"))), int(bool(target.get("primary")))),
                ).lastrowid
                for metric in target.get("metrics") or []:
                    db.execute(
                        "INSERT INTO metrics (target_id, name, display_name, unit, weight, score, multiplier) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (target_id, metric["name"], metric.get("displayName") or metric["name"],
                         json.dumps(metric.get("unit") or {"prefix": None, "scale": 4, "suffix": None}),
                         int(metric.get("weight", 1)), int(bool(metric.get("score", True))), float(metric.get("multiplier", 1.0))),
                    )

    def targets(self, competition_id: int, name: Optional[str] = None) -> List[sqlite3.Row]:
        if name is not None:
            return self.all("SELECT * FROM targets WHERE competition_id = ? AND name = ? ORDER BY id", competition_id, name)
        return self.all("SELECT * FROM targets WHERE competition_id = ? ORDER BY id", competition_id)

    def metrics(self, target_id: int) -> List[sqlite3.Row]:
        return self.all("SELECT * FROM metrics WHERE target_id = ? ORDER BY id", target_id)

    def code_dir(self, competition: str) -> Path:
        """Where a competition's code is served from: ``<code_dir>/<file>`` is ``competitions/<name>/scoring/<file>``."""
        return self.files / "competitions" / competition / "code" / "scoring"

    def private_dir(self, competition: str) -> Path:
        """A competition's private files: kept outside the served folder, never in a data release."""
        return self.root / "private" / competition

    def clear_quickstarters(self, competition_id: int) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM quickstarters WHERE competition_id = ?", (competition_id,))

    def add_quickstarter(self, competition_id: int, name: str, title: str, files: List[Dict[str, str]], notebook: bool = False) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM quickstarters WHERE competition_id = ? AND name = ?", (competition_id, name))
            db.execute(
                "INSERT INTO quickstarters (competition_id, name, title, notebook, files) VALUES (?, ?, ?, ?, ?)",
                (competition_id, name, title, int(notebook), json.dumps(files)),
            )

    def add_library(self, name: str, aliases: List[str], standard: bool = False, gpu_requirement: str = "OPTIONAL") -> None:
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO libraries (name, aliases, standard, language, gpu_requirement) VALUES (?, ?, ?, 'PYTHON', ?)",
                (name, json.dumps(aliases), int(standard), gpu_requirement),
            )

    # -- users, projects, tokens --------------------------------------------------------------

    def ensure_project(self, competition: str, project: str, user: str) -> sqlite3.Row:
        comp = self.competition(competition)
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO users (name) VALUES (?)", (user,))
            user_id = db.execute("SELECT id FROM users WHERE name = ?", (user,)).fetchone()["id"]
            db.execute(
                "INSERT OR IGNORE INTO projects (competition_id, user_id, name, created_at) VALUES (?, ?, ?, ?)",
                (comp["id"], user_id, project, iso(self.clock())),
            )
            return db.execute(
                "SELECT * FROM projects WHERE competition_id = ? AND user_id = ? AND name = ?", (comp["id"], user_id, project)
            ).fetchone()

    def mint_clone_token(
        self, competition: str, project: str, user: str = "me", ttl: float = CLONE_TOKEN_TTL, value: Optional[str] = None
    ) -> str:
        """A fresh single-use setup token for the project (created on first use); ``value``: the
        token's text when given (a notebook that holds a placeholder token runs unmodified)."""
        row = self.ensure_project(competition, project, user)
        token = value or _mint("clone-", 24)
        now = self.clock()
        with self.tx() as db:
            db.execute(
                "INSERT INTO tokens (project_id, kind, digest, valid_until, created_at) VALUES (?, 'CLONE', ?, ?, ?)",
                (row["id"], digest(token), now + ttl, now),
            )
        return token

    def mint_api_key(self, user: str) -> str:
        token = _mint("key-", 24)
        with self.tx() as db:
            db.execute("INSERT OR IGNORE INTO users (name) VALUES (?)", (user,))
            user_id = db.execute("SELECT id FROM users WHERE name = ?", (user,)).fetchone()["id"]
            db.execute("INSERT INTO api_keys (user_id, digest, created_at) VALUES (?, ?, ?)", (user_id, digest(token), self.clock()))
        return token

    def upgrade_token(self, clone_token: str) -> Tuple[str, sqlite3.Row]:
        """Exchange a setup token for a new push token: (plain push token, project row)."""
        now = self.clock()
        with self.tx() as db:
            row = db.execute("SELECT * FROM tokens WHERE digest = ? AND kind = 'CLONE'", (digest(clone_token or ""),)).fetchone()
            if row is None or row["used"] or (row["valid_until"] is not None and row["valid_until"] < now):
                raise HubError(401, "INVALID_PROJECT_TOKEN", "the setup token is unknown, already used or expired")
            db.execute("UPDATE tokens SET used = 1 WHERE id = ?", (row["id"],))
            plain = _mint("push-", 32)
            db.execute(
                "INSERT INTO tokens (project_id, kind, digest, valid_until, created_at) VALUES (?, 'PUSH', ?, NULL, ?)",
                (row["project_id"], digest(plain), now),
            )
            project = db.execute("SELECT * FROM projects WHERE id = ?", (row["project_id"],)).fetchone()
        return plain, project

    def project_of_push_token(self, token: Optional[str]) -> Optional[sqlite3.Row]:
        if not token:
            return None
        row = self.one("SELECT * FROM tokens WHERE digest = ? AND kind = 'PUSH'", digest(token))
        if row is None or (row["valid_until"] is not None and row["valid_until"] < self.clock()):
            return None
        return self.one("SELECT * FROM projects WHERE id = ?", row["project_id"])

    def user_of_api_key(self, key: Optional[str]) -> Optional[sqlite3.Row]:
        if not key:
            return None
        row = self.one("SELECT * FROM api_keys WHERE digest = ?", digest(key))
        return self.one("SELECT * FROM users WHERE id = ?", row["user_id"]) if row else None

    def user(self, user_id: int) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM users WHERE id = ?", user_id)

    def find_project(self, competition_id: int, user: str, name: str) -> sqlite3.Row:
        """A project by its user (id or name) and its name."""
        row = None
        if str(user).isdigit():
            row = self.one("SELECT * FROM projects WHERE competition_id = ? AND user_id = ? AND name = ?", competition_id, int(user), name)
        if row is None:
            row = self.one(
                "SELECT p.* FROM projects p JOIN users u ON u.id = p.user_id WHERE p.competition_id = ? AND u.name = ? AND p.name = ?",
                competition_id, str(user), name,
            )
        if row is None:
            raise HubError(404, "PROJECT_NOT_FOUND", f"no project {name!r} of user {user!r} in this competition")
        return row

    # -- uploads ------------------------------------------------------------------------------

    def _refresh_expiry(self, db: sqlite3.Connection, row: sqlite3.Row) -> sqlite3.Row:
        if row["status"] in ("PENDING", "IN_PROGRESS") and row["expires_at"] < self.clock():
            db.execute("UPDATE uploads SET status = 'EXPIRED', status_message = 'expired' WHERE id = ?", (row["id"],))
            self._remove_upload_files(row["id"], keep_blob=False)
            row = db.execute("SELECT * FROM uploads WHERE id = ?", (row["id"],)).fetchone()
        return row

    def upload_dir(self, upload_id: str) -> Path:
        return self.files / "uploads" / upload_id

    def _remove_upload_files(self, upload_id: str, keep_blob: bool) -> None:
        folder = self.upload_dir(upload_id)
        if not folder.is_dir():
            return
        if not keep_blob:
            shutil.rmtree(folder, ignore_errors=True)
            return
        for child in folder.iterdir():
            if child.name != "blob":
                child.unlink(missing_ok=True)

    def create_upload(
        self, project_id: Optional[int], name: str, size: int, preferred_chunk_size: Optional[int], user_id: Optional[int] = None
    ) -> str:
        """A new upload of ``project_id`` (a push token's), or of ``user_id`` alone (an API key's)."""
        if project_id is not None and user_id is None:
            owner = self.one("SELECT user_id FROM projects WHERE id = ?", project_id)
            user_id = owner["user_id"] if owner else None
        chunk_size = int(preferred_chunk_size or DEFAULT_CHUNK_SIZE)
        if chunk_size < 1:
            raise validation("preferredChunkSize", "must be positive")
        if size > 0 and -(-size // chunk_size) > MAX_CHUNKS:
            chunk_size = -(-size // MAX_CHUNKS)
        upload_id = secrets.token_hex(12)
        now = self.clock()
        with self.tx() as db:
            db.execute(
                "INSERT INTO uploads (id, project_id, user_id, name, size, chunk_size, status, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?, ?)",
                (upload_id, project_id, user_id, name, size, chunk_size, now, now + UPLOAD_TTL),
            )
            for number, offset, length in chunk_layout(size, chunk_size):
                db.execute(
                    "INSERT INTO upload_chunks (upload_id, number, \"offset\", size) VALUES (?, ?, ?, ?)",
                    (upload_id, number, offset, length),
                )
        self.upload_dir(upload_id).mkdir(parents=True, exist_ok=True)
        return upload_id

    def upload(self, upload_id: str) -> sqlite3.Row:
        with self.tx() as db:
            row = db.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
            if row is None:
                raise HubError(404, "UPLOAD_NOT_FOUND", f"no upload {upload_id!r}")
            return self._refresh_expiry(db, row)

    @staticmethod
    def owns_upload(upload: sqlite3.Row, project_id: Optional[int], user_id: Optional[int]) -> bool:
        """Whether a caller may use ``upload``: a push token's project only its own project's
        uploads; an API key's user (``project_id`` None) only the uploads of its own projects
        and its own API-key uploads."""
        if project_id is not None:
            return upload["project_id"] == project_id
        return user_id is not None and upload["user_id"] == user_id

    def upload_chunks(self, upload_id: str) -> List[sqlite3.Row]:
        return self.all("SELECT * FROM upload_chunks WHERE upload_id = ? ORDER BY number", upload_id)

    def chunk(self, upload_id: str, number: int, writable: bool = True) -> Tuple[sqlite3.Row, sqlite3.Row]:
        upload = self.upload(upload_id)
        if writable and upload["status"] not in ("PENDING", "IN_PROGRESS"):
            raise HubError(409, "UPLOAD_NOT_IN_PROGRESS", f"the upload is {upload['status']}: start a new one")
        row = self.one("SELECT * FROM upload_chunks WHERE upload_id = ? AND number = ?", upload_id, number)
        if row is None:
            raise HubError(404, "UPLOAD_CHUNK_NOT_FOUND", f"no chunk {number} in this upload")
        return upload, row

    def part_path(self, upload_id: str) -> Path:
        """The upload's file while its chunks arrive, each written at its offset."""
        return self.upload_dir(upload_id) / "blob.part"

    def chunk_receiving(self, upload_id: str, number: int) -> None:
        """A chunk is being (re)sent: until it arrives whole, it counts as not received."""
        with self.tx() as db:
            db.execute("UPDATE upload_chunks SET etag = NULL, completed_at = NULL WHERE upload_id = ? AND number = ?", (upload_id, number))

    def chunk_received(self, upload_id: str, number: int, etag: str) -> None:
        with self.tx() as db:
            db.execute("UPDATE upload_chunks SET etag = ? WHERE upload_id = ? AND number = ?", (etag, upload_id, number))
            db.execute("UPDATE uploads SET status = 'IN_PROGRESS' WHERE id = ? AND status = 'PENDING'", (upload_id,))

    def confirm_chunk(self, upload_id: str, number: int, hash_: str) -> None:
        upload, row = self.chunk(upload_id, number, writable=False)
        if row["completed_at"] is not None and row["etag"] == (hash_ or "").strip('"'):
            return  # confirming twice is harmless
        if upload["status"] not in ("PENDING", "IN_PROGRESS"):
            raise HubError(409, "UPLOAD_NOT_IN_PROGRESS", f"the upload is {upload['status']}: start a new one")
        if row["etag"] is None:
            raise HubError(409, "UPLOAD_CHUNK_NOT_RECEIVED", f"chunk {number} was not received yet: send it first")
        if row["etag"] != (hash_ or "").strip().strip('"'):
            raise validation("hash", f"does not match the ETag of chunk {number}: send the chunk again")
        with self.tx() as db:
            db.execute("UPDATE upload_chunks SET completed_at = ? WHERE upload_id = ? AND number = ?", (self.clock(), upload_id, number))

    def complete_upload(self, upload_id: str) -> None:
        with self._complete_lock:  # a retried `complete` may arrive while the first one runs
            self._complete_upload(upload_id)

    def _complete_upload(self, upload_id: str) -> None:
        upload = self.upload(upload_id)
        if upload["status"] == "SUCCEEDED":
            return
        if upload["status"] not in ("PENDING", "IN_PROGRESS"):
            raise HubError(409, "UPLOAD_NOT_IN_PROGRESS", f"the upload is {upload['status']}: start a new one")
        chunks = self.upload_chunks(upload_id)
        missing = [c["number"] for c in chunks if c["completed_at"] is None]
        if missing:
            raise HubError(409, "UPLOAD_CHUNKS_MISSING", f"chunks not confirmed yet: {missing}", missingChunks=missing)
        blob = self.upload_dir(upload_id) / "blob"
        part = self.part_path(upload_id)
        if not part.exists():  # an empty file: no chunk wrote anything
            part.parent.mkdir(parents=True, exist_ok=True)
            part.touch()
        if part.stat().st_size != upload["size"]:
            part.unlink()
            raise HubError(409, "UPLOAD_SIZE_MISMATCH", "the chunks do not add up to the announced size: start a new upload")
        os.replace(part, blob)
        self._remove_upload_files(upload_id, keep_blob=True)
        with self.tx() as db:
            db.execute("UPDATE uploads SET status = 'SUCCEEDED', status_message = NULL WHERE id = ?", (upload_id,))

    def abort_upload(self, upload_id: str) -> None:
        upload = self.upload(upload_id)
        if upload["status"] in ("PENDING", "IN_PROGRESS"):
            with self.tx() as db:
                db.execute("UPDATE uploads SET status = 'FAILED', status_message = 'aborted' WHERE id = ?", (upload_id,))
            self._remove_upload_files(upload_id, keep_blob=False)

    def delete_upload(self, upload_id: str) -> bool:
        row = self.one("SELECT id FROM uploads WHERE id = ?", upload_id)
        if row is None:
            return False
        with self.tx() as db:
            db.execute("DELETE FROM upload_chunks WHERE upload_id = ?", (upload_id,))
            used = db.execute("SELECT 1 FROM submission_files WHERE upload_id = ? LIMIT 1", (upload_id,)).fetchone()
            if used:  # a submission keeps its files: forget the chunks only
                db.execute("UPDATE uploads SET expires_at = 0 WHERE id = ?", (upload_id,))
            else:
                db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
        if not used:
            self._remove_upload_files(upload_id, keep_blob=False)
        return True

    def expire_uploads(self, upload_id: Optional[str] = None) -> int:
        """Make pending uploads (one or all) expire now; returns how many."""
        with self.tx() as db:
            if upload_id:
                rows = db.execute("SELECT * FROM uploads WHERE id = ? AND status IN ('PENDING', 'IN_PROGRESS')", (upload_id,)).fetchall()
            else:
                rows = db.execute("SELECT * FROM uploads WHERE status IN ('PENDING', 'IN_PROGRESS')").fetchall()
            for row in rows:
                db.execute("UPDATE uploads SET expires_at = ? WHERE id = ?", (self.clock() - 1, row["id"]))
        for row in rows:
            self.upload(row["id"])
        return len(rows)

    def pending_uploads(self) -> int:
        rows = self.all("SELECT id FROM uploads WHERE status IN ('PENDING', 'IN_PROGRESS')")
        count = 0
        for row in rows:
            if self.upload(row["id"])["status"] in ("PENDING", "IN_PROGRESS"):
                count += 1
        return count

    # -- submissions --------------------------------------------------------------------------

    def create_submission(
        self,
        project: sqlite3.Row,
        *,
        message: str,
        main_file_path: str,
        model_directory_path: str,
        type_: str,
        code_files: Dict[str, str],
        model_files: Dict[str, str],
        daily_limit: int,
        code_limit: int = CODE_LIMIT,
        model_limit: int = MODEL_LIMIT,
        check_libraries: bool = True,
        submitter_imprint: Optional[str] = None,
    ) -> sqlite3.Row:
        sizes: Dict[str, int] = {}
        for kind, files in (("codeFiles", code_files), ("modelFiles", model_files)):
            for path, upload_id in files.items():
                if isinstance(path, str):
                    refuse_control_characters(kind, path, "file name")
                if not isinstance(path, str) or not path or path.startswith("/") or ".." in Path(path).parts or "\\" in path:
                    raise validation(kind, f"{path!r} is not a relative path")
                try:
                    upload = self.upload(str(upload_id))
                except HubError:
                    raise validation(kind, f"{path}: no upload {upload_id!r}") from None
                mine = upload["project_id"] == project["id"] or (upload["project_id"] is None and upload["user_id"] == project["user_id"])
                if not mine:
                    raise HubError(403, "AUTHORIZATION_DENIED", f"{kind}: {path}: upload {upload_id} belongs to another project")
                if upload["status"] != "SUCCEEDED":
                    raise validation(kind, f"{path}: upload {upload_id} is {upload['status']}, not SUCCEEDED")
                sizes[f"{kind}:{path}"] = upload["size"]
        if check_libraries and "requirements.txt" in code_files:
            blob = self.upload_dir(str(code_files["requirements.txt"])) / "blob"
            text = blob.read_text(encoding="utf-8", errors="replace") if blob.is_file() else ""
            forbidden = self.forbidden_libraries(text)
            if forbidden:
                raise HubError(
                    400, "FORBIDDEN_LIBRARY", f"not on the whitelist: {', '.join(forbidden)}", packages=forbidden
                )
        code_size = sum(v for k, v in sizes.items() if k.startswith("codeFiles:"))
        model_size = sum(v for k, v in sizes.items() if k.startswith("modelFiles:"))
        if code_size > code_limit:
            raise HubError(400, "SUBMISSION_TOO_BIG", f"the code files add up to {code_size} bytes, more than {code_limit}")
        if model_size > model_limit:
            raise HubError(400, "MODEL_TOO_BIG", f"the model files add up to {model_size} bytes, more than {model_limit}")
        now = self.clock()
        day_start = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        with self.tx() as db:
            today = db.execute(
                "SELECT COUNT(*) AS n FROM submissions WHERE project_id = ? AND created_at >= ?", (project["id"], day_start)
            ).fetchone()["n"]
            if today >= daily_limit:
                raise HubError(
                    429, "DAILY_SUBMISSION_LIMIT_EXCEEDED", f"{daily_limit} submission(s) per day at most", limit=daily_limit
                )
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 AS n FROM submissions WHERE project_id = ?", (project["id"],)).fetchone()["n"]
            sid = db.execute(
                "INSERT INTO submissions (project_id, number, message, main_file_path, model_directory_path, type, total_size, created_at,"
                " submitter_imprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project["id"], number, message, main_file_path, model_directory_path, type_, code_size + model_size, now, submitter_imprint),
            ).lastrowid
            for kind, files in (("CODE", code_files), ("MODEL", model_files)):
                for path, upload_id in files.items():
                    db.execute(
                        "INSERT INTO submission_files (submission_id, kind, path, upload_id, size) VALUES (?, ?, ?, ?, ?)",
                        (sid, kind, path, str(upload_id), sizes[("codeFiles:" if kind == "CODE" else "modelFiles:") + path]),
                    )
            return db.execute("SELECT * FROM submissions WHERE id = ?", (sid,)).fetchone()

    def forbidden_libraries(self, requirements: str) -> List[str]:
        """Names required by a requirements.txt that are neither a library nor an alias of one."""
        from packaging.requirements import InvalidRequirement, Requirement
        from packaging.utils import canonicalize_name

        allowed = set()
        for row in self.all("SELECT name, aliases FROM libraries WHERE language = 'PYTHON'"):
            allowed.add(canonicalize_name(row["name"]))
            allowed.update(canonicalize_name(alias) for alias in json.loads(row["aliases"]))
        forbidden: List[str] = []
        for raw in requirements.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith(("#", "-")):
                continue
            try:
                name = Requirement(line).name
            except InvalidRequirement:
                continue
            if canonicalize_name(name) not in allowed and name not in forbidden:
                forbidden.append(name)
        return forbidden

    def submissions(self, project_id: int) -> List[sqlite3.Row]:
        return self.all("SELECT * FROM submissions WHERE project_id = ? ORDER BY number DESC", project_id)

    def submission(self, project_id: int, number: Optional[int]) -> sqlite3.Row:
        if number is None:
            row = self.one("SELECT * FROM submissions WHERE project_id = ? ORDER BY number DESC LIMIT 1", project_id)
            if row is None:
                raise HubError(404, "NEVER_SUBMITTED", "this project has never submitted")
            return row
        row = self.one("SELECT * FROM submissions WHERE project_id = ? AND number = ?", project_id, number)
        if row is None:
            if self.one("SELECT 1 FROM submissions WHERE project_id = ?", project_id) is None:
                raise HubError(404, "NEVER_SUBMITTED", "this project has never submitted")
            raise HubError(404, "SUBMISSION_NOT_FOUND", f"no submission number {number}")
        return row

    def submission_files(self, submission_id: int) -> List[sqlite3.Row]:
        return self.all("SELECT * FROM submission_files WHERE submission_id = ? ORDER BY kind, path", submission_id)
