"""The pieces of a clean-environment run (crunch/jobs/): the cache key, pip's error trimmed, the
runner's process and its time limit, the messages of the runner's process."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from crunch.jobs.child import describe, missing_module_message, outside_message
from crunch.jobs.environment import (
    normalized_requirements,
    requirements_key,
    requirements_to_install,
    trim_pip_error,
)
from crunch.jobs.process import run_process


def test_the_key_ignores_comments_and_blank_lines_but_not_versions():
    pinned = "pandas==2.2.0\n# a comment\n\nscikit-learn==1.5.0  # why\n"
    assert normalized_requirements(pinned) == "pandas==2.2.0\nscikit-learn==1.5.0"
    assert requirements_key(pinned) == requirements_key("pandas==2.2.0\nscikit-learn==1.5.0\n")
    assert requirements_key(pinned) != requirements_key("pandas==2.2.1\nscikit-learn==1.5.0\n")
    assert requirements_key(pinned, "3.11.7") != requirements_key(pinned, "3.12.1")


def test_crunch_itself_is_not_installed_in_the_clean_environment():
    # `crunch convert --requirements` lists `crunch-cli` for a notebook's `import crunch`: from the
    # index it would shadow the runner's crunch (no crunch.jobs.child), as the platform's image has its own
    text = "crunch-cli\njoblib==1.4.2\ncrunch_cli==13.0.1  # pinned\nCrunch-CLI>=1\n--extra-index-url https://example.org/simple\n./wheels/x.whl\n"
    assert requirements_to_install(text) == "joblib==1.4.2\n--extra-index-url https://example.org/simple\n./wheels/x.whl"
    assert requirements_key(text) == requirements_key("joblib==1.4.2\n--extra-index-url https://example.org/simple\n./wheels/x.whl\n")


def test_pip_error_is_trimmed_to_its_error_lines():
    output = [
        "Looking in indexes: https://pypi.org/simple",
        "ERROR: Ignored the following versions that require a different python version: 1.0 Requires-Python >=3.12",
        "ERROR: Could not find a version that satisfies the requirement nothing-here==1.0 (from versions: none)",
        "ERROR: No matching distribution found for nothing-here==1.0",
        "[notice] A new release of pip is available",
    ]
    assert trim_pip_error(output) == (
        "Could not find a version that satisfies the requirement nothing-here==1.0 (from versions: none); "
        "No matching distribution found for nothing-here==1.0"
    )
    assert trim_pip_error(["Collecting x", "something broke"]) == "something broke"


def test_a_process_past_its_time_limit_is_killed_with_its_children(tmp_path):
    lines = []
    script = "import subprocess, time\np = subprocess.Popen(['sleep', '60'])\nprint('child', p.pid, flush=True)\ntime.sleep(60)\n"
    started = time.monotonic()
    outcome = run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
        on_line=lambda emitter, line, error, at: lines.append((emitter, line, error)), timeout=1.5,
    )
    assert outcome.timed_out and time.monotonic() - started < 15
    pid = int(next(line for _, line, _ in lines if line.startswith("child")).split()[1])
    status = Path(f"/proc/{pid}/status")

    def gone() -> bool:
        try:
            return "zombie" in status.read_text().lower()
        except FileNotFoundError:
            return True

    # SIGKILL was sent to the whole group; on a loaded machine the grandchild may not have been
    # scheduled to die yet when run_process returns: it must be gone within a few seconds
    deadline = time.monotonic() + 10
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone()


def test_lines_keep_their_stream(tmp_path):
    lines = []
    run_process(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr)"], cwd=tmp_path, env={},
        on_line=lambda emitter, line, error, at: lines.append((line, error)),
    )
    assert sorted(lines) == [("err", True), ("out", False)]


def test_messages_name_the_module_and_the_line_to_add():
    try:
        import sklearn_is_not_here  # noqa: F401
    except ModuleNotFoundError as error:
        wrapped = RuntimeError("loading main.py failed")
        wrapped.__cause__ = error
        assert describe(wrapped) == missing_module_message("sklearn_is_not_here")
    assert "add the line `scikit-learn` to requirements.txt" in missing_module_message("sklearn.linear_model")
    assert "add the line `opencv-python`" in missing_module_message("cv2")
    assert outside_message("/home/me/x.csv").startswith("the code opened /home/me/x.csv, outside the submission's folder")
