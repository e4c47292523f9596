"""A clean virtual environment per set of pinned requirements, cached by their hash.

The environment holds the submission's requirements only, installed by ``uv`` when it is on
the PATH, by ``venv`` + this interpreter's ``pip`` otherwise. The runner's own packages
(``crunch`` and the libraries it needs, as the platform's image has them) are reached through a
``.pth`` file written *after* the install, so they come last on ``sys.path``: a version the
submission pins wins, and pip never sees (nor touches) them.

Cache layout: ``<cache>/<key>/`` (``<key>`` = sha256 of the Python version and the
normalized requirements), built in a sibling folder and renamed when complete, under a file
lock, so a half-built environment is never used. A build that is cancelled (a stopping hub, a
terminated run) kills the installer's whole process group and removes the half-built folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Set

from ..exceptions import CrunchError

RUNNER_DISTRIBUTION = "crunch-cli"
RUNTIME_DIR = "crunch-runtime"
READY = "ready"
ENV_CACHE_VARIABLE = "CRUNCH_ENVIRONMENTS_CACHE"

Log = Callable[[str, str, bool], None]  # (emitter, line, is_error)


class EnvironmentBuildError(CrunchError):
    """A requirement did not install in the clean environment."""


class EnvironmentBuildCancelled(EnvironmentBuildError):
    """The build was stopped from outside (its processes killed, its folder removed)."""


CANCEL_POLL = 0.2  # seconds between two looks at `cancelled` while an installer runs


@dataclass
class Environment:
    path: Path
    cached: bool

    @property
    def python(self) -> Path:
        return self.path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def default_cache() -> Path:
    """``$CRUNCH_ENVIRONMENTS_CACHE``, else ``<user cache dir>/crunch/environments``."""
    explicit = os.environ.get(ENV_CACHE_VARIABLE)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crunch" / "environments"


def normalized_requirements(text: str) -> str:
    """The requirement lines without comments, blanks and surrounding spaces, in their order."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return "\n".join(lines)


def requirements_to_install(text: str) -> str:
    """The normalized requirements without ``crunch`` itself (``crunch-cli``, which `crunch
    convert` lists for a notebook's ``import crunch``): the runner provides it, as the
    platform's image does; installed from the index, it would shadow the runner's own."""
    from packaging.requirements import InvalidRequirement, Requirement

    from ..core.packages import is_crunch_itself

    kept = []
    for line in normalized_requirements(text).splitlines():
        try:
            if is_crunch_itself(Requirement(line).name):
                continue
        except InvalidRequirement:  # an option line, a path, a URL: pip's to read
            pass
        kept.append(line)
    return "\n".join(kept)


def requirements_key(text: str, python_version: Optional[str] = None) -> str:
    """The cache key: the requirements, the Python version, and the crunch whose packages the
    environment links to (another installation gets its own environments)."""
    from ..__version__ import __version__

    version = python_version or ".".join(str(part) for part in sys.version_info[:3])
    runtime = f"{__version__} {sys.prefix}"
    digest = hashlib.sha256(f"python {version}\nrunner {runtime}\n{requirements_to_install(text)}\n".encode())
    return digest.hexdigest()[:24]


