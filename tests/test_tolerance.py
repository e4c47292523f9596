"""Tolerance of the platform's answers: every form of answer crunch-cli 13.0.1 accepts, crunch accepts.

The cells are generated from tests/platform_answers.py (endpoint -> fields -> variants). For each
cell a CraftingProxy in front of one local hub rewrites that field of that endpoint's JSON
answer (null, absent, another type, an unknown enum value, a time without zone, an extra field,
a listing as a page or a bare list...), and the same command runs with the installed ``crunch``
and with crunch-cli 13.0.1 against the proxy, at once. A cell fails when 13.0.1 succeeds and
crunch does not; when both fail, crunch must fail with one ``error:`` line and no traceback.
For a call crunch-cli 13.0.1 does not make (the cell's endpoint is marked so in the table),
13.0.1 succeeding is shown by the group's baseline test, and crunch must succeed too. A cell
is skipped (and says why) when the hub's answers do not hold its field, or when crunch no longer
makes an optional call in that setting.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import Result, run_crunch
from http_proxy import CraftingProxy
from peers import crunch_cli_13
from platform_answers import ENDPOINTS, GROUPS, WHOLE, Cell, cells

pytestmark = [pytest.mark.e2e]

HUB_VARIABLES = ("API_BASE_URL", "WEB_BASE_URL", "CRUNCH_API_BASE_URL", "CRUNCH_WEB_BASE_URL", "CRUNCH_ENVIRONMENT", "PYTHONPATH", "PYTHONHOME")
EXTRA_FIELD = "fieldAddedLater"
UNKNOWN_ENUM = "VALUE_ADDED_LATER"
ZONE = re.compile(r"(Z|[+-]\d\d:?\d\d)$")
FRACTION = re.compile(r"\.\d+")
UNEXPECTED = re.compile(r"\bunexpected [A-Z][A-Za-z]*:")

MAIN_PY = "def train(X_train, y_train, model_directory_path):\n    pass\n\n\ndef infer(X_test, model_directory_path):\n    return X_test\n"


# -- rewriting an answer ------------------------------------------------------------------------


def _items(document: Any) -> List[Any]:
    """The items of a listing: the list itself, or the ``content`` of a page."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("content"), list):
        return document["content"]
    return []


def _slots(document: Any, path: str) -> List[Tuple[Dict[str, Any], str]]:
    """(object, key) of every place ``path`` names that holds the key."""
    parts = path.split(".")
    nodes = _items(document) if parts[0] == "[]" else [document]
    parts = parts[1:] if parts[0] == "[]" else parts
    for part in parts[:-1]:
        following: List[Any] = []
        for node in nodes:
            if part == "*":
                following.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
            elif isinstance(node, dict) and part in node:
                following.append(node[part])
        nodes = following
    return [(node, parts[-1]) for node in nodes if isinstance(node, dict) and parts[-1] in node]


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head[:1].lower() + head[1:] + "".join(part[:1].upper() + part[1:] for part in rest)


def _naive(value: str) -> str:
    return ZONE.sub("", value)


def _field_variant(value: Any, variant: str) -> Any:
    if variant == "null":
        return None
    if variant == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if variant == "number" and isinstance(value, bool):
        return int(value)
    if variant == "unknown":
        return UNKNOWN_ENUM
    if variant == "naive" and isinstance(value, str):
        return _naive(value)
    if variant == "zoned" and isinstance(value, str) and not ZONE.search(value):
        return value + "Z"
    if variant == "fraction" and isinstance(value, str):
        return FRACTION.sub("", _naive(value)) + ".3459"
    if variant == "as-list" and isinstance(value, dict):
        return [
            {"id": index + 1, "name": name, "input": (spec or {}).get("input", name), "output": (spec or {}).get("output", "prediction")}
            for index, (name, spec) in enumerate(value.items())
        ]
    if variant == "as-object" and isinstance(value, list):
        return {item["name"]: {"input": item.get("input"), "output": item.get("output")} for item in value if isinstance(item, dict)}
    if variant == "camel-keys" and isinstance(value, dict):
        return {_camel(key): item for key, item in value.items()}
    return value


