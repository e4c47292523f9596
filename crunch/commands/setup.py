"""``crunch setup`` / ``crunch setup-notebook``: make a workspace from a setup token.

Order of work, so that a failure never leaves a workspace that looks complete:

1. check the options and the target folder (nothing written, the single-use token not spent);
2. exchange the setup token (or look the project up with the API key) and check that it
   belongs to COMPETITION;
3. build the workspace: folders, ``.gitignore``, the push token, the code (the submission's,
   or the quickstarter) fetched into a staging folder and moved into place, and
   ``project.json`` last. If anything fails here, what this run created is removed and a
   previous ``.crunchdao/`` (``--force``) is put back;
4. download the data. The workspace is complete by then: a failure here says to run
   ``crunch download``, which resumes.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..api import Client
from ..api.models import Competition, ProjectToken, Quickstarter
from ..code.mainfile import LOCAL_COPY_MARK, NOTEBOOK_KEY
from ..core.console import Console
from ..core.fsutil import write_text_atomic
from ..exceptions import (
    ApiError,
    ConfigurationError,
    CrunchError,
    EncryptedSubmissionError,
    MalformedAnswerError,
    NeverSubmittedError,
    NoDataYetError,
    ProjectNotFoundError,
    TransferError,
    WorkspaceError,
)
from ..project.settings import Settings
from ..project.workspace import DATA_DIR, DEFAULT_MODEL_DIR, DOT_DIR, PREDICTION_DIR, ProjectInfo, Workspace

API_KEY_TOKEN = "@api-key"
COMPETITION_PLACEHOLDER = "{competitionName}"
PROJECT_PLACEHOLDER = "{projectName}"
DEFAULT_DIRECTORY = f"{COMPETITION_PLACEHOLDER}-{PROJECT_PLACEHOLDER}"
STAGING_DIR = "setup-staging"

STUB_MAIN = '''\
"""Your model for the competition: the platform imports this file and calls train(), then infer().

Both receive their arguments by name; ask only for the ones you need, in any order:
  X_train, y_train, X_test         pandas DataFrames (for a TIMESERIES competition, train sees
                                   the moons before the current one minus the embargo, and
                                   infer sees the rows of the current moon)
  number_of_features, embargo, moon / current_moon
  id_column_name, moon_column_name, target_column_name(s), prediction_column_name(s), column_names
  model_directory_path             a folder kept between runs: save your model there in train()
  has_gpu, has_trained

