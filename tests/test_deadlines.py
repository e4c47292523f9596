"""Overall deadlines, end to end: a real socket server (tests/http_proxy.py, threaded, on
127.0.0.1) sends its headers at once, then trickles the body a few bytes at a time. The read
timeout never trips on that; the deadlines must:

- an API answer (``crunch ping``, every call) is whole within twice ``CRUNCH_TIMEOUT``;
- a data file or a cloned file keeps at least 1 KiB/s over each window of ``CRUNCH_TIMEOUT``
  seconds (a long transfer that keeps moving is fine, whatever it lasts);
- a chunk upload's answer is whole within twice ``CRUNCH_TIMEOUT``.

Each failure is one ``error:`` line, exit 1, no traceback, in a bounded time, and nothing is
left behind: no half-made workspace, no file in ``data/`` that is not whole, no pending upload.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
from conftest import TOKEN_MARKER, Hub, Result, run_crunch
from http_proxy import Answer, CraftingProxy, Trickle

pytestmark = pytest.mark.e2e

COMPETITION = "demo"
TIMEOUT = "1"  # CRUNCH_TIMEOUT of every run: an answer may take 2 s, a stream's window is 1 s


@pytest.fixture(scope="module")
def proxy(shared_hub: Hub) -> Any:
    instance = CraftingProxy(shared_hub.url)
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def template(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deadlines-template")
    token = shared_hub.token(COMPETITION, "deadlines")
    done = shared_hub.run("setup", COMPETITION, "deadlines", "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=folder)
    assert done.returncode == 0, done.output
    return folder / "ws"


def run(proxy: CraftingProxy, hub: Hub, *args: str, cwd: Path, **env: str) -> "tuple[Result, float]":
    started = time.monotonic()
    result = run_crunch("--api-base-url", proxy.url, *args, cwd=cwd, env=hub.env(CRUNCH_TIMEOUT=TIMEOUT, **env), timeout=120)
    return result, time.monotonic() - started


def assert_one_error(result: Result, fragment: str) -> str:
    assert result.returncode == 1, result.output
    assert "Traceback" not in result.output and TOKEN_MARKER not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1], result.stderr
    assert fragment.lower() in errors[0].lower(), errors[0]
    assert "unexpected" not in errors[0]
    return errors[0]


def files(root: Path) -> Dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


# -- API calls --------------------------------------------------------------------------------


def test_ping_fails_on_a_trickled_answer(proxy: CraftingProxy, shared_hub: Hub, tmp_path: Path) -> None:
    body = json.dumps([{"id": 1, "name": "demo"}] * 20).encode()
    proxy.rules = {"/v2/competitions": lambda m, p, f: Trickle(body, piece=1, interval=0.1, headers={"Content-Type": "application/json"})}
    result, elapsed = run(proxy, shared_hub, "ping", cwd=tmp_path)
    assert_one_error(result, "sends too slowly")
    assert elapsed < 15, f"ping took {elapsed:.1f} s against a 2 s deadline"  # the trickle alone lasts 60 s


def test_ping_takes_a_slow_answer_that_ends_in_time(proxy: CraftingProxy, shared_hub: Hub, tmp_path: Path) -> None:
    body = json.dumps([{"id": 1, "name": "demo"}]).encode()
    proxy.rules = {"/v2/competitions": lambda m, p, f: Trickle(body, piece=8, interval=0.02, headers={"Content-Type": "application/json"})}
    result, _ = run(proxy, shared_hub, "ping", cwd=tmp_path)
    assert result.returncode == 0, result.output
    assert "1 competition(s)" in result.stdout


# -- data downloads ---------------------------------------------------------------------------


def add_file(name: str, content: bytes, proxy: CraftingProxy) -> Callable[..., Answer]:
    """The hub's data release, with one more file served by the proxy at /_crafted/<name>."""

    def rule(method: str, path: str, forward: Callable[[], Answer]) -> Answer:
        status, headers, body = forward()
        release = json.loads(body)
        release["dataFiles"]["extra"] = {
            "name": name, "url": proxy.url + "_crafted/" + name, "size": len(content), "signed": True,
            "compressed": False, "sha256": hashlib.sha256(content).hexdigest(),
        }
        return status, {"Content-Type": "application/json"}, json.dumps(release).encode()

    return rule


RELEASE = "/v2/competitions/demo/rounds/"