def _whole_variant(document: Any, variant: str, path: str, query: Dict[str, List[str]]) -> Any:
    if variant == "extra-field":
        if isinstance(document, dict):
            document[EXTRA_FIELD] = {"nested": [1, "two", None]}
        for item in _items(document):
            if isinstance(item, dict):
                item[EXTRA_FIELD] = {"nested": [1, "two", None]}
        return document
    if variant == "page" and isinstance(document, list):
        size = int(query.get("size", ["1000"])[0])
        number = int(query.get("page", ["0"])[0])
        return {"content": document, "pageNumber": number, "pageSize": size, "totalElements": len(document), "totalPages": number + 1}
    if variant == "bare-list" and isinstance(document, dict) and isinstance(document.get("content"), list):
        return document["content"]
    if variant == "chunk-only" and isinstance(document, dict) and isinstance(document.get("chunks"), list):
        number = int(path.rstrip("/").split("/")[-2])
        chunk = next((c for c in document["chunks"] if isinstance(c, dict) and c.get("number") == number), None)
        return dict(chunk) if chunk is not None else document
    if variant == "empty":
        return {}
    return document


def rewrite(document: Any, cell: Cell, path: str, query: Dict[str, List[str]]) -> Tuple[Any, bool]:
    """The answer with the cell's variant, and whether the cell's field was found in it."""
    document = copy.deepcopy(document)
    if cell.field == WHOLE:
        return _whole_variant(document, cell.variant, path, query), True
    slots = _slots(document, cell.field)
    for container, key in slots:
        if cell.variant == "absent":
            del container[key]
        else:
            container[key] = _field_variant(container[key], cell.variant)
    return document, bool(slots)


# -- the proxy ----------------------------------------------------------------------------------


@dataclass
class Rewriter:
    """Which cell the proxy serves now, and what it saw of the cell's endpoint."""

    cell: Optional[Cell] = None
    calls: int = 0
    found: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, cell: Optional[Cell]) -> None:
        with self.lock:
            self.cell, self.calls, self.found = cell, 0, 0

    def __call__(self, method: str, full_path: str, forward: Any) -> Any:
        cell = self.cell
        if cell is None:
            return None
        parts = urlsplit(full_path)
        if method != cell.endpoint.method or not re.fullmatch(cell.endpoint.path, parts.path):
            return None
        status, headers, body = forward()
        if not 200 <= status < 300 or not body:
            return status, headers, body
        document, found = rewrite(json.loads(body), cell, parts.path, parse_qs(parts.query))
        with self.lock:
            self.calls += 1
            self.found += found
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = "application/json"
        return status, headers, json.dumps(document).encode()


