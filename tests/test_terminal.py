"""Text from the hub cannot drive the terminal.

A hub (or anything between it and the participant) answers names, titles, submission messages,
run logs, metric names and error messages holding escape sequences, carriage returns,
backspaces, C1 controls and bidirectional overrides. Every command prints them with those
characters escaped (``\\x1b``, ``\\r``, ``\\u202e``): nothing in the output can move the
cursor, rewrite a line, recolour or retitle the terminal. The hostile answers come from a
crafting proxy in front of the local hub (the hub itself refuses such names).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable, Tuple

import pytest
from conftest import Hub, Result
from http_proxy import Answer, CraftingProxy

pytestmark = pytest.mark.e2e

COMPETITION, PROJECT = "demo", "terminal"

# an OSC title change, a colour, a carriage return that would overwrite the line, a backspace,
# a bidi override (shows "exe.png" as "gnp.exe"), a C1 CSI "clear screen", DEL
HOSTILE = "\x1b]0;owned\x07\x1b[31mred\x1b[0m\rFAKE LINE\bX\u202egnp.exe\x9b2J\x7f"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def assert_safe(result: Result, shown_in: str = "stdout") -> None:
    """No character of the output can drive a terminal, and the hostile text was shown escaped
    (so the command did print it: the test would fail if it were dropped or printed raw)."""
    assert "unexpected" not in result.output.lower(), result.output
    assert "Traceback" not in result.output, result.output
    found = RAW.search(result.output)
    assert found is None, f"raw {found.group()!r} in the output:\n{result.output!r}"
    text = getattr(result, shown_in)
    assert "\\x1b]0;owned\\x07\\x1b[31mred" in text, text  # a long message may be cut after it


def poison(keys: Iterable[str]) -> Callable[[Any], Any]:
    """An edit that appends :data:`HOSTILE` to every string under one of ``keys``, anywhere."""
    wanted = set(keys)

    def edit(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (v + HOSTILE if k in wanted and isinstance(v, str) else edit(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [edit(item) for item in value]
        return value

    return edit


def rewrite(pattern: str, edit: Callable[[Any], Any]) -> Callable[..., Any]:
    """A proxy rule: the hub's own JSON answer to GETs matching ``pattern``, changed by ``edit``."""

    def rule(method: str, path: str, forward: Callable[[], Answer]) -> Any:
        if method != "GET" or not re.fullmatch(pattern, path.split("?")[0]):
            return None
        status, headers, body = forward()
        if status >= 300:
            return status, headers, body
        return status, {"Content-Type": "application/json"}, json.dumps(edit(json.loads(body))).encode()

    return rule


def answer(status: int, value: Any) -> Callable[..., Answer]:
    return lambda method, path, forward: (status, {"Content-Type": "application/json"}, json.dumps(value).encode())


RUN = {
    "id": 1, "status": "SUCCESS", "success": True, "terminated": False, "submission": {"number": 1},
    "prediction": None, "createdAt": "2026-01-05T10:00:00", "startedAt": "2026-01-05T10:00:01",
    "endedAt": "2026-01-05T10:01:00", "duration": 59,
}
LOGS = [
    {"id": 1, "emitter": "user", "error": False, "content": "training" + HOSTILE, "createdAt": "2026-01-05T10:00:02"},
    {"id": 2, "emitter": "user" + HOSTILE, "error": True, "content": "line one\r\nline two" + HOSTILE, "createdAt": "2026-01-05T10:00:03"},
]


def run_rules(method: str, path: str, forward: Callable[[], Answer]) -> Any:
    bare = path.split("?")[0]
    if re.search(r"/runs/1/logs$", bare):
        return 200, {"Content-Type": "application/json"}, json.dumps(LOGS).encode()
    if re.search(r"/runs/1$", bare):
        return 200, {"Content-Type": "application/json"}, json.dumps(RUN).encode()
    return None


