"""The data layer: cache a competition's data release under ``.crunchdao/`` and fetch its data
files into ``data/``. :func:`ensure_data` is used by ``crunch download``, ``crunch setup``,
``crunch test`` and the notebook helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from ..api import Client
from ..api.client import optional_call
from ..api.models import CompetitionFormat, DataRelease
from ..core.console import Console
from ..core.fsutil import ensure_folder, special_kind
from ..exceptions import CrunchError, MalformedAnswerError, WorkspaceError
from ..project.context import hub_client
from ..project.settings import Settings
from ..project.workspace import (
    CACHE_CHECKS,
    CACHE_COMPETITION,
    CACHE_DATA_RELEASE,
    CACHE_METRICS,
    CACHE_ROUND,
    DATA_DIR,
    SIZE_VARIANTS,
    Workspace,
)

if TYPE_CHECKING:
    from ..transfer.ranges import ConnectionsValue

LOCK_FILE = "download.lock"
VERIFIED_FILE = "verified.json"  # stat stamps of data files whose sha256 was checked


def normalize_size_variant(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    upper = str(value).strip().upper()
    if upper not in SIZE_VARIANTS:
        from ..exceptions import ConfigurationError

        raise ConfigurationError(f"unknown size variant {value!r}: use default, small or large")
    return upper


def ensure_data(
    workspace: Workspace,
    settings: Settings,
    console: Console,
    *,
    round_number: Any = "@current",
    size_variant: Optional[str] = None,
    force: bool = False,
    connections: ConnectionsValue = None,
) -> DataRelease:
    """Fetch and cache the competition, data release, checks and whitelist, then the data files.

    Raises :class:`~crunch.exceptions.NoDataYetError` when the hub has no data for the round.
    Every file in ``data/`` afterwards is whole and verified; two calls at once in one
    workspace take turns (a lock file in ``.crunchdao/``).
    """
    from ..transfer.download import Downloader, Remote, check_file_name, describe_url, summary
    from ..transfer.ranges import connections_setting
    from . import whitelist

    connections = connections_setting(connections)  # a bad setting is refused before anything is done
    info = workspace.project()
    client = hub_client(workspace, settings)
    variant = normalize_size_variant(size_variant) or normalize_size_variant(info.size_variant) or "DEFAULT"
    competition_name = info.competition_name

    competition = client.get_competition(competition_name)
    round_ = client.get_round(competition_name, round_number or "@current")
    release = client.get_data_release(competition_name, round_.number or round_number, variant)
    checks = optional_call(
        lambda: client.get_checks(competition_name), [], "the competition's checks", "`crunch test` runs its default checks", console.print
    )

    for data_file in release.data_files.values():  # a file to fetch, with no way to fetch it
        url = data_file.url.strip()
        if data_file.size != -1 and not url.lower().startswith(("http://", "https://")):
            said = f"a link that is not http(s) ({describe_url(url)})" if url else "without its download link"
            raise MalformedAnswerError(
                f"the hub's data release lists {data_file.name} ({data_file.size} bytes) {said} "
                f"(dataFiles.{data_file.key}.url): tell the competition's organizers, or try again later"
            )
    files = [data_file for data_file in release.data_files.values() if data_file.available]
    for data_file in files:  # every name is checked before anything is written
        check_file_name(data_file.name)
    from ..transfer.names import check_distinct, check_targets

    check_distinct(  # also the names that steer a workspace (.env, .git...) or no file system takes
        [(f"dataFiles.{f.key}", f.name) for f in files],
        "the data release",
        "tell the competition's organizers",
    )
    check_targets([f.name for f in files], [workspace.data_dir], "data file", "nothing was downloaded; tell the competition's organizers")

    def save_metadata() -> None:
        # written once the files verified: `crunch test` never pairs new metadata with old files
        if variant != (info.size_variant or "DEFAULT").upper():
            info.size_variant = variant  # the next download (and `crunch test`) keeps this variant
            workspace.write_project(info)
        workspace.write_cache(CACHE_COMPETITION, competition.raw)
        workspace.write_cache(CACHE_DATA_RELEASE, release.raw)
        workspace.write_cache(CACHE_ROUND, {"number": round_.number, "id": round_.id})
        workspace.write_cache(CACHE_CHECKS, [check.raw for check in checks])

    try:
        whitelist.refresh(workspace, client)
    except CrunchError as error:  # the data matters more: the cached whitelist (if any) stays
        console.warn(f"the library whitelist could not be refreshed ({error.message})")

    if competition.format is CompetitionFormat.UNSTRUCTURED:
        _cache_competition_code(workspace, settings, client, competition_name, console)

    refresher = _UrlRefresher(client, competition_name, round_.number or round_number, variant)
    remotes = [Remote(f.name, f.url, f.size, f.sha256, f.compressed, refresher.for_key(f.key)) for f in files]
    if not remotes:
        save_metadata()
        console.print("the data release lists no files to download")
        return release

    from filelock import FileLock, Timeout

    # the folders written are checked before anything is transferred: a clear line, not a failure per file
    ensure_folder(workspace.data_dir, writable=True)
    ensure_folder(workspace.dot_dir, writable=True)
    lock_path = workspace.cache_path(LOCK_FILE)
    lock = FileLock(str(lock_path))
    try:
        try:
            lock.acquire(timeout=0.5)
        except Timeout:
            console.print("another `crunch download` is running in this workspace: waiting for it to finish...")
            lock.acquire()
    except OSError as error:
        kind = "a folder" if lock_path.is_dir() else (special_kind(lock_path.stat().st_mode) if lock_path.exists() else None)
        what = f"it is {kind}: remove it" if kind else f"{error.strerror or error}: fix the permissions of {workspace.dot_dir}"
        raise WorkspaceError(f"cannot take the download lock {lock_path}: {what}, then run the command again") from None
    try:
        downloader = Downloader(console=console, verified=_verified_stamps(workspace), connections=connections)
        prefix = f"{DATA_DIR}/"
        try:
            downloader.fetch_all(
                remotes,
                workspace.data_dir,
                force=force,
                label_prefix=prefix,
                on_done=lambda outcome: console.print(summary(outcome, prefix + outcome.name)),
            )
            save_metadata()
        finally:
            workspace.write_cache(VERIFIED_FILE, downloader.verified)
    finally:
        lock.release()
    return release


def _verified_stamps(workspace: Workspace) -> dict:
    """``verified.json``: {path: stat stamp} of data files already hashed. A damaged one is
    dropped (the files are hashed again), never an error: crunch rebuilds it alone."""
    from ..core.jsonshape import Node

    def read(node: Node) -> dict:
        return {path: stamp.mapping() for path, stamp in node.entries()}

    try:
        return workspace.load_cache(VERIFIED_FILE, read, default={})
    except CrunchError:
        return {}


def _cache_competition_code(workspace: Workspace, settings: Settings, client: Client, competition: str, console: Console) -> None:
    """The competition's own code (runner.py, scoring.py, submission.py) and its metrics, cached
    for `crunch test` and `crunch push` offline; a failure only warns."""
    from .competition_code import update_workspace

    update_workspace(workspace, settings, console)
    try:
        metrics = client.get_metrics(competition)
    except CrunchError as error:
        console.warn(f"the competition's metrics could not be fetched ({error.message}): local scores use the cached ones, if any")
        return
    workspace.write_cache(CACHE_METRICS, [dict(m.to_dict(), target=m.target.to_dict() if m.target is not None else None) for m in metrics])


class _UrlRefresher:
    """Fresh signed data URLs, from new data-release calls shared by every file: a file asking
    again with the link it was last given gets the one of a newer call."""

    def __init__(self, client: Client, competition: str, round_number: Any, variant: str) -> None:
        import threading

        self._client, self._args = client, (competition, round_number, variant)
        self._lock = threading.Lock()
        self._urls: Optional[dict] = None

    def for_key(self, key: str) -> Any:
        given: List[str] = []

        def refresh() -> Optional[str]:
            url = self.url(key, stale=given[-1] if given else None)
            if url:
                given.append(url)
            return url

        return refresh

    def url(self, key: str, stale: Optional[str] = None) -> Optional[str]:
        from ..exceptions import CrunchError

        with self._lock:
            if self._urls is None or (stale is not None and self._urls.get(key) == stale):
                competition, round_number, variant = self._args
                try:
                    release = self._client.get_data_release(competition, round_number, variant)
                    self._urls = {k: f.url for k, f in release.data_files.items()}
                except CrunchError:
                    self._urls = {}
            return self._urls.get(key)
