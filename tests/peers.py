"""The public tools used as oracles, each installed from the registry into a virtual
environment of its own, cached by name and version (never imported by the tests).

The cache lives in ``CRUNCH_PEER_CACHE`` (default ``~/.cache/crunch-test-peers``); a
variable may point at an existing environment instead (``CRUNCH_PEER13``: the ``crunch``
executable of crunch-cli 13.0.1; ``CRUNCH_CONVERT_PEER``: a crunch-convert environment).
An environment is only used once its install completed (a marker file is written last),
and two test processes installing the same one take turns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

CRUNCH_CLI_13 = ("crunch-cli", "13.0.1")
CRUNCH_CLI_3 = ("crunch-cli", "3.11.0")
CRUNCH_CONVERT = ("crunch-convert", "0.12.3")

_COMPLETE = ".installed"


#: The measuring tools kept beside the repository (``../shared/tools``), or where
#: ``CRUNCH_SHARED_TOOLS`` says.
SHARED_TOOLS = Path(os.environ.get("CRUNCH_SHARED_TOOLS") or Path(__file__).resolve().parent.parent.parent / "shared" / "tools")


def shared_tool(name: str) -> Path:
    """A script of the shared measuring tools; the test is skipped, saying why, when there is none."""
    path = SHARED_TOOLS / name
    if not path.is_file():
        import pytest

        pytest.skip(f"no {name} in {SHARED_TOOLS}: set CRUNCH_SHARED_TOOLS to the folder of the shared tools")
    return path


def competitions_repository() -> Path:
    """A clone (or bare copy) of crunchdao/competitions, named by ``CRUNCH_COMPETITIONS_REPO``;
    the test is skipped, saying why, without one (a test cannot fetch it)."""
    import pytest

    value = os.environ.get("CRUNCH_COMPETITIONS_REPO")
    if not value or not Path(value).exists():
        pytest.skip("no copy of crunchdao/competitions: set CRUNCH_COMPETITIONS_REPO to a clone to run the competitions' real files")
    return Path(value)


def cache_root() -> Path:
    return Path(os.environ.get("CRUNCH_PEER_CACHE") or Path.home() / ".cache" / "crunch-test-peers")


def peer_environment(distribution: str, version: str, *extra: str) -> Path:
    """The folder of a virtual environment holding ``distribution==version`` (installed on first use)."""
    python = f"py{sys.version_info[0]}{sys.version_info[1]}"
    folder = cache_root() / f"{distribution}-{version}-{python}"
    marker = folder / _COMPLETE
    if marker.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=900):
        if marker.exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
        done = subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{distribution}=={version}", *extra],
            capture_output=True, text=True, timeout=900,
        )
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"could not install {distribution}=={version} for the peer tests:\n{done.stderr[-3000:]}")
        marker.write_text(f"{distribution}=={version}\n")
    return folder


def crunch_cli_13() -> Path:
    """The ``crunch`` executable of the public crunch-cli 13.0.1."""
    if os.environ.get("CRUNCH_PEER13"):
        return Path(os.environ["CRUNCH_PEER13"])
    return peer_environment(*CRUNCH_CLI_13) / "bin" / "crunch"


def crunch_cli_3() -> Path:
    """The Python of an environment holding the public crunch-cli 3.11.0."""
    if os.environ.get("CRUNCH_PEER3"):
        return Path(os.environ["CRUNCH_PEER3"])
    return peer_environment(*CRUNCH_CLI_3) / "bin" / "python"


def crunch_convert() -> Path:
    """The folder of an environment holding the public crunch-convert 0.12.3."""
    if os.environ.get("CRUNCH_CONVERT_PEER"):
        return Path(os.environ["CRUNCH_CONVERT_PEER"])
    return peer_environment(*CRUNCH_CONVERT)


QUICKSTARTER_LIBRARIES = ("scikit-learn", "scipy", "joblib", "threadpoolctl", "cloudpickle", "narwhals")


def kernel_libraries(*requirements: str) -> Path:
    """A folder holding ``requirements`` (without their dependencies: numpy and pandas are the
    test environment's), installed on first use, to put on a kernel's ``PYTHONPATH``: what the
    platform's quickstarter notebooks import beyond crunch's own dependencies."""
    import hashlib

    python = f"py{sys.version_info[0]}{sys.version_info[1]}"
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    folder = cache_root() / f"kernel-libraries-{key}-{python}"
    marker = folder / _COMPLETE
    if marker.exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=900):
        if marker.exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(folder), *requirements],
            capture_output=True, text=True, timeout=900,
        )
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"could not install {', '.join(requirements)} for the notebook tests:\n{done.stderr[-3000:]}")
        marker.write_text("\n".join(requirements) + "\n")
    return folder
