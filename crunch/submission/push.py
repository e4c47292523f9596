"""What ``crunch push`` sends and how: the plan of a push, its export, and the sending.

Everything is decided before a byte is sent: the message, the files (hidden files, the data
and prediction folders and ``.gitignore`` rules left out), the pinned requirements, the size
limits. Then every file goes through the hub's chunked uploads and the submission is created;
when anything fails the uploads are cancelled and no submission exists. A file whose content
an earlier push uploaded, and whose upload the hub still holds, is not sent again
(:mod:`crunch.submission.upload_cache`); the creation says who pushes (``submitterImprint``,
:mod:`crunch.submission.imprint`).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..api import Client
from ..api.client import optional_call
from ..api.models import Submission
from ..code.files import SelectedFile, check_limits, list_code_files, list_model_files
from ..code.freeze import FreezeResult, pin_requirements
from ..code.mainfile import MainFile
from ..core.console import Console
from ..core.fsutil import atomic_file, human_size
from ..exceptions import ApiError, CrunchError, NetworkError, SubmissionError
from ..project.modeldir import Protected
from ..project.settings import Settings
from .names import check_names

MESSAGE_LIMIT = 1000
REQUIREMENTS = "requirements.txt"
REQUIREMENTS_ORIGINAL = "requirements.original.txt"


@dataclass
class Plan:
    """What a push sends: code files by submission path, model files by path in the model directory."""

    model_directory: str
    main_file: str
    code: List[SelectedFile]
    model: List[SelectedFile]
    freeze: Optional[FreezeResult] = None
    notes: List[str] = field(default_factory=list)
    root: Optional[Path] = None  # the workspace, whose .crunchdao/ keeps the upload cache

    @property
    def code_size(self) -> int:
        return sum(f.size for f in self.code)

    @property
    def model_size(self) -> int:
        return sum(f.size for f in self.model)

    def named(self) -> List[Tuple[str, SelectedFile]]:
        """(name shown and uploaded, file): model files under the model directory path."""
        return [(f.path, f) for f in self.code] + [(f"{self.model_directory}/{f.path}", f) for f in self.model]


def check_message(message: Optional[str]) -> str:
    text = message or ""
    if len(text) > MESSAGE_LIMIT:
        raise SubmissionError(
            f"the submission message has {len(text)} characters, at most {MESSAGE_LIMIT} are allowed: shorten it"
        )
    return text


def _freeze(code: List[SelectedFile]) -> Tuple[List[SelectedFile], Optional[FreezeResult]]:
    """Replace requirements.txt by its pinned version and add the original beside it."""
    original = next((f for f in code if f.path == REQUIREMENTS), None)
    if original is None:
        return code, None
    with original.open() as handle:
        raw = handle.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionError(f"{REQUIREMENTS} is not UTF-8 text: save it as UTF-8, or push with --no-pip-freeze") from None
    result = pin_requirements(text)
    pinned = result.text.encode("utf-8")
    kept = [f for f in code if f.path not in (REQUIREMENTS, REQUIREMENTS_ORIGINAL)]
    # both stand for the person's file (its source): an export must never replace it
    kept.append(SelectedFile(path=REQUIREMENTS, source=original.source, size=len(pinned), content=pinned))
    kept.append(SelectedFile(path=REQUIREMENTS_ORIGINAL, source=original.source, size=len(raw), content=raw))
    kept.sort(key=lambda f: f.path)
    return kept, result


def report_freeze(result: Optional[FreezeResult], console: Console) -> None:
    if result is None:
        return
    if result.pinned:
        console.print("pinned to the installed versions: " + ", ".join(f"{n}=={v}" for n, v in result.pinned))
    else:
        console.print(f"{REQUIREMENTS}: nothing to pin")
    if result.not_installed:
        console.print("not installed here, left unpinned: " + ", ".join(result.not_installed))


def make_plan(
    root: Path,
    *,
    main_file: str,
    model_directory: str,
    no_pip_freeze: bool,
    console: Console,
    exclude: Tuple[Path, ...] = (),
    produced: Optional[Dict[str, bytes]] = None,
) -> Plan:
    """Select the files of the workspace at ``root`` and pin its requirements.

    ``produced``: files made from the notebook (script, requirements, embedded files), sent
    instead of the files of those names on disk.
    """
    left_out: List[str] = []
    skipped: List[str] = []  # FIFOs, sockets, devices: not sent, as git skips them
    code = list_code_files(root, model_directory, exclude=exclude, left_out=left_out, skipped=skipped)
    if produced:
        code = [f for f in code if f.path not in produced]
        code += [SelectedFile(path=name, source=None, size=len(data), content=data) for name, data in produced.items()]
        code.sort(key=lambda f: f.path)
    model = list_model_files(root, model_directory, exclude=exclude, left_out=left_out, skipped=skipped)
    main = Path(main_file.replace("\\", "/")).as_posix()
    if Path(main).is_absolute() or main.startswith("../"):
        raise SubmissionError(f"the main file {main_file} must be inside the workspace, such as main.py")
    if not any(f.path == main for f in code):
        if (root / main).is_file():
            raise SubmissionError(f"{main} is excluded by a .gitignore rule or lies in an excluded folder: it must be sent")
        raise SubmissionError(f"{main} not found in {root}: write it, or give --main-file")
    check_names([f.path for f in code], [f"{model_directory}/{f.path}" for f in model])
    freeze: Optional[FreezeResult] = None
    if not no_pip_freeze:
        code, freeze = _freeze(code)
    check_limits(code, model, model_directory)
    notes = [f"{name} is not sent: it leads into .crunchdao/, which holds your push token" for name in left_out] + skipped
    return Plan(model_directory=model_directory, main_file=main, code=code, model=model, freeze=freeze, notes=notes, root=root)


@contextlib.contextmanager
def notebook_conversion(root: Path, main: MainFile, no_pip_freeze: bool, whitelist: Any, console: Console) -> Iterator[None]:
    """Converts the notebook into temporary files for the push; removes them afterwards."""
    assert main.notebook is not None
    notebook = os.path.relpath(main.notebook, root)
    try:
        from ..convert import temporary_script  # type: ignore[attr-defined]
    except ImportError:
        raise SubmissionError(
            f"{main.script} is missing and {notebook} cannot be converted by this installation: "
            f"run `crunch convert {notebook} {main.script}` and push again"
        ) from None
    from ..project.leftovers import record, release

    try:
        with temporary_script(root, main.notebook, main_file=main.script, whitelist=whitelist, freeze=not no_pip_freeze) as (conversion, created):
            record(root, created or [])  # a kill before the removal: the next run removes them (crunch/project/leftovers.py)
            names = ", ".join(sorted(str(Path(p).relative_to(root)) if Path(p).is_absolute() else str(p) for p in created or []))
            console.print(f"converted {notebook} for this push" + (f" ({names}, removed afterwards)" if names else ""))
            for warning in getattr(conversion, "warnings", None) or []:
                console.warn(warning)
            yield
    finally:
        release(root)  # the files are gone: forget them


def convert_for_push(main: MainFile, whitelist: Any, console: Console) -> Dict[str, bytes]:
    """The files a notebook workspace's notebook produces, by submission path: the script the
    platform runs, ``requirements.txt`` (pinned afterwards, as any) and the embedded files."""
    from ..convert import convert_notebook

    assert main.source is not None
    conversion = convert_notebook(main.source.content, whitelist=whitelist, freeze=False)
    produced: Dict[str, bytes] = {main.script: conversion.script.encode("utf-8")}
    produced[REQUIREMENTS] = conversion.requirements_txt.encode("utf-8")
    for relative, content in conversion.embedded_files.items():
        produced[Path(relative).as_posix()] = content.encode("utf-8")
    for warning in conversion.warnings:
        console.warn(warning)
    console.print(f"your code is {main.source.origin}: converted into {main.script} for this push")
    return produced


def check_export(root: Path, export: str, overwrite: bool) -> Path:
    """The path ``--export`` writes to, once it is known to destroy nothing: not inside
    ``.crunchdao/`` (whatever links lead there), not an existing file unless ``overwrite``."""
    given = Path(export).expanduser()
    path = given if given.is_absolute() else Path.cwd() / given
    if Protected(root).holds(path) or _under_dot_dir(root, path):
        raise SubmissionError(
            f"cannot export to {export}: it is inside .crunchdao/, which holds your push token; choose a FILE elsewhere"
        )
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise SubmissionError(f"cannot export to {export}: {parent} is a file, not a folder; choose another FILE")
        if parent.is_dir():
            break
    if os.path.lexists(path):
        if os.path.isdir(path):
            raise SubmissionError(f"cannot export to {export}: it is a folder; give the path of a .tar.gz file")
        if not overwrite:
            raise SubmissionError(f"{export} already exists: add --overwrite to replace it, or choose another FILE")
    return path


def _under_dot_dir(root: Path, path: Path) -> bool:
    """Whether ``path`` names a place under ``root``'s ``.crunchdao*/`` (in any case), links or not."""
    from ..project.modeldir import SECRET_PREFIX

    for base in {os.path.abspath(root), os.path.realpath(root)}:
        for candidate in {os.path.abspath(path), os.path.realpath(path)}:
            relative = os.path.relpath(candidate, base)
            first = relative.split(os.sep, 1)[0]
            if first != ".." and first.casefold().startswith(SECRET_PREFIX):
                return True
    return False