@dataclass
class Bench:
    hub: Any
    proxy: CraftingProxy
    rewriter: Rewriter
    root: Path

    def ours(self, *args: Any, cwd: Path) -> Result:
        return run_crunch("--api-base-url", self.proxy.url, *args, cwd=cwd, env=self.hub.env(), timeout=180)

    def peer(self, *args: Any, cwd: Path) -> Result:
        environ = {k: v for k, v in os.environ.items() if k not in HUB_VARIABLES}
        environ["CRUNCH_TIMEOUT"] = "30"
        done = subprocess.run(
            [str(crunch_cli_13()), "--api-base-url", self.proxy.url, *map(str, args)],
            cwd=cwd, env=environ, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def token(self, project: str) -> str:
        return self.hub.token("demo", project, "tolerant")


@pytest.fixture(scope="module")
def bench(shared_hub: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    shared_hub.settings(dailyLimit=100000)
    proxy = CraftingProxy(shared_hub.url)
    rewriter = Rewriter()
    proxy.rules["/"] = rewriter
    try:
        yield Bench(shared_hub, proxy, rewriter, tmp_path_factory.mktemp("tolerance"))
    finally:
        proxy.close()


def _ok(result: Result, what: str) -> None:
    assert result.returncode == 0, f"{what}: {result.stdout[-2000:]}{result.stderr[-2000:]}"


def _write_code(workspace: Path, tag: str, model: bool = False) -> None:
    """Code that differs at each push (crunch-cli 13 would reuse the uploads of unchanged files)."""
    (workspace / "main.py").write_text(MAIN_PY + f"# {tag}\n")
    (workspace / "requirements.txt").write_text("numpy\npandas\n")
    (workspace / "resources").mkdir(exist_ok=True)
    shutil.rmtree(workspace / "resources")
    (workspace / "resources").mkdir()
    if model:
        (workspace / "resources" / "model.bin").write_bytes(f"weights {tag}".encode())
    (workspace / ".crunchdao" / "upload-cache.json").unlink(missing_ok=True)


@dataclass
class Group:
    """Where a group's commands run: crunch's workspace and crunch-cli 13's (None: a fresh folder per cell)."""

    name: str
    ours: Optional[Path]
    theirs: Optional[Path]
    project: str = ""


def _workspaces(bench: Bench, name: str, project_ours: str, project_theirs: str) -> Group:
    folder = bench.root / name
    folder.mkdir()
    ours = bench.ours("setup", "demo", project_ours, "ws", "--token", bench.token(project_ours), "--no-data", "--size", "small", cwd=folder)
    _ok(ours, "crunch setup")
    theirs = bench.peer("setup", "demo", project_theirs, "--token", bench.token(project_theirs), "--no-data", "--size", "small", cwd=folder)
    _ok(theirs, "crunch-cli 13 setup")
    return Group(name, folder / "ws", folder / f"demo-{project_theirs}")


_groups: Dict[str, Group] = {}


def group_of(bench: Bench, name: str) -> Group:
    """The workspaces of a group, made on first use (one per module)."""
    if name in _groups:
        return _groups[name]
    bench.rewriter.serve(None)
    if name == "download":
        made = _workspaces(bench, name, "tol-download-ours", "tol-download-peer")
    elif name == "push":
        made = _workspaces(bench, name, "tol-push-ours", "tol-push-peer")
    elif name == "submissions":
        # one project (with a submission holding a model) seen from both clients' workspaces
        made = _workspaces(bench, name, "tol-listed", "tol-listed")
        _write_code(made.ours, "listed", model=True)
        _ok(bench.ours("push", "-m", "with a model", "--no-pip-freeze", cwd=made.ours), "crunch push")
    elif name == "setup":
        # a project with one submission, which setup clones
        made = _workspaces(bench, "setup-origin", "tol-setup", "tol-setup-unused")
        _write_code(made.ours, "origin", model=True)
        _ok(bench.ours("push", "-m", "to clone", "--no-pip-freeze", cwd=made.ours), "crunch push")
        made = Group(name, None, None, project="tol-setup")
    elif name == "setup-new":
        made = Group(name, None, None, project="tol-never-submitted")
    else:
        made = Group(name, bench.root, bench.root)
    _groups[name] = made
    return made


def _clear_data(workspace: Path) -> None:
    shutil.rmtree(workspace / "data", ignore_errors=True)
    (workspace / "data").mkdir()


def run_group(
    bench: Bench, name: str, tag: str, with_peer: bool = True, clear_data: bool = True, peer_when: Optional[Any] = None
) -> Tuple[List[Tuple[str, Result]], Optional[Result]]:
    """Run the group's commands with crunch and (``with_peer``) crunch-cli 13; ``clear_data``:
    from empty data folders (crunch-cli 13 skips a file of the announced size). With
    ``peer_when``, crunch runs first and crunch-cli 13 only when ``peer_when(ours)`` says its
    outcome is needed (the verdict of a cell depends on it only where crunch fails); else both at
    once."""
    group = group_of(bench, name)
    ours_commands, peer_command = GROUPS[name]
    jobs: List[Tuple[str, Any]] = []
    if name in ("setup", "setup-new"):
        cell_folder = bench.root / "setup-cells" / tag
        for side in ("ours", "theirs"):
            (cell_folder / side).mkdir(parents=True)
        ours_args = [("setup", "demo", group.project, "ws", "--token", bench.token(group.project), "--no-data")]
        peer_args = ("setup", "demo", group.project, "--token", bench.token(group.project), "--no-data")
        ours_cwd, peer_cwd = cell_folder / "ours", cell_folder / "theirs"
    else:
        assert group.ours is not None and group.theirs is not None
        ours_args, peer_args = [tuple(c) for c in ours_commands], peer_command
        ours_cwd, peer_cwd = group.ours, group.theirs
        if name == "download" and clear_data:
            _clear_data(group.ours)
            _clear_data(group.theirs)
        if name == "push":
            _write_code(group.ours, tag)
            _write_code(group.theirs, tag)
    with ThreadPoolExecutor(max_workers=len(ours_args) + 1) as pool:
        for args in ours_args:
            jobs.append((" ".join(args[:2]) if args[0] == "submission" else args[0], pool.submit(bench.ours, *args, cwd=ours_cwd)))
        at_once = with_peer and peer_when is None
        theirs = pool.submit(bench.peer, *peer_args, cwd=peer_cwd) if at_once else None
        ours = [(command, job.result()) for command, job in jobs]
        if with_peer and peer_when is not None and peer_when(ours):
            theirs = pool.submit(bench.peer, *peer_args, cwd=peer_cwd)
        return ours, theirs.result() if theirs is not None else None


def _is_text(cell: Cell) -> bool:
    return any(f.path == cell.field and f.kind == "str" for f in cell.endpoint.fields)


def error_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("error:")), lines[-1] if lines else "(no output)")