def ensure_environment(
    requirements: str,
    *,
    cache: Optional[Path] = None,
    log: Optional[Log] = None,
    cancelled: Optional[Callable[[], bool]] = None,
    on_start: Optional[Callable[[int], None]] = None,
) -> Environment:
    """The cached environment of ``requirements``, built first when there is none.

    ``on_start`` gets the process group of each installer (to kill it from outside); when
    ``cancelled()`` turns true the installer's group is killed, the half-built folder removed and
    :class:`EnvironmentBuildCancelled` raised."""
    from filelock import FileLock

    cache = Path(cache) if cache is not None else default_cache()
    cache.mkdir(parents=True, exist_ok=True)
    key = requirements_key(requirements)
    final = cache / key
    emit = log or (lambda emitter, line, error: None)
    with FileLock(str(cache / f"{key}.lock")):
        if (final / READY).is_file():
            emit("sandbox", f"environment {key} reused from the cache", False)
            return Environment(final, cached=True)
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        partial = cache / f"{key}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            _build(partial, final, requirements, emit, cancelled, on_start)
            os.replace(partial, final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        (final / READY).write_text(normalized_requirements(requirements) + "\n", encoding="utf-8")
        return Environment(final, cached=False)


def _build(
    folder: Path,
    final: Path,
    requirements: str,
    emit: Log,
    cancelled: Optional[Callable[[], bool]] = None,
    on_start: Optional[Callable[[int], None]] = None,
) -> None:
    uv = shutil.which("uv")
    emit("sandbox", f"creating a clean environment ({'uv' if uv else 'venv + pip'})", False)
    if uv:
        command = [uv, "venv", "--quiet", "--python", sys.executable, str(folder)]
    else:
        command = [sys.executable, "-m", "venv", "--without-pip", str(folder)]
    failed = _run(command, "sandbox", emit, cancelled, on_start)
    if failed is not None:
        raise EnvironmentBuildError(f"creating the clean environment failed: {trim_pip_error(failed)}")
    python = Environment(folder, cached=False).python
    lines = requirements_to_install(requirements)
    if lines:
        listing = folder / "requirements.txt"
        listing.write_text(lines + "\n", encoding="utf-8")
        if uv:
            command = [uv, "pip", "install", "--python", str(python), "-r", str(listing)]
        else:
            command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-input", "--disable-pip-version-check", "-r", str(listing)]
        output = _run(command, "pip", emit, cancelled, on_start)
        if output is not None:
            raise EnvironmentBuildError(
                "a requirement does not install in the clean environment: " + trim_pip_error(output)
                + ": fix requirements.txt (the version pinned by `crunch push` must exist for this Python)"
            )
    _link_runtime(folder, final)


def trim_pip_error(output: List[str]) -> str:
    """What matters in pip's (or uv's) failure: its ``ERROR:`` lines, else its last line."""
    errors = [line.strip() for line in output if line.strip().startswith(("ERROR:", "error:", "×", "╰─▶"))]
    errors = [line.removeprefix("ERROR:").removeprefix("error:").strip(" ×╰─▶") for line in errors]
    errors = [line for line in errors if line and not line.startswith(("[notice]", "Ignored the following"))]
    if not errors:
        errors = [line.strip() for line in output if line.strip()][-1:] or ["the installer failed without a message"]
    return "; ".join(dict.fromkeys(errors))


def _run(
    command: List[str],
    emitter: str,
    emit: Log,
    cancelled: Optional[Callable[[], bool]] = None,
    on_start: Optional[Callable[[int], None]] = None,
) -> Optional[List[str]]:
    """Run ``command`` in its own process group, passing its lines on; its output when it
    failed, else ``None``. ``cancelled()`` turning true (looked at every CANCEL_POLL seconds)
    kills the group and raises :class:`EnvironmentBuildCancelled`."""
    import threading

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CRUNCH_"))}
    from .process import kill_group, new_group

    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
        env=env, **new_group(),
    )
    if on_start is not None:
        on_start(process.pid)  # the group id (its own session): whoever stops the build may kill it
    stopped = threading.Event()
    ended = threading.Event()

    def watch() -> None:
        while not ended.wait(CANCEL_POLL):
            if cancelled is not None and cancelled():
                stopped.set()
                kill_group(process.pid)  # the installer and what it started (a build backend...)
                return

    watcher = threading.Thread(target=watch, name="crunch-environment-cancel", daemon=True)
    if cancelled is not None:
        if cancelled():  # asked to stop before the installer was known
            stopped.set()
            kill_group(process.pid)
        watcher.start()
    output: List[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            line = line.rstrip("\n")
            output.append(line)
            emit(emitter, line, False)
    except BaseException:  # Ctrl-C: the installer (in its own session) stops too
        kill_group(process.pid)
        process.wait()
        raise
    finally:
        ended.set()
    code = process.wait()
    if stopped.is_set() or (cancelled is not None and cancelled() and code != 0):
        kill_group(process.pid)  # nothing of the group outlives the build
        raise EnvironmentBuildCancelled("the environment build was stopped")
    return output if code != 0 else None


# -- the runner's own packages ----------------------------------------------------------------


def runner_distributions() -> Set[str]:
    """``crunch-cli`` and what it requires (without extras), recursively, as installed here."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: Set[str] = set()
    pending = [RUNNER_DISTRIBUTION]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            pending.append(requirement.name)
    return seen


def _top_level(name: str) -> Iterable[Path]:
    import importlib.metadata as metadata

    distribution = metadata.distribution(name)
    tops: Set[str] = set()
    for file in distribution.files or []:
        parts = Path(str(file)).parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith((".dist-info", ".pth")):
            continue
        if parts[0].startswith("__editable__") or parts[0].endswith(".data"):
            continue
        tops.add(parts[0])
    base = Path(str(distribution.locate_file("")))
    for top in sorted(tops):
        path = base / top
        if path.exists():
            yield path


def _link_runtime(folder: Path, final: Path) -> None:
    """``<env>/crunch-runtime/``: links to the runner's packages, last on the environment's path."""
    runtime = folder / RUNTIME_DIR
    runtime.mkdir()
    for name in sorted(runner_distributions()):
        if name == RUNNER_DISTRIBUTION:
            sources: Iterable[Path] = [Path(__file__).resolve().parent.parent]  # this package, crunch/
        else:
            sources = _top_level(name)
        for source in sources:
            target = runtime / source.name
            if not target.exists():
                target.symlink_to(source, target_is_directory=source.is_dir())
    pth = "\n".join([str(final / RUNTIME_DIR)]) + "\n"
    for site in (folder / "lib").glob("python*/site-packages"):
        (site / "zz_crunch_runtime.pth").write_text(pth, encoding="utf-8")
    for site in (folder / "Lib").glob("site-packages"):
        (site / "zz_crunch_runtime.pth").write_text(pth, encoding="utf-8")
