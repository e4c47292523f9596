"""The checks of ``crunch doctor``: each looks at one thing the cloud objects to and gives
:class:`Finding` s, each with its fix.

- ``whitelist``: requirements, and modules the code imports, that the competition's whitelist
  does not have (the platform installs nothing else);
- ``install``: requirements the package index cannot give (``pip install --dry-run --no-deps``,
  bounded in time; without the index, a note that it could not check);
- ``paths``: absolute or ``..`` paths in the code (the cloud has only the workspace's files);
- ``size``: code or model files over the limits of a push;
- ``notebook``: a notebook's ``crunch.load_notebook()`` line left in the code;
- ``runner``: the modules the competition's own ``runner.py``/``scoring.py`` import, and the
  versions installed here (what ``crunch test`` runs them with).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..core.fsutil import human_size, read_text
from ..project.workspace import Workspace

ERROR = "error"  # the push or the cloud run would fail on it
WARNING = "warning"  # worth a look; the push would go through
INFO = "info"  # what was seen, or what could not be checked

REQUIREMENTS_FILE = "requirements.txt"
PIP_TIMEOUT_VARIABLE = "CRUNCH_DOCTOR_PIP_TIMEOUT"
PIP_TIMEOUT = 60.0


@dataclass
class Finding:
    check: str
    severity: str
    message: str
    fix: str = ""
    file: Optional[str] = None
    line: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value not in (None, "")}


@dataclass
class Sources:
    """The workspace's code as the checks read it: each Python file's text, by its path."""

    root: Path
    files: Dict[str, str]
    main: str
    model_directory: str


# -- imports ---------------------------------------------------------------------------------------


def imported_modules(text: str) -> List[Tuple[str, int]]:
    """The top-level modules a Python source imports (absolute imports), each with its first line."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    seen: Dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                seen.setdefault(alias.name.split(".")[0], node.lineno)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            seen.setdefault(node.module.split(".")[0], node.lineno)
    return sorted(seen.items(), key=lambda item: item[1])


def _standard(module: str) -> bool:
    return module in getattr(sys, "stdlib_module_names", ()) or module in sys.builtin_module_names or module == "__future__"


def _local_modules(sources: Sources) -> Set[str]:
    """Modules and packages the workspace itself holds (``utils.py``, ``helpers/``)."""
    local: Set[str] = set()
    for path in sources.files:
        first = path.split("/")[0]
        local.add(first[:-3] if first.endswith(".py") else first)
    return local


# -- whitelist -------------------------------------------------------------------------------------


def check_whitelist(sources: Sources, libraries: Optional[List[Any]], requirements: Optional[str]) -> List[Finding]:
    from packaging.utils import canonicalize_name

    from ..api.models import library_index
    from ..code.freeze import requirement_names

    if libraries is None:
        return [Finding("whitelist", INFO, "the competition's library whitelist is not known here: libraries not checked",
                        "run `crunch download` with the hub reachable (it caches the whitelist), then `crunch doctor` again")]
    findings: List[Finding] = []
    known = {canonicalize_name(name) for library in libraries for name in [library.name, *library.aliases]}
    index = library_index(libraries)
    names: List[str] = []
    if requirements is not None:
        names, unreadable = requirement_names(requirements)
        for line in unreadable:
            findings.append(Finding("whitelist", WARNING, f"{REQUIREMENTS_FILE}: cannot read the line `{line}`",
                                    "write it as `name`, `name==version` or `name>=version`", REQUIREMENTS_FILE))
        for name in names:
            if canonicalize_name(name) not in known:
                findings.append(Finding("whitelist", ERROR, f"{REQUIREMENTS_FILE}: `{name}` is not in the competition's whitelist: the platform will not install it",
                                        f"remove it, use a library of the whitelist (`crunch whitelist search {name}`), or ask for it (`crunch whitelist request {name}`)",
                                        REQUIREMENTS_FILE))
    asked = {canonicalize_name(name) for name in names}
    local = _local_modules(sources)
    for path, text in sources.files.items():
        for module, line in imported_modules(text):
            if _standard(module) or module in local or module == "crunch":
                continue
            library = index.get(module) or index.get(canonicalize_name(module))
            if library is None:
                findings.append(Finding("whitelist", ERROR, f"`import {module}`: no library of the competition's whitelist gives the module {module}",
                                        "remove the import, or ask for the library that gives it (`crunch whitelist request NAME`)", path, line))
            elif not library.standard and canonicalize_name(library.name) not in asked and not any(canonicalize_name(a) in asked for a in library.aliases):
                findings.append(Finding("whitelist", WARNING, f"`import {module}`: {library.name} is not in {REQUIREMENTS_FILE}",
                                        f"add `{library.name}` to {REQUIREMENTS_FILE} (`crunch push` pins the version installed here)", path, line))
    return findings


