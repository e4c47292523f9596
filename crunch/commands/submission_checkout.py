"""``crunch submission checkout N|@last [FILE...]``: bring back files of a submission into the
workspace: all of them, or the named files and folders. Files of yours that the submission does
not hold are left alone; the ones it holds are replaced, after every file arrived."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Dict, List, Sequence, Union

from ..core.console import Console
from ..core.fsutil import ensure_folder
from ..exceptions import ConfigurationError, EncryptedSubmissionError, UnsafePathError
from ..project.context import open_project
from ..project.settings import Settings
from ..project.workspace import DATA_DIR, DOT_DIR, PREDICTION_DIR
from ..submission.lookup import find_submission, parse_identifier

NEVER_IN_A_SUBMISSION = {
    DATA_DIR: "the data is never part of a submission: `crunch download` fetches it",
    PREDICTION_DIR: "predictions are made locally by `crunch test`, never submitted",
    DOT_DIR: "the workspace's metadata is never submitted",
}


def _requested(root: Path, files: Sequence[str]) -> List[str]:
    """The workspace-relative POSIX paths of ``files`` (given from the current folder)."""
    paths = []
    for name in files:
        absolute = Path(os.path.abspath(name))
        try:
            relative = absolute.relative_to(root)
        except ValueError:
            raise ConfigurationError(f"{name} is outside the workspace {root}: nothing was checked out") from None
        text = relative.as_posix()
        paths.append("." if text in ("", ".") else text)
    return paths


def _select(urls: Dict[str, str], requested: List[str], number: int) -> Dict[str, str]:
    selected: Dict[str, str] = {}
    for path in requested:
        if path == ".":
            return dict(urls)
        prefix = path.rstrip("/") + "/"
        matches = {k: v for k, v in urls.items() if k == path or k.startswith(prefix)}
        if not matches:
            top = PurePosixPath(path).parts[0]
            reason = NEVER_IN_A_SUBMISSION.get(top, f"submission #{number} holds no such file (`crunch submission show {number}` lists them)")
            raise ConfigurationError(f"{path}: {reason}; nothing was checked out")
        selected.update(matches)
    return selected


def run(*, settings: Settings, console: Console, submission: Union[str, int], files: Sequence[str] = ()) -> List[str]:
    from ..transfer.download import Downloader, Remote, safe_relative_path

    identifier = parse_identifier(submission)
    context = open_project(settings)
    root = context.workspace.root
    requested = _requested(root, files)
    found = find_submission(context, identifier)
    try:
        urls = context.client.clone(context.info.competition_name, context.info.user_id, context.info.project_name, found.number, include_model=True)
    except EncryptedSubmissionError as error:
        raise EncryptedSubmissionError(
            f"submission #{found.number} is encrypted and cannot be checked out: the hub cannot hand out its files "
            "(use your own copy of the code you pushed); nothing was written",
            code=error.code,
            status=error.status,
            extra=error.extra,
        ) from None
    from ..project.modeldir import Protected, lands_in_secret_folder

    protected = Protected(root)
    for path in urls:
        relative = safe_relative_path(path, "submission file")
        if lands_in_secret_folder(root, str(relative), protected):
            raise UnsafePathError(f"refusing the submission file path {path!r}: it would write into {DOT_DIR}/")
    from ..transfer.names import check_distinct, check_targets

    # the whole listing is checked, not only the files asked for: a hub that names a file that
    # steers the workspace is not trusted with the others either
    advice = f"tell the hub's operators (submission #{found.number})"
    check_distinct([(path, str(safe_relative_path(path))) for path in sorted(urls)], f"submission #{found.number}", advice)
    names = [str(safe_relative_path(path)) for path in urls]
    check_targets(names, [root, context.workspace.dot_dir / "checkout-xxxxxxxx"], "submission file", f"nothing was written; {advice}")
    selected = _select(urls, requested, found.number) if requested else dict(urls)
    for path in selected:
        if (root / path).is_dir():
            raise ConfigurationError(f"cannot check out {path}: a folder of that name is in the way; nothing was checked out")
    staging = Path(tempfile.mkdtemp(prefix="checkout-", dir=context.workspace.dot_dir))
    try:
        remotes = [Remote(str(safe_relative_path(path)), url) for path, url in sorted(selected.items())]
        if remotes:
            Downloader(console=console).fetch_all(remotes, staging, force=True)
        for remote in remotes:  # every file arrived: now they go into place
            target = root / remote.name
            ensure_folder(target.parent)  # a file in the way: one line naming it
            os.replace(staging / remote.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    console.result(f"{len(selected)} file(s) checked out from submission #{found.number}")
    return sorted(selected)
