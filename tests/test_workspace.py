from __future__ import annotations

import os
import stat

import pytest

from crunch.exceptions import NotInWorkspaceError, TokenError, WorkspaceError
from crunch.project.workspace import ProjectInfo, Workspace, find_root


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace(tmp_path)
    ws.create_layout()
    ws.write_project(ProjectInfo("demo", "p1", 7, api_base_url="http://127.0.0.1:1/"))
    return ws


def test_layout_and_project_roundtrip(workspace):
    info = workspace.project()
    assert (info.competition_name, info.project_name, info.user_id, info.size_variant) == ("demo", "p1", 7, "DEFAULT")
    data = workspace.project_file.read_text()
    assert '"competitionName": "demo"' in data and '"userId": 7' in data
    for folder in ("data", "resources", "prediction", ".crunchdao"):
        assert (workspace.root / folder).is_dir()
    assert "data/" in (workspace.root / ".gitignore").read_text()


def test_gitignore_is_completed_not_replaced(tmp_path):
    (tmp_path / ".gitignore").write_text("mine.txt")
    Workspace(tmp_path).create_layout()
    text = (tmp_path / ".gitignore").read_text()
    assert text.startswith("mine.txt\n") and "prediction/" in text


def test_find_from_a_subfolder(workspace):
    sub = workspace.root / "a" / "b"
    sub.mkdir(parents=True)
    assert find_root(sub) == workspace.root
    assert Workspace.find(sub).root == workspace.root


def test_outside_a_workspace(tmp_path):
    with pytest.raises(NotInWorkspaceError, match="not inside a crunch workspace"):
        Workspace.find(tmp_path)


def test_token_is_private(workspace):
    workspace.write_token("SECRET-TOKEN-1234")
    assert stat.S_IMODE(os.stat(workspace.token_file).st_mode) == 0o600
    assert workspace.read_token() == "SECRET-TOKEN-1234"


def test_token_missing(workspace):
    with pytest.raises(TokenError, match="crunch update-token"):
        workspace.read_token()


def test_token_too_open(workspace):
    workspace.write_token("SECRET-TOKEN-1234")
    os.chmod(workspace.token_file, 0o644)
    with pytest.raises(TokenError, match="chmod 600") as info:
        workspace.read_token()
    assert "SECRET-TOKEN-1234" not in str(info.value)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"projectName": "x"}', ""])
def test_corrupt_project_json(workspace, content):
    workspace.project_file.write_text(content)
    with pytest.raises(WorkspaceError, match="corrupt"):
        workspace.project()


def test_cache_roundtrip_and_absent(workspace):
    assert workspace.read_cache("checks.json") is None
    workspace.write_cache("checks.json", [{"function": "NANS"}])
    assert workspace.read_cache("checks.json") == [{"function": "NANS"}]


def test_atomic_writes_get_the_ordinary_mode(tmp_path):
    from crunch.core.fsutil import default_mode, write_text_atomic

    target = write_text_atomic(tmp_path / "a.txt", "x")
    assert stat.S_IMODE(os.stat(target).st_mode) == default_mode()


def test_an_unchanged_cache_is_not_rewritten(workspace):
    workspace.write_cache("checks.json", [{"function": "NANS"}])
    before = workspace.cache_path("checks.json").stat()
    workspace.write_cache("checks.json", [{"function": "NANS"}])
    after = workspace.cache_path("checks.json").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    workspace.write_cache("checks.json", [{"function": "NANS"}, {"function": "COLUMNS_NAME"}])
    assert workspace.read_cache("checks.json") == [{"function": "NANS"}, {"function": "COLUMNS_NAME"}]


def test_reserve_space_keeps_the_size_and_allocates_the_blocks(tmp_path):
    import sys

    from crunch.core.fsutil import reserve_space

    path = tmp_path / "f.part"
    path.write_bytes(b"abc")
    with open(path, "ab") as handle:
        reserved = reserve_space(handle.fileno(), 3, 4 << 20)
        handle.write(b"def")
    assert path.read_bytes() == b"abcdef"  # the size is what was written, not what was reserved
    if sys.platform.startswith("linux") and reserved:
        assert path.stat().st_blocks * 512 >= 4 << 20
    assert reserve_space(0, 0, 0) is False
