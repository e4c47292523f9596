"""fsutil's readers: only regular files are read, and refusing the others never waits."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from crunch.core.fsutil import check_regular, open_regular, read_bytes, read_text
from crunch.exceptions import SpecialFileError


def test_a_regular_file_and_a_link_to_one_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"one\r\ntwo\rthree\n")
    os.symlink("a.txt", tmp_path / "link.txt")
    assert read_bytes(tmp_path / "link.txt") == b"one\r\ntwo\rthree\n"
    assert read_text(tmp_path / "a.txt") == "one\ntwo\nthree\n"  # newlines as open() in text mode gives them
    with open_regular(tmp_path / "a.txt") as handle:
        assert handle.read(3) == b"one"
    check_regular(tmp_path / "link.txt")


def _in_time(call, seconds: float = 5.0):  # type: ignore[no-untyped-def]
    """Run ``call`` in a thread; fail when it is still waiting after ``seconds``."""
    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the reader is waiting on the special file"
    return outcome


@pytest.mark.parametrize("reader", [open_regular, read_bytes, read_text, check_regular])
def test_a_fifo_is_refused_at_once_naming_it(tmp_path: Path, reader) -> None:  # type: ignore[no-untyped-def]
    os.mkfifo(tmp_path / "pipe")
    os.symlink("pipe", tmp_path / "link")
    for name in ("pipe", "link"):
        outcome = _in_time(lambda name=name: reader(tmp_path / name))
        error = outcome.get("error")
        assert isinstance(error, SpecialFileError), outcome
        assert str(tmp_path / name) in str(error) and "FIFO" in str(error)


def test_a_device_and_a_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecialFileError, match="character device"):
        read_bytes("/dev/zero")
    with pytest.raises(IsADirectoryError):
        read_bytes(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing")
