"""The uploads of earlier pushes, so that a file unchanged since then is not sent again.

A push records, for every file it sent, the file's content (sha256 and size) and the id of its
upload in ``.crunchdao/uploads.json``. The next push looks at every file: when its content
was uploaded before, and the hub still lists that upload as ``SUCCEEDED`` and not about to
expire, the submission names that upload and no byte of the file is sent.

- The content is hashed once; a file whose path, size and modification time are those it had
  when it was hashed is not read again.
- Before any reuse the hub is asked about every upload in the cache (``POST /v1/uploads/~/list``):
  an upload it no longer knows, not ``SUCCEEDED``, of another size, expired or expiring within
  :data:`EXPIRY_MARGIN` is forgotten (and deleted on the hub when it knows it). Times without a
  zone are UTC, as the platform writes them.
- An entry that :data:`KEEP_PUSHES` pushes in a row did not use is forgotten and its upload
  deleted; the file never holds more than :data:`MAX_ENTRIES` entries.
- The file holds upload ids, paths and checksums, no secret (an upload id is of use only with
  the project's push token); it is written with mode 0600 all the same, as the token beside
  it, since it names the files of the participant's code.
- A file that cannot be read (damaged, of another version) is ignored with one line; a cache
  that cannot be written is one line too: the push goes on either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..api import Client
from ..core.jsonshape import Node, load_json, parse_time
from ..exceptions import CrunchError
from ..transfer.selected import SelectedFile

CACHE_FILE = "uploads.json"  # not 13.0.1's upload-cache.json, of another form: both tools keep theirs
VERSION = 1
KEEP_PUSHES = 3
MAX_ENTRIES = 1000
MAX_LOCATIONS = 16
EXPIRY_MARGIN = dt.timedelta(hours=3)
_BLOCK = 4 << 20

Say = Callable[[str], None]


@dataclass
class Location:
    """Where a file of this content was, and its size and modification time then."""

    path: str
    size: int
    mtime_ns: int


@dataclass
class Entry:
    sha256: str
    size: int
    upload_id: str
    expires_at: Optional[dt.datetime]  # aware, UTC; None when not known yet
    created_at: Optional[dt.datetime]
    pushes_left: int = KEEP_PUSHES
    locations: List[Location] = field(default_factory=list)
    used: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "uploadId": self.upload_id,
            "expiresAt": _time_text(self.expires_at),
            "createdAt": _time_text(self.created_at),
            "pushesLeft": self.pushes_left,
            "locations": [{"path": loc.path, "size": loc.size, "mtimeNs": loc.mtime_ns} for loc in self.locations],
        }

    @classmethod
    def read(cls, node: Node) -> "Entry":
        node.mapping()
        return cls(
            sha256=node["sha256"].string(nonempty=True),
            size=node["size"].integer(minimum=0),
            upload_id=node["uploadId"].string(nonempty=True),
            expires_at=_read_time(node["expiresAt"]),
            created_at=_read_time(node["createdAt"]),
            pushes_left=node["pushesLeft"].integer(KEEP_PUSHES),
            locations=[
                Location(item["path"].string(nonempty=True), item["size"].integer(minimum=0), item["mtimeNs"].integer())
                for item in node["locations"].items([])
            ],
        )


def _time_text(moment: Optional[dt.datetime]) -> Optional[str]:
    return None if moment is None else moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _read_time(node: Node) -> Optional[dt.datetime]:
    if node.missing:
        return None
    moment = parse_time(node.value)
    if moment is None:
        raise node.fail(f"expected a time, got {node.value!r}")
    return moment


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def sha256_of(file: SelectedFile) -> str:
    hasher = hashlib.sha256()
    if file.content is not None:
        hasher.update(file.content)
    else:
        with file.open() as handle:
            while True:
                block = handle.read(_BLOCK)
                if not block:
                    break
                hasher.update(block)
    return hasher.hexdigest()


def _stat(file: SelectedFile) -> Optional[Tuple[int, int]]:
    """(size, modification time in ns) of a file on disk; None for content made in memory."""
    if file.content is not None or file.source is None:
        return None
    try:
        info = os.stat(file.source)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


@dataclass
class Fingerprint:
    sha256: str
    size: int
    stat: Optional[Tuple[int, int]]


class UploadCache:
    """The cache of one workspace for one push: :meth:`load`, then :meth:`reusable` for each
    file, :meth:`register` the files sent, :meth:`save` once the submission exists."""

    def __init__(self, path: Path, entries: List[Entry], say: Say, now: dt.datetime, checked: bool) -> None:
        self.path = path
        self.entries = entries
        self.say = say
        self.now = now
        #: the hub confirmed the entries (its listing answered): only then is one reused
        self.checked = checked
        self.forgotten: List[str] = []  # upload ids to delete on the hub

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def read_file(cls, path: Path, say: Say) -> List[Entry]:
        """The entries of the file at ``path``; none (and one line) when it cannot be read."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as error:
            say(f"upload cache {path}: cannot be read ({error.strerror or error}): every file is sent")
            return []
        try:
            node = Node(load_json(raw), strict=True)
            version = node["version"].integer()
            if version != VERSION:
                say(f"upload cache {path}: version {version} is not {VERSION}: it is ignored and replaced after this push")
                return []
            entries = [Entry.read(item) for item in node["entries"].items()]
        except (ValueError, CrunchError) as error:
            problem = getattr(error, "message", None) or str(error)
            say(f"upload cache {path}: damaged ({problem}): it is ignored and replaced after this push")
            return []
        return entries

    @classmethod
    def load(cls, dot_dir: Path, client: Client, say: Say, now: Optional[dt.datetime] = None) -> "UploadCache":
        """The cache of the workspace whose ``.crunchdao/`` is ``dot_dir``, checked with the hub."""
        now = now or utc_now()
        path = dot_dir / CACHE_FILE
        entries = cls.read_file(path, say)
        cache = cls(path, entries, say, now, checked=False)
        if entries:
            cache._check(client)
        return cache

    def _check(self, client: Client) -> None:
        """Keep the entries whose upload the hub still holds, complete and lasting long enough."""
        limit = self.now + EXPIRY_MARGIN
        kept: List[Entry] = []
        for entry in self.entries:
            if entry.expires_at is not None and entry.expires_at <= limit:
                self.forgotten.append(entry.upload_id)
            else:
                kept.append(entry)
        try:
            listed = client.list_uploads([entry.upload_id for entry in kept]) if kept else {}
        except CrunchError as error:
            self.entries = kept
            self.say(f"upload cache: the hub did not list the uploads of earlier pushes ({error.message}): every file is sent")
            return
        self.entries = []
        for entry in kept:
            node = listed.get(entry.upload_id)
            if node is None:
                continue  # the hub knows it no more
            try:
                status = node["status"].string(None)
                size = node["size"].integer(None)
                expires_at = _read_time(node["expiresAt"])
                created_at = _read_time(node["createdAt"])
            except CrunchError:
                status = None
            if status is None or status.upper() != "SUCCEEDED" or (size is not None and size != entry.size):
                self.forgotten.append(entry.upload_id)
                continue
            if expires_at is not None:
                entry.expires_at = expires_at
            if created_at is not None:
                entry.created_at = created_at
            if entry.expires_at is not None and entry.expires_at <= limit:
                self.forgotten.append(entry.upload_id)
                continue
            self.entries.append(entry)
        self.checked = True

    # -- one push -----------------------------------------------------------------------------

    def fingerprint(self, name: str, file: SelectedFile) -> Fingerprint:
        """The content of ``file`` (sent as ``name``): hashed, unless it is where it was when it
        was hashed, with the same size and modification time."""
        stat = _stat(file)
        if stat is not None:
            for entry in self.entries:
                for location in entry.locations:
                    if location.path == name and (location.size, location.mtime_ns) == stat and entry.size == file.size:
                        return Fingerprint(entry.sha256, entry.size, stat)
        return Fingerprint(sha256_of(file), file.size, stat)

    def reusable(self, name: str, fingerprint: Fingerprint) -> Optional[Entry]:
        """The entry whose upload holds this content, when the hub confirmed it."""
        if not self.checked:
            return None
        for entry in self.entries:
            if entry.sha256 == fingerprint.sha256 and entry.size == fingerprint.size:
                entry.used = True
                self._locate(entry, name, fingerprint.stat)
                return entry
        return None

    def register(self, name: str, file: SelectedFile, fingerprint: Fingerprint, upload_id: Any) -> None:
        """Remember the upload just made of ``file``, unless the file changed since it was hashed."""
        if fingerprint.stat is not None and _stat(file) != fingerprint.stat:
            return
        entry = next((e for e in self.entries if e.sha256 == fingerprint.sha256 and e.size == fingerprint.size), None)
        if entry is None:
            entry = Entry(fingerprint.sha256, fingerprint.size, str(upload_id), None, self.now)
            self.entries.append(entry)
        else:  # the same content, sent again (the cache could not be checked): the newer upload
            if entry.upload_id != str(upload_id):
                self.forgotten.append(entry.upload_id)
            entry.upload_id, entry.expires_at, entry.created_at = str(upload_id), None, self.now
        entry.used = True
        self._locate(entry, name, fingerprint.stat)

    def _locate(self, entry: Entry, name: str, stat: Optional[Tuple[int, int]]) -> None:
        for other in self.entries:
            other.locations = [loc for loc in other.locations if loc.path != name]
        if stat is not None:
            entry.locations.append(Location(name, stat[0], stat[1]))
            del entry.locations[:-MAX_LOCATIONS]

    def learn_expiry(self, client: Client) -> None:
        """Ask the hub when the uploads made by this push expire (none known: left unknown)."""
        unknown = [e for e in self.entries if e.used and e.expires_at is None]
        if not unknown:
            return
        try:
            listed = client.list_uploads([e.upload_id for e in unknown])
        except CrunchError:
            return
        for entry in unknown:
            node = listed.get(entry.upload_id)
            if node is None:
                continue
            try:
                entry.expires_at = _read_time(node["expiresAt"])
                entry.created_at = _read_time(node["createdAt"]) or entry.created_at
            except CrunchError:
                continue

    def save(self, client: Optional[Client] = None) -> None:
        """Write the cache after a push: used entries last :data:`KEEP_PUSHES` more pushes,
        the others one less; those at zero are forgotten and their uploads deleted."""
        kept: List[Entry] = []
        for entry in self.entries:
            entry.pushes_left = KEEP_PUSHES if entry.used else entry.pushes_left - 1
            if entry.pushes_left > 0:
                kept.append(entry)
            else:
                self.forgotten.append(entry.upload_id)
        kept.sort(key=lambda e: (e.used, e.pushes_left), reverse=True)
        for entry in kept[MAX_ENTRIES:]:
            self.forgotten.append(entry.upload_id)
        self.entries = kept[:MAX_ENTRIES]
        if client is not None:
            self.delete_forgotten(client)
        from ..core.fsutil import json_text, write_text_atomic

        body = {"version": VERSION, "entries": [entry.to_json() for entry in self.entries]}
        try:
            write_text_atomic(self.path, json_text(body), 0o600)
        except (OSError, CrunchError) as error:
            self.say(f"upload cache {self.path}: cannot be written ({getattr(error, 'message', None) or error}): the next push sends every file")

    def delete_forgotten(self, client: Client) -> None:
        """Delete on the hub the uploads the cache let go (failures are left to the hub's expiry)."""
        forgotten = sorted(set(self.forgotten) - {e.upload_id for e in self.entries})
        self.forgotten = []
        if not forgotten:
            return
        try:
            client.delete_uploads(forgotten)
        except CrunchError:
            pass

    def age(self, entry: Entry) -> str:
        """How long ago ``entry``'s upload was made: ``40s``, ``12 min``, ``3 h``, ``2 days``."""
        if entry.created_at is None:
            return "earlier"
        seconds = max(0.0, (self.now - entry.created_at).total_seconds())
        if seconds < 60:
            return f"{int(seconds)}s"
        if seconds < 3600:
            return f"{int(seconds // 60)} min"
        if seconds < 2 * 86400:
            return f"{int(seconds // 3600)} h"
        return f"{int(seconds // 86400)} days"
