"""The machine, not only the input: a full disk, a deleted working folder, an ASCII-only or
closed stdout, stdout on ``/dev/full``, the C locale with UTF-8 mode off, and the person's code
closing stdout. Each through the real ``crunch`` process: one clear ``error:`` line and exit 1
(or the command's work done), never "unexpected", never a traceback, nothing lost.

The full disk is a small tmpfs filled to the brim; mounting one needs root (or CAP_SYS_ADMIN):
where it cannot be mounted those tests are skipped, saying why.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from conftest import CRUNCH, Hub, Result, run_crunch

pytestmark = pytest.mark.e2e

COMPETITION, PROJECT = "demo", "machine"


def assert_clean(result: Result) -> None:
    assert "unexpected" not in result.output.lower(), result.output
    assert "Traceback (most recent call last)" not in result.output, result.output
    assert "Exception ignored" not in result.output, result.output


def assert_one_error(result: Result, fragment: str) -> str:
    assert_clean(result)
    assert result.returncode == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    assert fragment.lower() in errors[0].lower(), errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def template(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("machine")
    token = shared_hub.token(COMPETITION, PROJECT)
    made = shared_hub.run("setup", COMPETITION, PROJECT, "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=folder)
    assert made.returncode == 0, made.output
    return folder / "ws"


def copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    return target


def env(hub: Hub, **extra: str) -> dict:
    return hub.env(PYTHONDONTWRITEBYTECODE="1", **extra)


# -- a full disk --------------------------------------------------------------------------------


class SmallDisk:
    """A tmpfs of a few MiB, mounted for one test and filled on demand."""

    def __init__(self, where: Path, size: str = "4m") -> None:
        self.path = where
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
        if done.returncode != 0:
            where.rmdir()
            pytest.skip(f"cannot mount a tmpfs to fill ({done.stderr.strip() or 'mount failed'}): needs root or CAP_SYS_ADMIN")

    def fill(self) -> None:
        """Write until the disk refuses a single byte more."""
        with open(self.path / "filler", "wb") as handle:
            block = b"\0" * 65536
            while True:
                try:
                    handle.write(block)
                    handle.flush()
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
        with open(self.path / "filler2", "wb", buffering=0) as handle:
            try:
                while handle.write(b"\0"):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC
        stats = os.statvfs(self.path)
        assert stats.f_bavail == 0, "the tmpfs still has room"

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if not shutil.which("mount"):
        pytest.skip("no mount command to make a small disk with")
    small = SmallDisk(tmp_path / "disk")
    yield small
    small.unmount()


def test_setup_on_a_full_disk_keeps_the_token(disk: SmallDisk, shared_hub: Hub) -> None:
    disk.fill()
    token = shared_hub.token(COMPETITION, "machine-setup")
    result = shared_hub.run("setup", COMPETITION, "machine-setup", "ws", "--token", token, cwd=disk.path, env=env(shared_hub))
    line = assert_one_error(result, "the disk is full")
    assert "free some space and run the command again" in line and "the setup token was not used" in line
    assert not (disk.path / "ws").exists()
    assert shared_hub.client().upgrade_token(token).plain  # the single-use token still works


def test_update_token_on_a_full_disk_keeps_both_tokens(disk: SmallDisk, template: Path, shared_hub: Hub) -> None:
    ws = copy(template, disk.path / "ws")
    before = (ws / ".crunchdao" / "token").read_bytes()
    disk.fill()
    token = shared_hub.token(COMPETITION, PROJECT)
    result = run_crunch("update-token", token, cwd=ws, env=env(shared_hub))
    assert_one_error(result, "the disk is full")
    assert (ws / ".crunchdao" / "token").read_bytes() == before
    assert shared_hub.client().upgrade_token(token).plain


def test_download_on_a_full_disk(disk: SmallDisk, template: Path, shared_hub: Hub) -> None:
    ws = copy(template, disk.path / "ws")
    data = {path.name: path.read_bytes() for path in (ws / "data").iterdir() if path.is_file()}
    disk.fill()
    result = run_crunch("download", "--force", cwd=ws, env=env(shared_hub))
    line = assert_one_error(result, "space")
    assert "free some" in line.lower()
    for name, content in data.items():  # what was there is still there, whole
        assert (ws / "data" / name).read_bytes() == content


def test_test_on_a_full_disk(disk: SmallDisk, template: Path, shared_hub: Hub) -> None:
    ws = copy(template, disk.path / "ws")
    disk.fill()
    result = run_crunch("test", "--no-determinism-check", cwd=ws, env=env(shared_hub))
    assert_one_error(result, "the disk is full")


def test_push_on_a_full_disk_still_pushes(disk: SmallDisk, template: Path, shared_hub: Hub) -> None:
    """A push reads the workspace and sends it: a full disk does not stop it."""
    ws = copy(template, disk.path / "ws")
    disk.fill()
    message = f"full disk {uuid.uuid4().hex[:8]}"
    result = run_crunch("push", "-m", message, "--no-pip-freeze", cwd=ws, env=env(shared_hub))
    assert_clean(result)
    if result.returncode != 0:  # a push that must write on the way: one clear line
        assert_one_error(result, "the disk is full")
        return
    listed = run_crunch("submission", "list", cwd=ws, env=env(shared_hub))
    assert message in listed.stdout


def test_the_persons_code_filling_the_disk_is_said_as_a_full_disk(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = copy(template, tmp_path / "ws")
    code = (ws / "main.py").read_text()
    code = re.sub(r"(def train\([^)]*\)[^:]*:\n)", r"\1    raise OSError(28, 'No space left on device')\n", code, count=1)
    (ws / "main.py").write_text(code)
    result = run_crunch("test", "--no-determinism-check", cwd=ws, env=env(shared_hub))
    line = assert_one_error(result, "the disk is full")
    assert "train()" in line


# -- the working folder deleted ----------------------------------------------------------------------


def test_a_deleted_working_folder_at_the_start(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = copy(template, tmp_path / "ws")
    script = f"cd {ws} && rm -rf {ws} && exec {CRUNCH} status"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env(shared_hub), timeout=60)
    result = Result(done.returncode, done.stdout, done.stderr)
    assert_one_error(result, "the current folder no longer exists")


def test_a_working_folder_deleted_while_the_command_runs(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = copy(template, tmp_path / "ws")
    code = (ws / "main.py").read_text()
    code = "import os as _os\nimport shutil as _shutil\n" + re.sub(
        r"(def train\([^)]*\)[^:]*:\n)", r"\1    _shutil.rmtree(_os.getcwd())\n", code, count=1
    )
    (ws / "main.py").write_text(code)
    result = run_crunch("test", "--no-determinism-check", cwd=ws, env=env(shared_hub))
    line = assert_one_error(result, "was deleted or moved while it ran")
    assert str(ws) in line


# -- stdout and stderr ------------------------------------------------------------------------------


def shell(command: str, cwd: Path, environment: dict) -> Result:
    done = subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, env=environment, timeout=120)
    return Result(done.returncode, done.stdout, done.stderr)


def test_stdout_closed(template: Path, shared_hub: Hub) -> None:
    result = shell(f"{CRUNCH} status >&-", template, env(shared_hub))
    assert_one_error(result, "the output could not be written: stdout is closed")


def test_stdout_closed_for_the_version(template: Path, shared_hub: Hub) -> None:
    result = shell(f"{CRUNCH} --version >&-", template, env(shared_hub))
    assert_one_error(result, "stdout is closed")


def test_stdout_on_a_full_device(template: Path, shared_hub: Hub) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    with open("/dev/full", "w") as full:
        done = subprocess.run([CRUNCH, "status"], cwd=template, stdout=full, stderr=subprocess.PIPE, text=True, env=env(shared_hub), timeout=60)
    result = Result(done.returncode, "", done.stderr)
    line = assert_one_error(result, "the disk is full")
    assert "stdout" in line
    assert [text for text in result.stderr.splitlines() if text.strip()] == [line]


def test_a_push_with_stdout_on_a_full_device_is_done(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """The output is lost, not the work: the push happens, then one line says what was not shown."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    ws = copy(template, tmp_path / "ws")
    message = f"to dev full {uuid.uuid4().hex[:8]}"
    with open("/dev/full", "w") as full:
        done = subprocess.run([CRUNCH, "push", "-m", message, "--no-pip-freeze"], cwd=ws, stdout=full, stderr=subprocess.PIPE, text=True, env=env(shared_hub), timeout=120)
    assert_one_error(Result(done.returncode, "", done.stderr), "the disk is full")
    listed = run_crunch("submission", "list", cwd=ws, env=env(shared_hub))
    assert message in listed.stdout


