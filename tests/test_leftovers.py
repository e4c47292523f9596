"""The folders of one run (crunch/project/leftovers.py): locked while their run lasts, removed by the
next run once it is over (a process holding the lock keeps its folder; a killed one does not)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from crunch.project.leftovers import LOCK_SUFFIX, ORPHAN_LOCK_AGE, run_folder, sweep_run_folders

HOLDER = """
import sys
from pathlib import Path
from crunch.project.leftovers import run_folder
with run_folder(Path(sys.argv[1])) as folder:
    (folder / "main.py").write_text("x = 1\\n")
    print(folder, flush=True)
    sys.stdin.read()
"""


def test_a_run_folder_is_removed_with_its_lock_after_the_run(tmp_path: Path) -> None:
    parent = tmp_path / "converted"
    with run_folder(parent) as folder:
        assert folder.is_dir() and folder.parent == parent and folder.name.startswith("run-")
        assert folder.with_name(folder.name + LOCK_SUFFIX).is_file()
        assert sweep_run_folders(parent) == []  # this process holds it
        assert folder.is_dir()
    assert not parent.exists()


def test_a_folder_held_by_another_process_is_kept_and_removed_once_it_is_killed(tmp_path: Path) -> None:
    parent = tmp_path / "converted"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(parent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(holder.stdout.readline().strip())
        assert (folder / "main.py").is_file()
        assert sweep_run_folders(parent) == []
        with run_folder(parent) as mine:  # a second run beside it
            assert mine != folder and (folder / "main.py").is_file()
        assert (folder / "main.py").is_file() and parent.is_dir()
    finally:
        holder.kill()
        holder.communicate()
    assert sweep_run_folders(parent) == [folder.name]
    assert not folder.exists() and not folder.with_name(folder.name + LOCK_SUFFIX).exists()


def test_a_lock_file_without_its_folder_is_removed_only_when_old(tmp_path: Path) -> None:
    parent = tmp_path / "converted"
    parent.mkdir()
    old, fresh = parent / f"run-old{LOCK_SUFFIX}", parent / f"run-fresh{LOCK_SUFFIX}"
    old.touch()
    fresh.touch()
    then = time.time() - ORPHAN_LOCK_AGE - 60
    os.utime(old, (then, then))
    sweep_run_folders(parent)
    assert not old.exists() and fresh.exists()