infer() returns a DataFrame with the id column, the moon column (TIMESERIES) and the
prediction column(s). Try it locally with `crunch test`, submit with `crunch push -m "..."`.
"""

import os

import pandas as pd


def train(X_train: pd.DataFrame, y_train: pd.DataFrame, model_directory_path: str) -> None:
    os.makedirs(model_directory_path, exist_ok=True)
    # fit your model on X_train / y_train and save it under model_directory_path


def infer(X_test: pd.DataFrame, model_directory_path: str, id_column_name: str, moon_column_name: str,
          prediction_column_name: str) -> pd.DataFrame:
    # load your model from model_directory_path and predict
    prediction = X_test[[id_column_name, moon_column_name]].copy()
    prediction[prediction_column_name] = 0.0
    return prediction
'''


@dataclass
class Access:
    """Who the workspace acts as: a push token, or the API key."""

    project_name: str
    user_id: Any
    competition_id: Any
    push_token: Optional[str] = None
    api_key: Optional[str] = None

    def client(self, settings: Settings) -> Client:
        if self.push_token:
            return Client(settings.api_base_url, push_token=self.push_token)
        return Client(settings.api_base_url, api_key=self.api_key)


# -- option checks ----------------------------------------------------------------------------


def parse_submission(value: Union[str, int, None]) -> Union[str, int]:
    """``latest``, ``scratch`` or a positive submission number."""
    if value is None:
        return "latest"
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lower()
        if text in ("latest", "scratch"):
            return text
        if not text.isdigit():
            raise ConfigurationError(f"--submission must be latest, scratch or a number, not {value!r}")
        number = int(text)
    if number < 1:
        raise ConfigurationError(f"--submission must be a submission number of 1 or more, not {number}")
    return number


def format_directory(directory: Optional[str], competition: str, project: Optional[str]) -> str:
    text = directory or DEFAULT_DIRECTORY
    text = text.replace(COMPETITION_PLACEHOLDER, competition)
    if project is not None:
        text = text.replace(PROJECT_PLACEHOLDER, project)
    return os.path.normpath(text)


def _check_model_directory(value: str, root: Optional[Path] = None) -> str:
    """``--model-directory`` (or a cloned submission's), checked by its text, then, once the
    target folder is known, by where its links lead (see :mod:`crunch.project.modeldir`)."""
    from ..project import modeldir

    if root is None:
        return modeldir.check_name(value, given_as="--model-directory")
    return modeldir.check(root, value, given_as="--model-directory")


def _why(error: OSError) -> str:
    """Why a folder cannot be made or written, for a person."""
    reasons = {
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENAMETOOLONG: "the path is too long for the file system",
        errno.EACCES: "permission denied (the folder is not writable)",
        errno.EPERM: "not permitted (the folder is read-only or protected)",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "the disk is full",
        errno.EEXIST: "something that is not a folder is in the way",
    }
    return reasons.get(error.errno or 0, error.strerror or str(error))


def _unusable(path: Path, error: OSError) -> WorkspaceError:
    shown = str(path) if len(str(path)) <= 160 else f"{str(path)[:100]}...{str(path)[-40:]}"
    return WorkspaceError(
        f"cannot set up a workspace in {shown}: {_why(error)}; choose another DIRECTORY "
        "(the setup token was not used: the same command works once the folder can be made)"
    )


def _check_target(path: Path, force: bool) -> None:
    try:
        exists, is_dir = path.exists(), path.is_dir()
        non_empty = not force and is_dir and any(path.iterdir())
    except OSError as error:
        raise _unusable(path, error) from None
    if exists and not is_dir:
        raise WorkspaceError(f"{path} exists and is not a folder: choose another DIRECTORY")
    if is_dir and force:  # the folders setup makes: a file of that name would stop it after the exchange
        for name in (DATA_DIR, PREDICTION_DIR, DEFAULT_MODEL_DIR):
            folder = path / name
            if folder.exists() and not folder.is_dir():
                raise WorkspaceError(
                    f"{folder} is a file, where setup makes the folder {name}/: remove or rename it, then run the "
                    "command again (the setup token was not used)"
                )
    if non_empty:
        raise WorkspaceError(
            f"{path} is not empty: choose another DIRECTORY, or add --force to set up there anyway "
            "(--force replaces .crunchdao/ and the files setup downloads, nothing else)"
        )


def _make_target(path: Path) -> List[Path]:
    """Make ``path`` (and the folders missing above it) and write a file in it, before the
    single-use token is spent: a place where the workspace cannot be (under a file, not
    writable, a name too long) fails here. Returns the folders made, outermost first."""
    missing: List[Path] = []
    folder = path
    try:
        while not os.path.lexists(folder) and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
    except OSError as error:
        raise _unusable(path, error) from None
    made: List[Path] = []
    try:
        for folder in reversed(missing):
            folder.mkdir()
            made.append(folder)
        fd, probe = tempfile.mkstemp(prefix=".crunch-setup-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        _remove_made(made)
        raise _unusable(path, error) from None
    return made


def _remove_made(made: List[Path]) -> None:
    """Remove the folders :func:`_make_target` made (deepest first), when still empty."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass


# -- token and project ------------------------------------------------------------------------


def _exchange(settings: Settings, token: str) -> ProjectToken:
    return Client(settings.api_base_url).upgrade_token(token)


def _project_with_api_key(settings: Settings, competition: Competition, project: Optional[str]) -> Access:
    """With ``--token @api-key`` the project is looked up by name for the key's owner (``@me``).

    The lookup is ``GET /v3/competitions/{c}/projects/@me/{project}`` (as the public platform
    serves it); a hub without that call gets ``userId: "@me"``, which project calls accept.
    """
    from ..core.platforms import secret_sources

    settings = settings.with_api_key()
    if not settings.api_key:
        raise ConfigurationError(
            f"--token @api-key needs your API key in {secret_sources('CRUNCH_API_KEY')}: set it, then run the command again"
        )
    if not project:
        raise ConfigurationError(
            "--token @api-key needs the project name: run `crunch setup COMPETITION PROJECT . --notebook --token @api-key`"
        )
    client = Client(settings.api_base_url, api_key=settings.api_key)
    try:
        found = client.get_own_project(competition.name, project)
    except (ProjectNotFoundError, MalformedAnswerError):
        raise
    except ApiError as error:
        if error.status in (401, 403) or error.code == "AUTHORIZATION_DENIED":
            raise
        found = None
    if found is not None and found.user_id is not None:
        return Access(found.name or project, found.user_id, competition.id, api_key=settings.api_key)
    return Access(project, "@me", competition.id, api_key=settings.api_key)


def _who(settings: Settings, token: str, api_key_mode: bool, competition: Competition, project: Optional[str], console: Console) -> Access:
    """Exchange the setup token (spent from here on), or look the project up with the API key."""
    if api_key_mode:
        return _project_with_api_key(settings, competition, project)
    upgraded = _exchange(settings, token)
    if not _same_competition(upgraded, competition):
        raise ConfigurationError(
            f"this setup token is for another competition than {competition.name!r}: "
            "copy the `crunch setup` command from that competition's Submit page"
        )
    name = upgraded.project.name or project
    if not name:
        raise ConfigurationError("the hub did not say which project this token is for: try again with a fresh setup token")
    if project and name != project:
        console.warn(f"this token is for the project {name!r}, not {project!r}: setting up {name!r}")
    return Access(name, upgraded.project.user_id, upgraded.project.competition_id, push_token=upgraded.plain)


def _same_competition(token: ProjectToken, competition: Competition) -> bool:
    wanted = token.project.competition_id
    if wanted is None or wanted == "":
        return True
    return str(wanted) in {str(competition.id), str(competition.name)}


# -- code -------------------------------------------------------------------------------------


def _choose_quickstarter(client: Client, competition: str, notebook: bool, console: Console) -> Optional[Quickstarter]:
    """The competition's quickstarter of the kind asked for (else another) that has files. A
    listing without files (the platform gives them only for one quickstarter) is completed
    with that quickstarter's own answer. The platform's own client does not ask for them
    during a setup: a hub that does not offer them gives the stub."""
    from ..api.client import optional_call

    listed = optional_call(
        lambda: client.list_quickstarters(competition), [], "the competition's quickstarters", "starting from a main.py to fill in", console.print
    )
    ordered = [q for q in listed if q.notebook == notebook] + [q for q in listed if q.notebook != notebook]
    for quickstarter in ordered:
        if quickstarter.files is None and not quickstarter.name:  # no files, and no name to ask for them
            continue
        if quickstarter.files is None:
            name = quickstarter.name
            found = optional_call(
                lambda name=name: client.get_quickstarter(competition, name), None, f"the quickstarter {name!r}", "trying the next one", console.print
            )
            if found is None:
                continue
            quickstarter = found
        if quickstarter.files:
            return quickstarter
    return None


def _code_files(
    client: Client,
    competition: Competition,
    access: Access,
    submission: Union[str, int],
    no_model: bool,
    notebook: bool,
    console: Console,
) -> Tuple[str, str, Dict[str, str]]:
    """(kind: submission|quickstarter|stub, what it is, {relative path: url}) of the code to start from."""
    if submission != "scratch":
        number = None if submission == "latest" else int(submission)
        try:
            urls = client.clone(competition.name, access.user_id, access.project_name, number, include_model=not no_model)
            what = "your latest submission" if number is None else f"submission #{number}"
            return "submission", what, urls
        except NeverSubmittedError:
            console.print("this project has never submitted: starting from the competition's quickstarter")
        except EncryptedSubmissionError:
            which = "your latest submission" if number is None else f"submission #{number}"
            console.print(f"{which} is encrypted and cannot be fetched: starting from the competition's quickstarter")
    quickstarter = _choose_quickstarter(client, competition.name, notebook, console)
    if quickstarter is None:
        return "stub", "a main.py with train() and infer() to fill in (the competition has no quickstarter)", {}
    return "quickstarter", f"the quickstarter {quickstarter.title or quickstarter.name!r}", {f.name: f.url for f in quickstarter.files or []}


def _submission_model_directory(client: Client, competition: Competition, access: Access, choice: Union[str, int]) -> Optional[str]:
    """The model directory the cloned submission was pushed with, when the hub says it."""
    try:
        submissions = client.list_submissions(competition.name, access.user_id, access.project_name)
    except CrunchError:
        return None
    if not submissions:
        return None
    if choice == "latest":
        submission = max(submissions, key=lambda s: s.number or 0)
    else:
        submission = next((s for s in submissions if s.number == choice), None)
    if submission is None or not submission.model_directory_path:
        return None
    try:
        return _check_model_directory(submission.model_directory_path)
    except CrunchError:
        return None


def _move_model_files(urls: Dict[str, str], source: str, target: str, console: Console) -> Dict[str, str]:
    """The clone's paths, with the model files of ``source/`` moved under ``target/``."""
    if source == target:
        return urls
    prefix = source + "/"
    moved: Dict[str, str] = {}
    count = 0
    for path, url in urls.items():
        if path.startswith(prefix):
            new = target + "/" + path[len(prefix) :]
            if new in urls:
                console.warn(f"{path} stays where it is: {new} is a code file of the submission")
            else:
                path = new
                count += 1
        moved[path] = url
    if count:
        console.print(f"model files: {count} file(s) of the submission's {source}/ go to {target}/")
    return moved


def _fetch_code(
    urls: Dict[str, str],
    staging: Path,
    console: Console,
    root: Path,
) -> List[str]:
    from ..project.modeldir import Protected, lands_in_secret_folder
    from ..transfer.download import Downloader, Remote, safe_relative_path

    remotes = []
    protected = Protected(root)
    for path, url in sorted(urls.items()):
        relative = safe_relative_path(path, "code file")
        if lands_in_secret_folder(root, str(relative), protected):
            from ..exceptions import UnsafePathError

            raise UnsafePathError(f"refusing the code file path {path!r}: it would write into {DOT_DIR}/")
        remotes.append(Remote(str(relative), url))
    from ..transfer.names import check_distinct, check_targets

    advice = "set up from another submission (--submission), or tell the hub's operators"
    check_distinct(
        [(path, remote.name) for path, remote in zip(sorted(urls), remotes)],
        "the hub's list of code files",
        advice,
    )
    check_targets([remote.name for remote in remotes], [root, staging], "code file", f"nothing was written; {advice}")
    if remotes:
        Downloader(console=console).fetch_all(remotes, staging, force=True)
    return [remote.name for remote in remotes]


def _local_copy_name(target: Path, stamp: str) -> Path:
    """``name.local-<time>.ipynb`` beside ``target``, a new name."""
    base = target.with_name(f"{target.stem}{LOCAL_COPY_MARK}{stamp}{target.suffix}")
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = target.with_name(f"{target.stem}{LOCAL_COPY_MARK}{stamp}-{number}{target.suffix}")
    return candidate


def _keep_notebook(target: Path, source: Path, root: Path, console: Console, rollback: "_Rollback") -> None:
    """A notebook the clone would replace is copied aside first, unless it is the same."""
    import time

    try:
        if target.read_bytes() == source.read_bytes():
            return
    except OSError:
        pass
    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = _local_copy_name(target, stamp)
    shutil.copy2(target, kept)
    rollback.created.append(kept)
    shown = os.path.relpath(kept, root)
    console.print(f"your {os.path.relpath(target, root)} differs from the submission's: it is kept as {shown}")


def _move_into_place(staging: Path, root: Path, names: List[str], overwrite: bool, console: Console, rollback: "_Rollback") -> List[str]:
    placed = []
    for name in names:
        source = staging / name
        target = root / name
        if target.exists() and not overwrite:
            console.print(f"kept your {name} (the quickstarter's is not written over it)")
            continue
        if target.is_dir():
            raise WorkspaceError(f"cannot write {name}: a folder of that name is in the way")
        if target.suffix == ".ipynb" and target.is_file():
            _keep_notebook(target, source, root, console, rollback)
        rollback.make_parents(target)
        rollback.replacing(target)
        os.replace(source, target)
        placed.append(name)
    return placed


# -- the command ------------------------------------------------------------------------------


class _Rollback:
    """Undo what a failed setup did in ``root``: remove what it created, put back what it replaced.

    A replaced ``.crunchdao/`` and every file of the person's that a cloned file replaced are
    set aside (beside them, under ``root``) until the setup succeeds.
    """

    def __init__(self, root: Path, made: Sequence[Path] = ()) -> None:
        self.root = root
        self.existed = root.exists() and root not in made  # made by this run's early check: not the person's
        self.made_above = [folder for folder in made if folder != root]
        self.before = {entry.name for entry in root.iterdir()} if self.existed else set()
        self.backup: Optional[Path] = None
        self.aside = root / f"{DOT_DIR}.replaced-{os.getpid()}"
        self.created: List[Path] = []
        self.folders: List[Path] = []
        self.replaced: List[Tuple[Path, Path]] = []

    def set_aside_dot_dir(self) -> None:
        dot = self.root / DOT_DIR
        if dot.exists():
            self.backup = self.root / f"{DOT_DIR}.previous-{os.getpid()}"
            os.replace(dot, self.backup)
            self.before.discard(DOT_DIR)

    def preserve(self, path: Path) -> None:
        """``path`` may be edited in place: keep a copy of it to put back."""
        if path.is_file() and not path.is_symlink():
            kept = self.aside / "preserved" / path.relative_to(self.root)
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, kept)
            self.replaced.append((path, kept))

    def make_parents(self, target: Path) -> None:
        """Make the missing folders above ``target``, remembering them to remove."""
        missing = []
        parent = target.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        target.parent.mkdir(parents=True, exist_ok=True)
        self.folders.extend(reversed(missing))

    def replacing(self, target: Path) -> None:
        """``target`` is about to be written: keep the person's file, if any, until the end."""
        if target.is_file() or target.is_symlink():
            kept = self.aside / target.relative_to(self.root)
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(target, kept)
            self.replaced.append((target, kept))
        else:
            self.created.append(target)

    def undo(self) -> None:
        if not self.existed:
            shutil.rmtree(self.root, ignore_errors=True)
            _remove_made(self.made_above)
            return
        for path in self.created:
            try:
                path.unlink()
            except OSError:
                pass
        for target, kept in reversed(self.replaced):
            if target.is_dir() and not target.is_symlink():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(kept, target)
        for folder in reversed(self.folders):  # deepest first; only those left empty
            try:
                folder.rmdir()
            except OSError:
                pass
        shutil.rmtree(self.aside, ignore_errors=True)
        for entry in list(self.root.iterdir()):
            if entry.name in self.before or entry == self.backup:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        if self.backup is not None:
            os.replace(self.backup, self.root / DOT_DIR)

    def commit(self) -> None:
        if self.backup is not None:
            shutil.rmtree(self.backup, ignore_errors=True)
        shutil.rmtree(self.aside, ignore_errors=True)


