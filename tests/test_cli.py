"""The `crunch` executable: help, version, global options and one-line errors."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CRUNCH = str(Path(sys.executable).with_name("crunch"))


def run(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CRUNCH_RETRY_BACKOFF": "0", "CRUNCH_RETRIES": "1", **(env or {})}
    for key in ("API_BASE_URL", "CRUNCH_ENVIRONMENT", "CRUNCH_DEBUG"):
        if env is None or key not in env:
            full_env.pop(key, None)
    return subprocess.run([CRUNCH, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_help_is_cheap():
    code = (
        "import sys\n"
        "from crunch.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'pyarrow', 'libcst', 'nbformat', 'numpy', 'werkzeug') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_version_and_help():
    from crunch import __version__

    assert run("--version").stdout.strip() == f"crunch {__version__}"
    result = run("--help")
    assert result.returncode == 0
    for command in ("setup", "download", "test", "push", "convert", "hub", "demo", "ping", "list"):
        assert f"  {command}" in result.stdout


def test_unknown_environment():
    assert_one_line_error(run("--env", "mars", "list"), "unknown environment 'mars'")


def test_malformed_base_url():
    assert_one_line_error(run("--api-base-url", "not a url", "list"), "malformed --api-base-url")


def test_unreachable_host():
    assert_one_line_error(run("--api-base-url", "http://127.0.0.1:9/", "ping"), "cannot reach the hub at http://127.0.0.1:9/")


def test_usage_error_exit_2():
    result = run("setup", "demo")
    assert result.returncode == 2 and "Traceback" not in result.stderr


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""
    status = 200
    content_type = "text/html"

    def do_GET(self):  # noqa: N802
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_hub():
    servers = []

    def start(status: int, body: bytes, content_type: str = "application/json") -> str:
        handler = type("H", (_Handler,), {"status": status, "body": body, "content_type": content_type})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()


def test_hub_answering_html(fake_hub):
    url = fake_hub(200, b"<html><body>proxy login</body></html>", "text/html")
    assert_one_line_error(run("--api-base-url", url, "list"), "not valid JSON")


def test_hub_answering_html_error(fake_hub):
    url = fake_hub(502, b"<html><body>Bad gateway</body></html>", "text/html")
    assert_one_line_error(run("--api-base-url", url, "list"), "HTTP 502 with an HTML page")


def test_hub_answering_truncated_json(fake_hub):
    url = fake_hub(200, b'[{"id": 1, "name": "de')
    assert_one_line_error(run("--api-base-url", url, "list"), "not valid JSON")


def test_hub_unknown_error_code(fake_hub):
    url = fake_hub(400, b'{"code": "SOMETHING_NEW", "message": "the hub changed"}')
    assert_one_line_error(run("--api-base-url", url, "list"), "SOMETHING_NEW: the hub changed")


def test_list_prints_competitions(fake_hub):
    url = fake_hub(200, b'[{"id": 1, "name": "demo", "displayName": "Demo", "format": "TIMESERIES", "status": "OPEN"}]')
    result = run("--api-base-url", url, "list")
    assert result.returncode == 0 and "demo" in result.stdout and "TIMESERIES" in result.stdout


def test_debug_shows_a_traceback_without_the_token(fake_hub):
    url = fake_hub(400, b'{"code": "X_Y", "message": "token SECRET-ABCDEF-123 refused"}')
    result = run("--debug", "--api-base-url", url, "list")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_interrupt_exits_130(monkeypatch, capsys):
    from crunch import cli
    from crunch.commands import ping

    def interrupted(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ping, "run", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.main(["ping"])
    assert info.value.code == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_outside_workspace_error(tmp_path):
    # `download` needs a workspace: one clear line outside of one
    pytest.importorskip("crunch.commands.download")
    result = run("--api-base-url", "http://127.0.0.1:9/", "download", cwd=tmp_path)
    assert_one_line_error(result, "not inside a crunch workspace")


def test_hidden_progress_bars_do_not_import_tqdm():
    code = (
        "import sys\n"
        "from crunch.core.console import Console, NullBar\n"
        "for console in (Console(quiet=True), Console()):\n"
        "    bar = console.progress(total=10, desc='x')\n"
        "    assert isinstance(bar, NullBar), bar\n"
        "    bar.update(4); bar.update(2)\n"
        "    assert bar.n == 6 and bar.total == 10\n"
        "    bar.reset(total=20)\n"
        "    assert bar.n == 0 and bar.total == 20\n"
        "    with console.progress(total=1) as other:\n"
        "        other.update()\n"
        "print('TQDM', 'tqdm' in sys.modules)\n"
    )
    # stderr is a pipe here: not a terminal, so no bar is shown even without --quiet
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "TQDM False" in result.stdout, result.stdout + result.stderr