def check_export_not_sent(plan: Plan, destination: Path) -> None:
    """Refuse an export that would replace one of the files it holds (requirements.txt...)."""
    if not destination.exists():
        return
    target = destination.stat()
    for name, file in plan.named():
        try:
            info = file.source.stat() if file.source is not None else None
        except OSError:
            continue
        if info is not None and (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino):
            if file.content is not None and file.path in (REQUIREMENTS, REQUIREMENTS_ORIGINAL):
                name = REQUIREMENTS  # the person's file, which both stand for
            raise SubmissionError(
                f"cannot export to {destination}: it is {name}, one of the files the submission holds; "
                "choose a FILE that is not part of the submission"
            )


def export_plan(plan: Plan, destination: Path) -> Path:
    """Write the submission as a .tar.gz at ``destination``, atomically."""
    import tarfile

    destination = destination.resolve()
    with atomic_file(destination) as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
        for name, file in plan.named():
            info = tarfile.TarInfo(name)
            info.size = file.size
            info.mode = 0o644
            info.mtime = int(file.source.stat().st_mtime) if file.source is not None else int(time.time())
            with file.open() as handle:
                tar.addfile(info, _Exact(handle, file.size, name))
    return destination


class _Exact:
    """A reader that fails when the file changed size since it was listed."""

    def __init__(self, handle: Any, size: int, name: str) -> None:
        self.handle, self.left, self.name = handle, size, name

    def read(self, n: int = -1) -> bytes:
        want = self.left if n is None or n < 0 else min(n, self.left)
        data = self.handle.read(want)
        if len(data) < want:
            raise SubmissionError(f"{self.name} changed while it was being written: try again")
        self.left -= len(data)
        return data


