"""Hosting an UNSTRUCTURED competition: the competition ships its own code (``runner.py``,
``scoring.py``, ``submission.py``...), its data release is every file of a folder, and its
targets and metrics are what ``scoring.py`` receives.

Layout under the hub's root:

- ``files/competitions/<name>/DEFAULT/<file>``: the data release (hard links or copies);
- ``files/competitions/<name>/code/scoring/<file>``: the code, served at
  ``GET /competitions/<name>/scoring/<file>`` (the layout of the public code cache, so that
  ``CRUNCH_COMPETITIONS_SOURCE=cache+http://HOST:PORT`` finds it);
- ``private/<name>/<file>``: private files (e.g. the platform's ``y_test.parquet``), never served;
- ``files/quickstarters/<name>/<quickstarter>/<file>``: the quickstarters found in the code folder
  (``CODE_DIR/quickstarters/<quickstarter>/quickstarter.json`` with its ``entrypoint``, as in the
  public repository), served by the quickstarter calls.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .store import Store, sha256_file

#: The code files the platform loads by name (``competitions/<name>/scoring/<file>.py``).
MODULE_NAMES = ("runner", "scoring", "submission", "leaderboard", "reward")

SKIPPED_NAMES = {"__pycache__", ".DS_Store", ".git", ".ipynb_checkpoints"}


def parse_metrics(specs: Sequence[str]) -> List[Dict[str, Any]]:
    """``["TARGET:METRIC", ...]`` -> the targets with their metrics, in order (the first target is primary)."""
    targets: Dict[str, Dict[str, Any]] = {}
    for spec in specs:
        target, _, metric = (part.strip() for part in str(spec).partition(":"))
        if not target or not metric or ":" in metric:
            raise ValueError(f"--metric {spec!r}: expected TARGET:METRIC, e.g. prediction:roc-auc")
        entry = targets.setdefault(target, {"name": target, "primary": not targets, "virtual": False, "metrics": []})
        if any(known["name"] == metric for known in entry["metrics"]):
            raise ValueError(f"--metric {spec!r}: given twice")
        entry["metrics"].append({"name": metric, "weight": 1, "score": True, "multiplier": 1.0})
    return list(targets.values())


def find_scoring_folder(code_dir: os.PathLike | str) -> Path:
    """The folder holding the competition's ``runner.py``: ``CODE_DIR/scoring/`` or ``CODE_DIR`` itself."""
    root = Path(code_dir)
    for candidate in (root / "scoring", root):
        if (candidate / "runner.py").is_file():
            return candidate
    raise ValueError(
        f"no runner.py in {root} nor in {root / 'scoring'}: the code folder holds the competition's "
        "scoring/runner.py (and scoring.py, submission.py...)"
    )