def test_ascii_only_stdout(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = copy(template, tmp_path / "données-ws")
    result = run_crunch("status", cwd=ws, env=env(shared_hub, PYTHONIOENCODING="ascii"))
    assert result.returncode == 0, result.output
    assert_clean(result)
    assert "donn\\xe9es-ws" in result.stdout


def test_c_locale_with_utf8_mode_off(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """``LC_ALL=C PYTHONUTF8=0``: a workspace under a non-ASCII path tests (its data is not
    called damaged), and a file of a valid UTF-8 name is pushed under that name."""
    ws = copy(template, tmp_path / "été" / "ws")
    (ws / "données.txt").write_text("notes\n")
    c_locale = env(shared_hub, LC_ALL="C", PYTHONUTF8="0", LANG="C")
    c_locale.pop("PYTHONIOENCODING", None)
    tested = run_crunch("test", "--no-determinism-check", cwd=ws, env=c_locale)
    assert tested.returncode == 0, tested.output
    assert_clean(tested)
    assert "prediction is valid" in tested.stdout
    message = f"c locale {uuid.uuid4().hex[:8]}"
    pushed = run_crunch("push", "-m", message, "--no-pip-freeze", cwd=ws, env=c_locale)
    assert pushed.returncode == 0, pushed.output
    assert_clean(pushed)
    listed = run_crunch("submission", "list", "--json", cwd=ws, env=env(shared_hub))
    number = next(item["number"] for item in json.loads(listed.stdout) if item.get("message") == message)
    shown = run_crunch("submission", "show", str(number), cwd=ws, env=env(shared_hub))
    assert "données.txt" in shown.stdout, shown.stdout


@pytest.mark.parametrize("closing", ["sys.stdout.close()", "sys.__stdout__.close()", "os.close(1)", "sys.stderr.close(); sys.__stderr__.close()"])
def test_the_persons_code_closing_stdout(closing: str, template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """crunch's own output goes on where it went; the run passes."""
    ws = copy(template, tmp_path / "ws")
    code = (ws / "main.py").read_text()
    code = "import os\nimport sys\n" + re.sub(r"(def train\([^)]*\)[^:]*:\n)", rf"\1    print('closing'); {closing}\n", code, count=1)
    (ws / "main.py").write_text(code)
    result = run_crunch("test", "--no-determinism-check", cwd=ws, env=env(shared_hub))
    assert_clean(result)
    assert result.returncode == 0, result.output
    assert "prediction is valid" in result.stdout