def dashboard_url(settings: Settings, competition: str, user_id: Any, project: str, number: int) -> str:
    web = settings.web_base_url if settings.web_base_url.endswith("/") else settings.web_base_url + "/"
    return f"{web}competitions/{competition}/projects/{user_id}/{project}/submissions/{number}"


def _reuse(plan: Plan, client: Client, console: Console) -> Tuple[Optional[Any], Dict[str, Any], List[Tuple[str, SelectedFile]], Dict[str, Any]]:
    """The files to send and the uploads reused (crunch/submission/upload_cache.py): (the cache,
    name -> reused upload id, files to send, name -> fingerprint of each file)."""
    named = plan.named()
    if plan.root is None:
        return None, {}, named, {}
    from ..project.workspace import DOT_DIR
    from .upload_cache import UploadCache

    dot_dir = plan.root / DOT_DIR
    if not dot_dir.is_dir():
        return None, {}, named, {}
    cache = UploadCache.load(dot_dir, client, console.print)
    reused: Dict[str, Any] = {}
    fingerprints: Dict[str, Any] = {}
    to_send: List[Tuple[str, SelectedFile]] = []
    for name, file in named:
        try:
            fingerprints[name] = fingerprint = cache.fingerprint(name, file)
        except (OSError, CrunchError):  # unreadable now: the upload says why
            to_send.append((name, file))
            continue
        entry = cache.reusable(name, fingerprint)
        if entry is None:
            to_send.append((name, file))
        else:
            reused[name] = entry.upload_id
            console.print(f"reused {name} ({human_size(file.size)}, uploaded {cache.age(entry)} ago): not sent again")
    return cache, reused, to_send, fingerprints