def _files_of(folder: Path) -> List[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in SKIPPED_NAMES or part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            found.append(path)
    return found


def _quickstarters(code_dir: Path, scoring: Path) -> List[Dict[str, Any]]:
    """The quickstarters of ``CODE_DIR/quickstarters/*/quickstarter.json`` (only when CODE_DIR holds ``scoring/``)."""
    folder = Path(code_dir) / "quickstarters"
    if scoring == Path(code_dir) or not folder.is_dir():
        return []
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "quickstarter.json").is_file()):
        try:
            meta = json.loads((sub / "quickstarter.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{sub / 'quickstarter.json'} is not valid JSON: {error}") from None
        entrypoint = meta.get("entrypoint") if isinstance(meta, dict) else None
        if not isinstance(entrypoint, str) or not (sub / entrypoint).is_file():
            raise ValueError(f"{sub / 'quickstarter.json'}: its \"entrypoint\" names no file of {sub}")
        files = [sub / entrypoint] + sorted(p for p in sub.glob("requirements*.txt") if p.name != entrypoint)
        found.append({
            "name": sub.name,
            "title": str(meta.get("title") or sub.name),
            "notebook": bool(meta.get("notebook", entrypoint.endswith(".ipynb"))),
            "files": files,
        })
    return found


def _check_compiles(scoring: Path) -> None:
    for path in sorted(scoring.glob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec")
        except (SyntaxError, ValueError) as error:
            line = f" line {error.lineno}" if isinstance(error, SyntaxError) and error.lineno else ""
            raise ValueError(f"{path.name}{line} does not compile: {getattr(error, 'msg', error)}") from None


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _replace_folder(target: Path, files: List[Path], source: Path, link: bool = True) -> None:
    """Fill ``target`` with ``files`` (relative to ``source``), built aside then swapped in.
    Large files are hard-linked (``link``); code is copied, so later edits of the source do not leak in."""
    staging = target.with_name(target.name + ".new")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for path in files:
        if link:
            _link_or_copy(path, staging / path.relative_to(source))
        else:
            (staging / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / path.relative_to(source))
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def _checked_inputs(
    data_dir: os.PathLike | str,
    code_dir: os.PathLike | str,
    metrics: Sequence[str],
    private_data: Optional[os.PathLike | str],
) -> Tuple[List[Path], Path, List[Path], List[Path], List[Dict[str, Any]], List[Dict[str, Any]]]:
    source = Path(data_dir)
    if not source.is_dir():
        raise ValueError(f"{source} is not a folder")
    data_files = _files_of(source)
    if not data_files:
        raise ValueError(f"{source} holds no file: put the participants' data files there")
    scoring = find_scoring_folder(code_dir)
    code_files = _files_of(scoring)
    _check_compiles(scoring)
    private_files: List[Path] = []
    if private_data is not None:
        private_source = Path(private_data)
        if not private_source.is_dir():
            raise ValueError(f"--private-data {private_source}: not a folder")
        private_files = _files_of(private_source)
    return data_files, scoring, code_files, private_files, parse_metrics(metrics), _quickstarters(Path(code_dir), scoring)


def check_inputs(
    data_dir: os.PathLike | str,
    code_dir: os.PathLike | str,
    metrics: Sequence[str] = (),
    private_data: Optional[os.PathLike | str] = None,
) -> None:
    """Raise ValueError (a message for a person) when the folders or metrics cannot be hosted."""
    _checked_inputs(data_dir, code_dir, metrics, private_data)


def host_unstructured(
    store: Store,
    name: str,
    data_dir: os.PathLike | str,
    *,
    code_dir: os.PathLike | str,
    metrics: Sequence[str] = (),
    targets: Optional[List[Dict[str, Any]]] = None,
    private_data: Optional[os.PathLike | str] = None,
    display_name: Optional[str] = None,
) -> Dict[str, Any]:
    """Host ``data_dir`` (every file) and ``code_dir`` as the UNSTRUCTURED competition ``name``,
    replacing one of that name. Everything is checked before anything is written."""
    source = Path(data_dir)
    data_files, scoring, code_files, private_files, target_specs, quickstarters = _checked_inputs(data_dir, code_dir, metrics, private_data)
    if targets is not None:
        target_specs = targets

    base = store.files / "competitions" / name
    folder = base / "DEFAULT"
    _replace_folder(folder, data_files, source)
    _replace_folder(store.code_dir(name), code_files, scoring, link=False)
    private_target = store.private_dir(name)
    if private_data is not None:
        _replace_folder(private_target, private_files, Path(private_data))
    elif private_target.exists():
        shutil.rmtree(private_target)

    entries: Dict[str, Dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            relative = path.relative_to(folder).as_posix()
            entries[relative] = {
                "name": relative,
                "path": path.relative_to(store.files).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha256_file(path),
            }
    competition_id = store.add_competition(
        name=name,
        display_name=display_name or name,
        format="UNSTRUCTURED",
        checks=[],
        embargo=0,
        number_of_features=0,
        column_names={"id": None, "moon": None, "targets": {}},
        splits=[],
        files={"DEFAULT": entries},
        replace=True,
    )
    store.set_targets(competition_id, target_specs)
    store.clear_quickstarters(competition_id)
    quickstarter_root = store.files / "quickstarters" / name
    if quickstarter_root.exists():
        shutil.rmtree(quickstarter_root)
    for quickstarter in quickstarters:
        target = quickstarter_root / quickstarter["name"]
        target.mkdir(parents=True)
        listed = []
        for path in quickstarter["files"]:
            shutil.copyfile(path, target / path.name)
            listed.append({"name": path.name, "path": (target / path.name).relative_to(store.files).as_posix()})
        store.add_quickstarter(competition_id, quickstarter["name"], quickstarter["title"], listed, notebook=quickstarter["notebook"])
    return {
        "id": competition_id,
        "name": name,
        "files": sorted(entries),
        "code": sorted(path.relative_to(scoring).as_posix() for path in code_files),
        "private": len(private_files),
        "quickstarters": [q["name"] for q in quickstarters],
        "metrics": [f"{t['name']}:{m['name']}" for t in target_specs for m in t["metrics"]],
    }
