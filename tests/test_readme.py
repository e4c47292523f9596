"""README.md's commands for a fresh machine: the first (install, ``crunch --help``, the demo)
run as written in a copy of the project with a new virtual environment, as a newcomer would;
the second (the tests) is the command ``.ci/run`` runs, so it is checked to be the same here
rather than run a second time inside the suite."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.readme

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", ".hypothesis", "out", "crunch-demo", ".crunch-hub"
)


def fresh_machine_commands() -> list:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```\n(.*?)```", section, flags=re.S)]


def clean_env(home: Path) -> dict:
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    env = {"PATH": path, "HOME": os.environ.get("HOME", str(home)), "LANG": os.environ.get("LANG", "C.UTF-8")}
    for name in ("TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def run_in_copy(command: str, tmp_path: Path, extra_env: dict, timeout: float) -> subprocess.CompletedProcess:
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=IGNORED, symlinks=True)
    env = {**clean_env(tmp_path), **extra_env}
    return subprocess.run(["bash", "-c", command], cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)


def test_readme_has_the_two_commands():
    commands = fresh_machine_commands()
    assert len(commands) == 2
    demo, tests = commands
    assert "pip install" in demo and demo.endswith("crunch demo")
    assert "pip install" in tests and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    # .ci/run installs as the README says and runs the README's test command, every tier
    steps = [step.strip() for step in tests.replace("\n", " && ").split("&&") if step.strip()]
    for step in steps:
        if step.startswith(("python3 -m venv", ". ")):  # CI makes and enters its own environment
            continue
        assert step in ci, f"{step!r} of the README's test command is not in .ci/run"


@pytest.mark.slow
def test_first_command_installs_and_runs_the_demo(tmp_path):
    demo = fresh_machine_commands()[0]
    result = run_in_copy(demo.replace("crunch demo", "crunch --help && crunch demo"), tmp_path, {}, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Usage: crunch" in result.stdout
    assert "submission #1 successfully uploaded" in result.stdout
    assert "prediction is valid" in result.stdout