def send(plan: Plan, client: Client, settings: Settings, info: Any, message: str, console: Console, options: Dict[str, Any]) -> Submission:
    from ..transfer.upload import Uploader
    from .imprint import submitter_imprint

    cache, reused, to_send, fingerprints = _reuse(plan, client, console)
    uploader = Uploader(client, console, **options)
    sent = uploader.upload_all(to_send)
    ids = {**reused, **sent}
    code_files = {f.path: ids[f.path] for f in plan.code}
    model_files = {f.path: ids[f"{plan.model_directory}/{f.path}"] for f in plan.model}
    where = (info.competition_name, info.user_id, info.project_name)
    known: Optional[set] = None
    try:
        known = optional_call(
            lambda: {s.number for s in client.list_submissions(*where)},
            None,
            "the project's submission listing",
            "a lost answer to the submission's creation could not be checked, so it would not be sent again",
            console.print,
        )
        submission = _create_submission(client, where, known, message, console, dict(
            message=message,
            main_file_path=plan.main_file,
            model_directory_path=plan.model_directory,
            code_files=code_files,
            model_files=model_files,
            submitter_imprint=submitter_imprint(),
        ))
    except BaseException as error:
        uploader.cleanup()
        landed = _landed(client, where, known, message) if _ambiguous(error) else None
        if landed is None:
            if getattr(error, "read_timeout", False):
                raise SubmissionError(
                    f"the hub did not answer the submission's creation within {client.timeout[1]:g} s: the uploads "
                    "were cancelled and the hub lists no new submission; push again (on a slow connection, set CRUNCH_TIMEOUT "
                    "to more seconds)"
                ) from None
            if isinstance(error, CrunchError) and not hasattr(error, "code"):
                raise SubmissionError(f"the submission could not be created: {error.message}; the uploads were cancelled") from None
            raise
        submission = landed  # the hub created it before the answer was lost
    if cache is not None:
        _remember(cache, client, to_send, sent, fingerprints)
    if submission.number is None:  # a hub whose answer does not say the number
        console.result("submission successfully uploaded (the hub did not say its number: `crunch submission list` shows it)")
    else:
        console.result(f"submission #{submission.number} successfully uploaded")
        console.result(dashboard_url(settings, info.competition_name, info.user_id, info.project_name, submission.number))
    return submission


def _remember(cache: Any, client: Client, sent_files: List[Tuple[str, SelectedFile]], sent: Dict[str, Any], fingerprints: Dict[str, Any]) -> None:
    """Record the uploads of this push in the workspace's upload cache (a failure: one line)."""
    try:
        for name, file in sent_files:
            if name in fingerprints and name in sent:
                cache.register(name, file, fingerprints[name], sent[name])
        cache.learn_expiry(client)
        cache.save(client)
    except (OSError, CrunchError) as error:  # the submission exists: never an error now
        cache.say(f"upload cache: not updated ({getattr(error, 'message', None) or error}): the next push sends every file")


def _ambiguous(error: BaseException) -> bool:
    """Whether the hub may have created the submission although the call failed: the answer
    was lost or damaged (a broken connection, a body that is not JSON), or a gateway error."""
    if isinstance(error, NetworkError):
        return True
    if isinstance(error, ApiError):
        return error.status in (502, 503, 504) or (error.code is None and (error.status is None or error.status < 300))
    return False


def _landed(client: Client, where: Tuple[Any, Any, Any], known: Optional[set], message: str) -> Optional[Submission]:
    """The submission this push created, when the hub lists one that was not there before."""
    if known is None:
        return None
    try:
        found = [s for s in client.list_submissions(*where) if s.number is not None and s.number not in known and s.message == message]
    except CrunchError:
        return None
    return max(found, key=lambda s: s.number) if found else None


def _create_submission(
    client: Client, where: Tuple[Any, Any, Any], known: Optional[set], message: str, console: Console, fields: Dict[str, Any]
) -> Submission:
    """Create the submission; when the outcome is unknown, look at the project's submissions
    before asking again, so that a lost answer never makes a second submission. A request
    that timed out may still be running on the hub: it is not sent again (the caller cancels
    the uploads, which stops it, then looks once more)."""
    delays = iter(client.backoff.delays())
    while True:
        try:
            return client.create_submission(*where, **fields)
        except CrunchError as error:
            if not _ambiguous(error):
                raise
            landed = _landed(client, where, known, message)
            if landed is not None:
                console.print(f"the answer to the submission's creation was lost, but the hub lists it as #{landed.number}")
                return landed
            if getattr(error, "read_timeout", False) or known is None:  # known None: a second one could not be told apart
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            console.print(f"creating the submission failed ({error.message}); trying again in {delay:g}s")
            client._sleep(delay)
