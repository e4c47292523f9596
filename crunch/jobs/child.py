"""The runner's process of a clean-environment run: ``python -m crunch.jobs.child SPEC.json``.

It runs in the run's folder (a workspace holding the submission's files, the competition's
metadata and the data), with the competition's runner family (:mod:`crunch.runner.family`),
and writes ``{"ok", "error", "scores", "outside"}`` to the spec's ``result`` path. An audit
hook refuses (and names) every file opened outside the allowed folders, as the cloud has none
of them; a module that is not installed is named with the requirements line to add.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

# import names whose distribution has another name (the line to add to requirements.txt)
DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "cv2": "opencv-python",
    "PIL": "Pillow",
    "yaml": "PyYAML",
    "skimage": "scikit-image",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "Crypto": "pycryptodome",
    "attr": "attrs",
}
ALWAYS_ALLOWED = ("/dev", "/proc", "/sys", "/etc", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/var/lib", "/run")

_outside: List[str] = []


def missing_module_message(name: str) -> str:
    top = name.split(".")[0]
    package = DISTRIBUTIONS.get(top, top)
    return (
        f"the code imports `{top}`, which is not installed in the clean environment: "
        f"add the line `{package}` to requirements.txt (the cloud installs only what it lists)"
    )


def outside_message(path: str) -> str:
    return (
        f"the code opened {path}, outside the submission's folder: the cloud run has no such file "
        "(put the file in the workspace so that `crunch push` sends it, and open it by a relative path)"
    )


WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _writes(args: Any) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else None
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def install_audit_hook(allowed: Sequence[str], read_only: Sequence[str] = ()) -> None:
    """Refuse (and remember) every ``open`` outside ``allowed``, and writes under ``read_only``
    (``data/``: its links lead to the hub's or the workspace's own files)."""
    prefixes = tuple(os.path.join(os.path.abspath(p), "") for p in [*allowed, *ALWAYS_ALLOWED])
    exact = {os.path.abspath(p) for p in allowed}
    protected = tuple(os.path.join(os.path.abspath(p), "") for p in read_only)

    def hook(event: str, args: Any) -> None:
        if event != "open" or not args:
            return
        path = args[0]
        if not isinstance(path, (str, bytes)):
            return
        text = os.fsdecode(path)
        full = os.path.abspath(text)
        if protected and full.startswith(protected) and _writes(args):
            raise PermissionError(errno.EACCES, "data/ is read-only in a run: write into the model directory or prediction/", text)
        if full in exact or full.startswith(prefixes):
            return
        if full not in _outside:
            _outside.append(full)
        raise FileNotFoundError(errno.ENOENT, outside_message(full), text)

    sys.addaudithook(hook)


def _module_not_found(error: BaseException) -> Optional[ModuleNotFoundError]:
    current: Optional[BaseException] = error
    seen = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ModuleNotFoundError) and current.name:
            return current
        current = current.__cause__ or current.__context__
    return None


def describe(error: BaseException) -> str:
    """The one line the run reports for ``error``."""
    missing = _module_not_found(error)
    if missing is not None and missing.name:
        return missing_module_message(missing.name)
    if _outside:
        return outside_message(_outside[0])
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    from ..exceptions import CrunchError

    return message if isinstance(error, CrunchError) else f"{type(error).__name__}: {message}"


def run(spec: Dict[str, Any]) -> Dict[str, Any]:
    from ..core.console import Console
    from ..exceptions import PredictionError
    from ..project.workspace import Workspace
    from ..runner.family import family_of_workspace
    from ..runner.workspace_test import WorkspaceTestOptions, test_workspace

    root = Path(spec["root"])
    os.chdir(root)
    console = Console()
    workspace = Workspace(root)
    if spec.get("phase") == "score":
        return {"ok": True, "scores": _score(workspace, console)}
    family = family_of_workspace(workspace)
    print(f"runner: {family} ({'local rehearsal' if spec.get('is_local', True) else 'cloud run'}), main file {spec.get('main_file') or 'main.py'}", flush=True)
    options = WorkspaceTestOptions(
        main_file=spec.get("main_file"),
        force_first_train=bool(spec.get("force_first_train", True)),
        train_frequency=int(spec.get("train_frequency", 1)),
        determinism_check=bool(spec.get("determinism_check", True)),
        # the competition's own code is scored here only when the hub does not score it afterwards
        # with the held-out truth
        score=bool(spec.get("score", True)),
        is_local=bool(spec.get("is_local", True)),
    )
    result = test_workspace(workspace, None, console, options)
    for line in result.lines:
        console.result(line)
    if result.competition_code:
        return {"ok": True, "scores": _numbers(result.scores)}
    report = result.report
    if not report.valid:
        raise PredictionError(f"the prediction is not valid: {len(report.failures)} check failure(s), listed above")
    if report.deterministic is False:
        raise PredictionError("infer() is not deterministic (see above): give the same output for the same input")
    return {"ok": True, "prediction": str(result.prediction_path) if result.prediction_path else None}


def _numbers(scores: Optional[Dict[Any, Any]]) -> Optional[Dict[str, float]]:
    """The scores that are numbers (or have a numeric ``value``), by name; None when there are none."""
    if not scores:
        return None
    return {str(key): float(getattr(value, "value", value)) for key, value in scores.items() if isinstance(getattr(value, "value", value), (int, float))}


def _score(workspace: Any, console: Any) -> Optional[Dict[str, Any]]:
    """The scoring phase of a cloud run: the competition's scoring.py on the prediction, with
    the held-out truth now in data/ (the participant's code has ended)."""
    from ..runner.competition_test import load_competition_file
    from ..runner.local_score import cached_metrics, score_locally

    scoring = load_competition_file(workspace, None, "scoring", console)
    if scoring is None:
        print("the competition has no scoring.py: the run is not scored", flush=True)
        return None
    metrics = cached_metrics(workspace)

    def say(line: str) -> None:  # the platform's score, not a local one
        console.result(line.replace("local score", "score", 1))

    return _numbers(score_locally(scoring, metrics, workspace.data_dir, str(workspace.prediction_dir), say, workspace.dot_dir))


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    result_path = spec["result"]
    install_audit_hook([*spec.get("allowed", []), result_path], read_only=[os.path.join(spec["root"], "data")])
    try:
        result = run(spec)
    except KeyboardInterrupt:
        result = {"ok": False, "error": "interrupted"}
    except BaseException as error:  # noqa: BLE001 - everything the code raises is the run's outcome
        if isinstance(error, SystemExit) and not error.code:
            result = {"ok": False, "error": "the code called exit() before the run ended"}
        else:
            result = {"ok": False, "error": describe(error)}
        print(f"error: {result['error']}", file=sys.stderr, flush=True)
    result["outside"] = list(_outside)
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