def test_download_of_a_trickling_file_fails_and_keeps_what_came(proxy: CraftingProxy, shared_hub: Hub, template: Path, tmp_path: Path) -> None:
    ws = shutil.copytree(template, tmp_path / "ws", symlinks=True)
    content = os.urandom(64 * 1024)
    proxy.rules = {
        RELEASE: add_file("slow.bin", content, proxy),
        "/_crafted/slow.bin": lambda m, p, f: Trickle(content, piece=50, interval=0.1),  # 500 B/s, below 1 KiB/s
    }
    result, elapsed = run(proxy, shared_hub, "download", cwd=ws, CRUNCH_RETRIES="1")
    line = assert_one_error(result, "slow.bin")
    assert "below the floor" in line and "resume" in line
    assert elapsed < 30, f"{elapsed:.1f} s"  # two attempts of a 1 s window each, not the 2 minutes of the trickle
    assert not (ws / "data" / "slow.bin").exists()  # never a file that is not whole
    part = ws / "data" / "slow.bin.part"
    assert part.is_file() and 0 < part.stat().st_size < len(content) and content.startswith(part.read_bytes())


def test_download_that_keeps_moving_is_not_cut_however_long(proxy: CraftingProxy, shared_hub: Hub, template: Path, tmp_path: Path) -> None:
    """Slower than the deadline of an answer (2 s) in total, but always above the floor: it completes."""
    ws = shutil.copytree(template, tmp_path / "ws", symlinks=True)
    content = os.urandom(300 * 1024)
    proxy.rules = {
        RELEASE: add_file("steady.bin", content, proxy),
        "/_crafted/steady.bin": lambda m, p, f: Trickle(content, piece=16 * 1024, interval=0.2),  # 80 KiB/s for ~4 s
    }
    result, elapsed = run(proxy, shared_hub, "download", cwd=ws, CRUNCH_RETRIES="0")
    assert result.returncode == 0, result.output
    assert elapsed > 3  # it did last longer than an answer's deadline
    assert (ws / "data" / "steady.bin").read_bytes() == content


# -- clone file downloads ---------------------------------------------------------------------


def test_setup_with_a_trickling_cloned_file_fails_and_is_undone(proxy: CraftingProxy, shared_hub: Hub, tmp_path: Path) -> None:
    content = b"def train():\n    pass\n" * 200
    proxy.rules = {
        "/v4/competitions/demo/projects/": lambda m, p, f: (200, {"Content-Type": "application/json"}, json.dumps({"main.py": proxy.url + "_crafted/main.py"}).encode()),
        "/_crafted/main.py": lambda m, p, f: Trickle(content, piece=10, interval=0.1),
    }
    token = shared_hub.token(COMPETITION, "deadlines-clone")
    result, elapsed = run(proxy, shared_hub, "setup", COMPETITION, "deadlines-clone", "fresh", "--token", token, "--no-data", cwd=tmp_path, CRUNCH_RETRIES="0")
    assert_one_error(result, "main.py")
    assert elapsed < 30, f"{elapsed:.1f} s"
    assert files(tmp_path) == {}


# -- chunk uploads ----------------------------------------------------------------------------


def test_push_whose_chunk_answer_trickles_fails_and_aborts_its_uploads(proxy: CraftingProxy, shared_hub: Hub, tmp_path: Path) -> None:
    token = shared_hub.token(COMPETITION, "deadlines-push")
    done = shared_hub.run("setup", COMPETITION, "deadlines-push", "ws", "--token", token, "--submission", "scratch", "--no-data", cwd=tmp_path)
    assert done.returncode == 0, done.output
    ws = tmp_path / "ws"

    def chunk_request(method: str, path: str, forward: Callable[[], Answer]) -> Any:
        status, headers, body = forward()
        if not path.split("?")[0].endswith("/request") or status != 200:
            return status, headers, body
        request = json.loads(body)
        request["url"] = proxy.url + "_crafted/put"  # the chunk goes to the trickling server
        return status, {"Content-Type": "application/json"}, json.dumps(request).encode()

    proxy.rules = {
        "/v1/uploads/": chunk_request,
        "/_crafted/put": lambda m, p, f: Trickle(b"{" + b" " * 2000 + b"}", piece=1, interval=0.05, headers={"ETag": '"abc"'}),
    }
    before = files(ws)
    result, elapsed = run(proxy, shared_hub, "push", "-m", "slow chunk", cwd=ws, CRUNCH_RETRIES="0")
    assert_one_error(result, "too slowly")
    assert elapsed < 30, f"{elapsed:.1f} s"
    assert shared_hub.stats()["pendingUploads"] == 0
    assert files(ws) == before
    assert any(path.startswith("/_crafted/put") for _, path, _ in proxy.requests)