@pytest.fixture(scope="module")
def workspace(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with one submission whose project has a score on the leaderboard."""
    folder = tmp_path_factory.mktemp("terminal")
    token = shared_hub.token(COMPETITION, PROJECT)
    made = shared_hub.run("setup", COMPETITION, PROJECT, "ws", "--token", token, "--submission", "scratch", "--no-data", cwd=folder)
    assert made.returncode == 0, made.output
    ws = folder / "ws"
    pushed = shared_hub.run("push", "-m", "first", "--no-pip-freeze", cwd=ws)
    assert pushed.returncode == 0, pushed.output
    shared_hub.score(COMPETITION, PROJECT, "alice", 0.5)
    return ws


@pytest.fixture(scope="module")
def proxy(shared_hub: Hub) -> Any:
    instance = CraftingProxy(shared_hub.url)
    yield instance
    instance.close()


def through(proxy: CraftingProxy, shared_hub: Hub, ws: Path, rules: dict, *args: str) -> Result:
    proxy.rules = dict(rules)
    try:
        return shared_hub.run("--api-base-url", proxy.url, *args, cwd=ws, env=shared_hub.env(PYTHONDONTWRITEBYTECODE="1"))
    finally:
        proxy.rules = {}


PROJECT_PATH = r"/v\d/competitions/demo/(projects|users)/.*"

COMMANDS: Tuple[Tuple[str, dict, Tuple[str, ...]], ...] = (
    ("competition-names", {"/v2/competitions": rewrite(r"/v2/competitions", poison(["displayName", "name", "status"]))}, ("list",)),
    ("submission-messages", {"/v": rewrite(PROJECT_PATH + r"/submissions", poison(["message"]))}, ("submission", "list")),
    ("submission-show", {"/v": rewrite(PROJECT_PATH + r"/submissions/1", poison(["message"]))}, ("submission", "show", "1")),
    ("quickstarter-titles", {"/v2/competitions/demo/quickstarters": rewrite(r".*", poison(["title", "name"]))}, ("quickstarter", "list")),
    ("quickstarter-show", {"/v2/competitions/demo/quickstarters": rewrite(r".*", poison(["title", "description"]))}, ("quickstarter", "show", "default")),
    ("run-logs", {"/v": run_rules}, ("run", "logs", "1")),
    ("leaderboard-names", {"/v3/competitions/demo/leaderboards": rewrite(r".*", poison(["displayName"]))}, ("leaderboard",)),
    ("project-name", {"/v": rewrite(PROJECT_PATH, poison(["name"]))}, ("status",)),
)


@pytest.mark.parametrize("rules, args", [(rules, args) for _, rules, args in COMMANDS], ids=[name for name, _, _ in COMMANDS])
def test_hub_text_is_shown_escaped(rules: dict, args: Tuple[str, ...], workspace: Path, shared_hub: Hub, proxy: CraftingProxy) -> None:
    result = through(proxy, shared_hub, workspace, rules, *args)
    assert result.returncode == 0, result.output
    assert_safe(result)


def test_json_output_keeps_the_values_and_escapes_the_controls(workspace: Path, shared_hub: Hub, proxy: CraftingProxy) -> None:
    """``--json``: the same strings come back when the JSON is read, written as ``\\u`` escapes."""
    rules = {"/v": rewrite(PROJECT_PATH + r"/submissions", poison(["message"]))}
    result = through(proxy, shared_hub, workspace, rules, "submission", "list", "--json")
    assert result.returncode == 0, result.output
    assert RAW.search(result.output) is None, repr(result.output)
    listed = json.loads(result.stdout)
    assert any(item.get("message", "").endswith(HOSTILE) for item in listed), result.stdout


@pytest.mark.parametrize("path", ["/v1/competitions/demo", "/v2/competitions/demo/quickstarters"])
def test_a_hub_error_message_is_one_escaped_line(path: str, workspace: Path, shared_hub: Hub, proxy: CraftingProxy) -> None:
    body = {"code": "SOMETHING_NEW", "message": "refused" + HOSTILE + "\nerror: a second line of the hub's"}
    args = ("quickstarter", "list") if "quickstarters" in path else ("leaderboard",)
    result = through(proxy, shared_hub, workspace, {path: answer(400, body)}, *args)
    assert result.returncode == 1, result.output
    assert_safe(result, shown_in="stderr")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_crunch_progress_bars_still_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    """crunch's own progress bars are not escaped: on a terminal they still redraw their line
    (tqdm's carriage returns), while a file name from the hub in their label is shown escaped."""
    from crunch.core.console import Console

    for name in ("JPY_PARENT_PID", "PAGER", "CLICOLOR", "COLAB_RELEASE_TAG", "KAGGLE_KERNEL_RUN_TYPE"):
        monkeypatch.delenv(name, raising=False)
    err = Terminal()
    bar = Console(stream=io.StringIO(), err=err).progress(total=100, desc="data/x\x1b[2J.parquet", unit="B")
    for _ in range(4):
        bar.update(25)
    bar.close()
    shown = err.getvalue()
    assert "\r" in shown, repr(shown)
    assert "data/x\\x1b[2J.parquet" in shown and "\x1b[2J" not in shown, repr(shown)


def test_console_lines_escape_and_keep_crunch_text() -> None:
    from crunch.core.console import Console

    out, err = io.StringIO(), io.StringIO()
    console = Console(stream=out, err=err)
    console.print("downloaded données.csv (1.5 KiB) — 日本 ✓\n  next line\twith a tab")
    console.print("name" + HOSTILE)
    console.warn("the hub says" + HOSTILE)
    console.result("\x1b[31mmy own program's colour\x1b[0m", raw=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == "downloaded données.csv (1.5 KiB) — 日本 ✓" and lines[1] == "  next line\twith a tab"
    assert lines[2] == "name\\x1b]0;owned\\x07\\x1b[31mred\\x1b[0m\\rFAKE LINE\\x08X\\u202egnp.exe\\x9b2J\\x7f"
    assert lines[3] == "\x1b[31mmy own program's colour\x1b[0m"  # raw: the person's code, as it wrote it
    assert RAW.search(err.getvalue()) is None and err.getvalue().startswith("warning: the hub says\\x1b]0;")


@pytest.mark.parametrize(
    "text, shown",
    [
        ("a\x1bb", "a\\x1bb"),
        ("over\rwrite", "over\\rwrite"),
        ("back\bspace", "back\\x08space"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b31m", "c1\\x9b31m"),
        ("del\x7f", "del\\x7f"),
        ("bidi\u202eexe.png", "bidi\\u202eexe.png"),
        ("isolate\u2066x\u2069", "isolate\\u2066x\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("crlf\r\nkept", "crlf\nkept"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("données 日本 ✓ 🙂", "données 日本 ✓ 🙂"),
        ("already \\x1b escaped", "already \\x1b escaped"),
    ],
)
def test_visible(text: str, shown: str) -> None:
    from crunch.core.display import visible

    assert visible(text) == shown
    assert visible(visible(text)) == visible(text)  # shown once, not escaped twice
    one_line = visible(text, lines=False)
    assert "\n" not in one_line and "\t" not in one_line


def test_json_escapes_what_a_terminal_would_obey() -> None:
    from crunch.core.display import as_json

    value = {"message": "x" + HOSTILE + "\u2066y\U000e0001", "name": "données"}
    text = as_json(value)
    assert RAW.search(text) is None and "données" in text
    assert json.loads(text) == value