def run(
    *,
    settings: Settings,
    console: Console,
    competition: str,
    project: Optional[str],
    token: str,
    directory: Optional[str] = None,
    force: bool = False,
    submission: Union[str, int, None] = "latest",
    no_model: bool = False,
    no_data: bool = False,
    size: Optional[str] = "default",
    model_directory: Optional[str] = None,
    notebook: bool = False,
    empty: bool = False,
) -> Workspace:
    """Make the workspace; ``empty`` (``crunch init``) fetches no code at all."""
    from ..data.download import ensure_data, normalize_size_variant

    # 1. options and target folder: nothing written, the token not spent yet
    choice = parse_submission(submission)
    variant = normalize_size_variant(size or "default") or "DEFAULT"
    chosen_model_directory = _check_model_directory(model_directory) if model_directory else None
    force = force or notebook
    if notebook and directory is None:
        directory = "."
    planned = format_directory(directory, competition, project)
    if PROJECT_PLACEHOLDER not in planned:
        _check_target(Path(planned), force)
        if model_directory:
            _check_model_directory(model_directory, Path(planned).absolute())  # links in an existing folder
    if not token or not token.strip():
        raise ConfigurationError("the setup token is empty: copy the `crunch setup` command again from the Submit page")
    token = token.strip()

    # 2. who we are, and for which competition
    api_key_mode = token == API_KEY_TOKEN
    competition_info = Client(settings.api_base_url).get_competition(competition)  # before spending the token
    made: List[Path] = []
    known = Path(os.path.abspath(format_directory(directory, competition_info.name, project)))
    if PROJECT_PLACEHOLDER not in str(known):  # the folder is known before the exchange: make it now
        _check_target(known, force)
        if model_directory:
            _check_model_directory(model_directory, known)
        made = _make_target(known)
    try:
        access = _who(settings, token, api_key_mode, competition_info, project, console)
        root = Path(os.path.abspath(format_directory(directory, competition_info.name, access.project_name)))
        _check_target(root, force)
        if model_directory:
            _check_model_directory(model_directory, root)
    except BaseException:
        _remove_made(made)
        raise
    if root != known:  # the token is for another project: its folder is made in step 3
        _remove_made(made)
        made = []

    # 3. the workspace, all or nothing
    rollback = _Rollback(root, made)
    workspace = Workspace(root)
    client = access.client(settings)
    try:
        root.mkdir(parents=True, exist_ok=True)
        rollback.set_aside_dot_dir()
        if access.push_token:
            workspace.write_token(access.push_token)
        if empty:
            kind, what, urls = "empty", "none (`crunch quickstarter apply` or `crunch submission checkout` bring some)", {}
        else:
            kind, what, urls = _code_files(client, competition_info, access, choice, no_model, notebook, console)
        model_directory = chosen_model_directory or DEFAULT_MODEL_DIR
        if kind == "submission" and (urls or no_model):
            source = _submission_model_directory(client, competition_info, access, choice)
            # the listing is trusted when the clone's model files are where it says (or none came)
            if source is not None and (no_model or any(path.startswith(source + "/") for path in urls)):
                model_directory = chosen_model_directory or source
                urls = _move_model_files(urls, source, model_directory, console)
        rollback.preserve(root / ".gitignore")
        staging = workspace.dot_dir / STAGING_DIR
        names = _fetch_code(urls, staging, console, root)
        placed = _move_into_place(staging, root, names, overwrite=kind == "submission", console=console, rollback=rollback)
        shutil.rmtree(staging, ignore_errors=True)
        workspace.create_layout(model_directory)  # after the code: a cloned .gitignore gets the workspace's lines too
        if kind == "stub":
            if (root / "main.py").exists():
                console.print("kept your main.py (the competition has no quickstarter)")
            else:
                rollback.replacing(root / "main.py")
                write_text_atomic(root / "main.py", STUB_MAIN)
                placed.append("main.py")
        workspace.write_project(
            ProjectInfo(
                competition_name=competition_info.name,
                project_name=access.project_name,
                user_id=access.user_id,
                size_variant=variant,
                api_base_url=settings.api_base_url,
                web_base_url=settings.web_base_url,
                model_directory=model_directory,
                extra={NOTEBOOK_KEY: True} if notebook else {},
            )
        )
    except BaseException as error:  # an error, Ctrl-C or SIGTERM (crunch/core/interrupts.py): all or nothing
        rollback.undo()
        hint = (
            "the setup token is used up: copy the `crunch setup` command again from the Submit page"
            if access.push_token
            else "run the command again"
        )
        if isinstance(error, CrunchError):
            error.args = (f"{error.message}. Setup was undone, nothing was kept; {hint}",)
        elif isinstance(error, KeyboardInterrupt):
            console.print(f"\nsetup was undone, nothing was kept; {hint}")
        raise
    rollback.commit()
    shown = _shown_path(root)
    console.print(f"workspace for {competition_info.name}/{access.project_name} is ready in {shown}")
    console.print(f"code: {what}" + (f" ({len(placed)} file(s))" if placed else ""))

    # 4. the data: the workspace is already whole, `crunch download` resumes a failure
    if no_data:
        console.print("data: not downloaded (--no-data); run `crunch download` when you need it")
    else:
        try:
            ensure_data(workspace, settings, console, size_variant=variant)
        except NoDataYetError as error:
            console.print(f"data: {error.message}")
        except CrunchError as error:
            raise TransferError(
                f"{error.message}. The workspace itself is ready: run `crunch download` in {shown} to finish the data"
            ) from error
        except KeyboardInterrupt:
            console.print(f"\ninterrupted: the workspace is ready; run `crunch download` in {shown} to finish the data")
            raise

    _next_steps(console, shown, notebook)
    return workspace


def _shown_path(root: Path) -> str:
    try:
        relative = os.path.relpath(root)
    except ValueError:
        return str(root)
    return relative if not relative.startswith("..") or len(relative) < len(str(root)) else str(root)


def _next_steps(console: Console, shown: str, notebook: bool) -> None:
    console.print("")
    console.print("next steps:")
    if notebook:
        console.print("  in a cell:  import crunch; crunch_tools = crunch.load_notebook()")
        console.print("              X_train, y_train, X_test = crunch_tools.load_data()")
        console.print("  define train() and infer() in the notebook, then run crunch_tools.test()")
        console.print("  submit the notebook: crunch_tools.submit(\"my model\")  (or `!crunch push -m \"my model\"` in a cell)")
        return
    if shown not in (".", ""):
        console.print(f"  cd {shown}")
    console.print("  crunch test                  # run your train()/infer() locally, as the platform will")
    console.print('  crunch push -m "my model"    # submit your code and model')