# -- install ---------------------------------------------------------------------------------------

_NOT_FOUND = re.compile(r"(?:No matching distribution found for|Could not find a version that satisfies the requirement)\s+(\S+)")
_OFFLINE = ("NewConnectionError", "Failed to establish a new connection", "Network is unreachable", "Temporary failure in name resolution",
            "Name or service not known", "ConnectTimeoutError", "ReadTimeoutError", "Max retries exceeded", "Could not fetch URL")


def check_install(root: Path, requirements: Optional[str], *, offline: bool, run: Optional[Callable[..., Any]] = None) -> List[Finding]:
    """Whether pip can get each requirement from the configured index (``pip`` reads its own
    configuration: PIP_INDEX_URL, pip.conf...), without installing anything."""
    from ..code.freeze import requirement_names

    if requirements is None or not requirement_names(requirements)[0]:
        return []
    if offline:
        return [Finding("install", INFO, "requirements not tried against the package index (--offline)", "run `crunch doctor` without --offline")]
    try:
        timeout = float(os.environ.get(PIP_TIMEOUT_VARIABLE, "") or PIP_TIMEOUT)
    except ValueError:
        timeout = PIP_TIMEOUT
    with tempfile.TemporaryDirectory(prefix="crunch-doctor-") as folder:
        command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed", "--disable-pip-version-check",
                   "--no-input", "--quiet", "--target", folder, "-r", str(root / REQUIREMENTS_FILE)]
        try:
            done = (run or subprocess.run)(command, capture_output=True, text=True, timeout=timeout, cwd=str(root),
                                           env={**os.environ, "PIP_DEFAULT_TIMEOUT": str(max(1, int(timeout // 4)))})
        except subprocess.TimeoutExpired:
            return [Finding("install", INFO, f"the package index did not answer within {timeout:.0f} s: requirements not checked",
                            f"try again with the network up, or set {PIP_TIMEOUT_VARIABLE} to wait longer")]
        except OSError as error:
            return [Finding("install", INFO, f"pip could not be started ({error.strerror or error}): requirements not checked", "install pip in this environment")]
    if done.returncode == 0:
        return []
    output = (done.stderr or "") + (done.stdout or "")
    missing = _NOT_FOUND.findall(output)
    if missing:
        return [Finding("install", ERROR, f"{REQUIREMENTS_FILE}: `{name}` cannot be installed: the package index has no such version",
                        "fix the name or the version (`pip index versions NAME` lists them)", REQUIREMENTS_FILE) for name in dict.fromkeys(missing)]
    if any(marker in output for marker in _OFFLINE):
        return [Finding("install", INFO, "the package index could not be reached: requirements not checked", "run `crunch doctor` again with the network up")]
    last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no message")
    return [Finding("install", ERROR, f"{REQUIREMENTS_FILE} does not install: pip says {last[:300]}", "fix the requirement pip names", REQUIREMENTS_FILE)]


# -- paths outside the workspace -------------------------------------------------------------------

_ABSOLUTE = re.compile(r"^(?:/(?!/)[^\s:*?\"<>|]*|~[/\\]\S*|[A-Za-z]:[\\/]\S*)$")
_PARENT = re.compile(r"(?:^|[\\/])\.\.(?:[\\/]|$)")
_HARMLESS = ("/tmp/", "/var/tmp/", "/dev/", "/proc/", "/sys/")


def _path_like(value: str, root: str = "") -> Optional[str]:
    """Why ``value`` reads as a path outside the workspace, or None (scratch space such as
    ``/tmp`` is left alone, unless it is where the workspace is)."""
    if root and (value == root or value.startswith(root + os.sep)):
        return "an absolute path on this machine"
    if not value or len(value) > 400 or "\n" in value:
        return None
    if _PARENT.search(value) and not value.startswith(("http://", "https://")):
        return "a path that climbs out of its folder (`..`)"
    if _ABSOLUTE.match(value) and value.count("/") + value.count("\\") >= 2 and not value.startswith(_HARMLESS):
        return "an absolute path"
    return None


def check_paths(sources: Sources) -> List[Finding]:
    findings: List[Finding] = []
    root = str(sources.root.resolve())
    for path, text in sources.files.items():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str) or id(node) in docstrings:
                continue
            why = _path_like(node.value, root)
            if why is None:
                continue
            inside = node.value.startswith(root + os.sep) or node.value == root
            fix = ("make it relative to the workspace (the cloud runs your code from the workspace's root)" if inside
                   else "put the file in the workspace (or the model directory) and read it by a relative path")
            findings.append(Finding("paths", ERROR, f"`{node.value}`: {why}, which the cloud does not have", fix, path, node.lineno))
    return findings


# -- sizes -----------------------------------------------------------------------------------------


def check_sizes(root: Path, model_directory: str, code: Sequence[Any], model: Sequence[Any]) -> List[Finding]:
    from ..code.files import (
        CODE_LIMIT_VARIABLE,
        CODE_SIZE_LIMIT,
        MODEL_LIMIT_VARIABLE,
        MODEL_SIZE_LIMIT,
        size_limit,
    )

    findings: List[Finding] = []
    for files, variable, default, what, prefix, fix in (
        (code, CODE_LIMIT_VARIABLE, CODE_SIZE_LIMIT, "code files", "", "move large files out of the workspace, or list them in .gitignore"),
        (model, MODEL_LIMIT_VARIABLE, MODEL_SIZE_LIMIT, f"model files in {model_directory}/", f"{model_directory}/", "remove old or unused model files"),
    ):
        limit = size_limit(variable, default)
        total = sum(f.size for f in files)
        if total > limit:
            largest = sorted(files, key=lambda f: f.size, reverse=True)[:3]
            names = ", ".join(f"{prefix}{f.path} ({human_size(f.size)})" for f in largest)
            findings.append(Finding("size", ERROR, f"the {what} take {human_size(total)}, over the limit of {human_size(limit)} (largest: {names})", fix))
    return findings


# -- the notebook's line ---------------------------------------------------------------------------

_LOAD_NOTEBOOK = re.compile(r"\bload_notebook\s*\(")


def check_notebook_line(sources: Sources) -> List[Finding]:
    findings: List[Finding] = []
    for path, text in sources.files.items():
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = text.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                function = node.func
                name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
                if name == "load_notebook":
                    shown = lines[node.lineno - 1].strip() if node.lineno - 1 < len(lines) else "load_notebook()"
                    findings.append(Finding("notebook", ERROR, f"`{shown}`: the notebook's setup line is in the code the cloud runs",
                                            "remove the line (and the uses of what it returns, such as crunch_tools.test()): the cloud's runner calls your functions itself",
                                            path, node.lineno))
    return findings


# -- the competition's runner ----------------------------------------------------------------------


def check_runner(workspace: Workspace) -> List[Finding]:
    """The libraries the competition's cached ``runner.py`` and ``scoring.py`` import, and the
    versions installed here (``crunch test`` runs them in this environment)."""
    import importlib.metadata
    import importlib.util

    from ..core.packages import installed_version
    from ..data.competition_code import CodeCache

    cache = CodeCache(workspace.dot_dir)
    findings: List[Finding] = []
    try:
        distributions = importlib.metadata.packages_distributions()
    except Exception:  # noqa: BLE001 - a broken distribution's metadata: names only
        distributions = {}
    for file in ("runner", "scoring"):
        path = cache.path(file)
        if not path.is_file():
            continue
        try:
            text = read_text(path, errors="replace")
        except OSError:
            continue
        parts: List[str] = []
        for module, line in imported_modules(text):
            if _standard(module) or module == "crunch":
                continue
            names = distributions.get(module) or []
            version = next((installed_version(name) for name in names if installed_version(name)), None)
            if version is None and importlib.util.find_spec(module) is None:
                findings.append(Finding("runner", WARNING, f"the competition's {file}.py imports {module}, which is not installed here: `crunch test` cannot run it",
                                        f"install it (`pip install {module}`), at the version of your {REQUIREMENTS_FILE} if it names one", f".crunchdao/code/{file}.py", line))
                continue
            parts.append(f"{names[0] if names else module} {version or '(version unknown)'}")
        if parts:
            findings.append(Finding("runner", INFO, f"the competition's {file}.py imports, installed here: " + ", ".join(parts),
                                    "keep these versions in requirements.txt when your code relies on them"))
    return findings


def run_all(
    workspace: Workspace,
    *,
    main_file: Optional[str] = None,
    model_directory: Optional[str] = None,
    libraries: Optional[List[Any]] = None,
    offline: bool = False,
) -> List[Finding]:
    """Every check on ``workspace``, in the order of the module's text."""
    from ..code.files import check_model_directory, list_code_files, list_model_files

    root = workspace.root
    info = workspace.project()
    model_dir = check_model_directory(root, model_directory or info.model_directory)
    code = list_code_files(root, model_dir)
    model = list_model_files(root, model_dir)
    main = main_file or "main.py"
    files: Dict[str, str] = {}
    for selected in code:
        if selected.path.endswith(".py"):
            try:
                files[selected.path] = read_text(root / selected.path, errors="replace")
            except OSError:
                continue
    notebook = _notebook_source(root, main)
    if main not in files and notebook is not None:
        files[notebook[0]] = notebook[1]
    sources = Sources(root, files, main, model_dir)
    requirements_path = root / REQUIREMENTS_FILE
    requirements = read_text(requirements_path, errors="replace") if requirements_path.is_file() else None
    findings: List[Finding] = []
    findings += check_whitelist(sources, libraries, requirements)
    findings += check_install(root, requirements, offline=offline)
    findings += check_paths(sources)
    findings += check_sizes(root, model_dir, code, model)
    findings += check_notebook_line(sources)
    findings += check_runner(workspace)
    return findings


def _notebook_source(root: Path, main: str) -> Optional[Tuple[str, str]]:
    """The code cells of the notebook the main file is converted from, when there is no main file."""
    import json

    for name in (Path(main).with_suffix(".ipynb").name, "main.ipynb"):
        path = root / name
        if not path.is_file():
            continue
        try:
            cells = json.loads(read_text(path, errors="replace")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            return None
        code = []
        for cell in cells:
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                text = "".join(source) if isinstance(source, list) else str(source)
                code.append("\n".join("" if line.lstrip().startswith(("!", "%")) else line for line in text.splitlines()))
        return name, "\n".join(code)
    return None


def blocking(findings: Iterable[Finding]) -> List[Finding]:
    return [finding for finding in findings if finding.severity == ERROR]
