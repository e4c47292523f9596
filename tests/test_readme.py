"""README.md's two commands for a fresh machine, run as written in a clean environment.

Each runs in a copy of the project with a new virtual environment, as a newcomer would.
The second one runs the whole suite again; inside that nested run this module is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NESTED = "CRUNCH_README_NESTED_RUN"

pytestmark = [
    pytest.mark.readme,
    pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="inside the README's own test run"),
]

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
    assert 'pip install -e ".[test]"' in ci and 'pip install -e ".[test]"' in tests
    assert "ruff check ." in ci and "python -m pytest -q" in ci


def test_first_command_installs_and_runs_the_demo(tmp_path):
    demo = fresh_machine_commands()[0]
    result = run_in_copy(demo, tmp_path, {}, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "submission #1 successfully uploaded" in result.stdout
    assert "prediction is valid" in result.stdout


def test_second_command_installs_and_passes_the_tests(tmp_path):
    tests = fresh_machine_commands()[1]
    result = run_in_copy(tests, tmp_path, {NESTED: "1"}, timeout=1800)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout)