# -- the tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("group", list(GROUPS))
def test_baseline_both_clients_succeed(bench: Bench, group: str) -> None:
    """The hub's own answers, through the proxy: both clients succeed (what every cell changes)."""
    bench.rewriter.serve(None)
    ours, theirs = run_group(bench, group, f"baseline-{group}")
    assert theirs is not None
    _ok(theirs, f"crunch-cli 13.0.1 {' '.join(GROUPS[group][1])}")
    for command, result in ours:
        _ok(result, f"crunch {command}")


ALL_CELLS = cells()


@pytest.mark.parametrize("cell", ALL_CELLS, ids=[c.id for c in ALL_CELLS])
def test_answer_variant(bench: Bench, cell: Cell) -> None:
    tag = re.sub(r"[^A-Za-z0-9]+", "-", cell.id)
    group_of(bench, cell.endpoint.group)  # made before the proxy rewrites anything
    bench.rewriter.serve(cell)
    try:
        # crunch-cli 13.0.1's outcome decides a cell only where crunch fails (or where crunch made
        # no call to vary, to tell an optional call from a table that is wrong): it runs then
        ours, theirs = run_group(
            bench, cell.endpoint.group, tag, with_peer=cell.endpoint.cli13_calls, clear_data=cell.endpoint.key == "data-release",
            peer_when=lambda ours: not bench.rewriter.calls or any(result.returncode != 0 for _, result in ours),
        )
        calls, found = bench.rewriter.calls, bench.rewriter.found
    finally:
        bench.rewriter.serve(None)
    if not calls:
        # a call crunch-cli 13 makes is always made; an optional one may no longer be needed
        assert not cell.endpoint.cli13_calls, f"neither client called {cell.endpoint.method} {cell.endpoint.path}: the table or the fixture is wrong"
        pytest.skip(f"crunch did not call {cell.endpoint.method} {cell.endpoint.path} (optional) in this setting")
    if not found:
        pytest.skip(f"the hub's answers to {cell.endpoint.key} hold no {cell.field}: nothing to vary")
    peer_ok = theirs is None or theirs.returncode == 0
    problems = []
    for command, result in ours:
        if "Traceback" in result.output:
            problems.append(f"crunch {command} printed a traceback: {result.output[-1500:]}")
            continue
        where = f"{command} | {cell.endpoint.method} {cell.endpoint.key} | {cell.field} | {cell.variant}"
        unexpected = [line for line in result.output.splitlines() if UNEXPECTED.search(line)]
        if unexpected:  # how crunch words an error it has no message for
            problems.append(f"crunch has no message for this answer: {where} | {unexpected[0]}")
            continue
        if result.returncode == 0:
            continue
        if peer_ok:
            aside = " (crunch-cli 13 read the null text as 'None')" if cell.variant == "null" and _is_text(cell) else ""
            problems.append(f"13.0.1 succeeds{aside}, crunch fails: {where} | {error_line(result)}")
        elif sum(line.startswith("error:") for line in result.output.splitlines()) != 1:
            problems.append(f"both fail, crunch without one error: line: {where} | {result.output[-800:]}")
    assert not problems, "\n".join(problems)


def test_table_names_every_endpoint_once() -> None:
    keys = [(e.group, e.key) for e in ENDPOINTS]
    assert len(keys) == len(set(keys))
    assert {e.group for e in ENDPOINTS} == set(GROUPS)


def test_rewrite_reaches_every_item_of_a_page_or_a_list() -> None:
    competitions = next(e for e in ENDPOINTS if e.key == "competitions")
    page = {"content": [{"name": "a", "end": "2024-01-01T00:00:00Z"}, {"name": "b", "end": None}], "pageSize": 1000}
    cell = Cell(competitions, "[].end", "fraction")
    rewritten, found = rewrite(page, cell, "/v2/competitions", {})
    assert found and [c["end"] for c in rewritten["content"]] == ["2024-01-01T00:00:00.3459", None]
    assert page["content"][0]["end"].endswith("Z")  # the original is left as it was
    rewritten, found = rewrite(page["content"], Cell(competitions, "[].name", "absent"), "/v2/competitions", {})
    assert found and rewritten == [{"end": "2024-01-01T00:00:00Z"}, {"end": None}]
    listed, _ = rewrite(page, Cell(competitions, WHOLE, "bare-list"), "/v2/competitions", {})
    assert listed == page["content"]
    paged, _ = rewrite(listed, Cell(competitions, WHOLE, "page"), "/v2/competitions", {"size": ["2"], "page": ["1"]})
    assert paged["content"] == listed and paged["pageSize"] == 2 and paged["pageNumber"] == 1


def test_rewrite_of_data_release_and_chunk_forms() -> None:
    release = next(e for e in ENDPOINTS if e.key == "data-release")
    answer = {
        "columnNames": {"targets": {"target": {"input": "target", "output": "prediction"}}},
        "dataFiles": {"X_train": {"name": "X_train.parquet", "size": 12, "signed": True}},
    }
    listed, _ = rewrite(answer, Cell(release, "columnNames.targets", "as-list"), "", {})
    assert listed["columnNames"]["targets"] == [{"id": 1, "name": "target", "input": "target", "output": "prediction"}]
    back, _ = rewrite(listed, Cell(release, "columnNames.targets", "as-object"), "", {})
    assert back == answer
    camel, _ = rewrite(answer, Cell(release, "dataFiles", "camel-keys"), "", {})
    assert list(camel["dataFiles"]) == ["xTrain"]
    typed, found = rewrite(answer, Cell(release, "dataFiles.*.size", "string"), "", {})
    assert found and typed["dataFiles"]["X_train"]["size"] == "12"
    flag, _ = rewrite(answer, Cell(release, "dataFiles.*.signed", "number"), "", {})
    assert flag["dataFiles"]["X_train"]["signed"] == 1
    _, found = rewrite(answer, Cell(release, "dataFiles.*.sha256", "null"), "", {})
    assert not found
    confirm = next(e for e in ENDPOINTS if e.key == "chunk-confirm")
    upload = {"id": "u1", "chunks": [{"number": 1, "size": 5}, {"number": 2, "size": 3}]}
    chunk, _ = rewrite(upload, Cell(confirm, WHOLE, "chunk-only"), "/v1/uploads/u1/chunks/2/confirm", {})
    assert chunk == {"number": 2, "size": 3}
