"""Bad input, one row per case: every command refuses it with one clear line and changes nothing.

Each row of :data:`CASES` builds a situation in a fresh copy of a real workspace (made once by
``crunch setup`` against the module's local hub), runs one command line there, and asserts:

- exit code 1, no ``Traceback (most recent call last)`` anywhere in the output (an error raised
  by the person's ``main.py`` shows that code's own frames, as ``Traceback (your code, ...)``);
- exactly one line of stderr starts with ``error:``, and it is the last line of stderr and
  holds the row's expected fragment (case-insensitive);
- no file or folder of the workspace (nor of the folder the command runs in) was created,
  changed or removed, except the paths a row names in ``may_change``: ``crunch test`` writes
  the prediction it then finds wrong (to look at), and a download that fails on a data file
  has refreshed its metadata caches and keeps the bytes it got (to resume).

Rows whose command line holds ``{fake}`` run against a small crafting proxy in front of the
hub: it forwards every call to the hub except the ones the row answers itself (HTML instead of
JSON, an unknown error code, a data file named ``../x``, a zip escaping ``data/``, a huge
``Content-Length`` that never comes).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from conftest import Hub, Result
from http_proxy import Answer, CraftingProxy

pytestmark = pytest.mark.e2e

COMPETITION, PROJECT = "demo", "badinput"


def html(status: int = 200) -> Callable[..., Answer]:
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    return lambda method, path, forward: (status, {"Content-Type": "text/html"}, page)


def json_answer(status: int, value: Any) -> Callable[..., Answer]:
    return lambda method, path, forward: (status, {"Content-Type": "application/json"}, json.dumps(value).encode())


def edit_release(edit: Callable[[Dict[str, Any], str], None]) -> Callable[..., Answer]:
    """The hub's data release, changed by ``edit(release, proxy_url)``."""

    def rule(method: str, path: str, forward: Callable[[], Answer]) -> Answer:
        status, headers, body = forward()
        release = json.loads(body)
        edit(release, PROXY_URL[0])
        return status, {"Content-Type": "application/json"}, json.dumps(release).encode()

    return rule


PROXY_URL = [""]


def _rename_file(name: str) -> Callable[[Dict[str, Any], str], None]:
    def edit(release: Dict[str, Any], proxy: str) -> None:
        release["dataFiles"]["X_test"]["name"] = name

    return edit


def _escaping_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", "fine")
        archive.writestr("../escaped.txt", "out of data/")
    return buffer.getvalue()


ZIP = _escaping_zip()


def _zip_release(release: Dict[str, Any], proxy: str) -> None:
    release["dataFiles"]["extra"] = {
        "name": "extra.zip",
        "url": proxy + "_crafted/extra.zip",
        "size": len(ZIP),
        "signed": True,
        "compressed": True,
        "sha256": hashlib.sha256(ZIP).hexdigest(),
    }


def _huge_release(size: Optional[int]) -> Callable[[Dict[str, Any], str], None]:
    def edit(release: Dict[str, Any], proxy: str) -> None:
        release["dataFiles"]["extra"] = {
            "name": "extra.parquet",
            "url": proxy + "_crafted/huge",
            "size": size,
            "signed": True,
            "compressed": False,
            "sha256": None,
        }

    return edit


RELEASE = "/v2/competitions/demo/rounds/"
HUGE_RULES = {"/_crafted/huge": lambda m, p, f: "hang"}


# -- the rows ----------------------------------------------------------------------------------


def write(relative: str, content: Any) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        path = ws / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    return build


def remove(relative: str) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        path = ws / relative
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return build


def steps(*builders: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        for one in builders:
            one(ws)

    return build


def notebook(*cells: Dict[str, Any], nbformat: int = 4) -> str:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": nbformat, "nbformat_minor": 5})


def code(source: str) -> Dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def markdown(source: str) -> Dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


NB3 = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]})
GOOD_NB_CELL = code("import pandas as pd\n\ndef train(X_train, y_train, model_directory_path):\n    pass\n")


def main_py(infer_body: str, train_body: str = "pass", extra: str = "") -> str:
    return (
        "import pandas as pd\nimport numpy as np\n" + extra + "\n\n"
        "def train(X_train, y_train, model_directory_path):\n    " + train_body + "\n\n\n"
        "def infer(X_test, model_directory_path):\n    " + infer_body.replace("\n", "\n    ") + "\n"
    )


def frame(expression: str) -> str:
    return f"prediction = X_test[['id', 'moon']].copy()\nprediction['prediction'] = 0.0\n{expression}"


def rewrite_parquet(name: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        import pandas

        path = ws / "data" / name
        change(pandas.read_parquet(path)).to_parquet(path, index=False)

    return build


def truncate(name: str, fraction: float) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        path = ws / "data" / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return build


def chmod(relative: str, mode: int) -> Callable[[Path], None]:
    return lambda ws: os.chmod(ws / relative, mode)


def symlink(relative: str, target: str) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        outside = ws.parent / target
        if target.endswith("/"):
            outside.mkdir(exist_ok=True)
            (outside / "secret.txt").write_text("outside")
        else:
            outside.write_text("outside the workspace")
        os.symlink(outside, ws / relative)

    return build


def fifo(relative: str) -> Callable[[Path], None]:
    """``relative`` becomes a FIFO (a named pipe): opening it to read waits for a writer for ever."""

    def build(ws: Path) -> None:
        path = ws / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif os.path.lexists(path):
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)

    return build


def link(relative: str, target: str) -> Callable[[Path], None]:
    """A symbolic link inside the workspace to ``target`` (relative to the link's folder)."""
    return lambda ws: os.symlink(target, ws / relative)


def raw_name(relative: bytes, content: bytes = b"x = 1\n") -> Callable[[Path], None]:
    """A file whose name is bytes that may not be UTF-8."""

    def build(ws: Path) -> None:
        path = os.path.join(os.fsencode(ws), relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(content)

    return build


def link_to(relative: str, target: str) -> Callable[[Path], None]:
    """``relative`` becomes a symbolic link to ``target`` (relative to the workspace, or absolute)."""

    def build(ws: Path) -> None:
        path = ws / relative
        if os.path.lexists(path):
            path.unlink()
        os.symlink(target, path)

    return build


def set_model_directory(value: Any) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        path = ws / ".crunchdao" / "project.json"
        project = json.loads(path.read_text())
        project["modelDirectory"] = value
        path.write_text(json.dumps(project))

    return build


def as_rewritten_by_the_peer(model_directory: Any) -> Callable[[Path], None]:
    """project.json without the keys crunch-cli 13 drops when it rewrites it: workspace.json
    holds them, its modelDirectory set to ``model_directory``."""

    def build(ws: Path) -> None:
        dot = ws / ".crunchdao"
        project = json.loads((dot / "project.json").read_text())
        kept = {key: project.pop(key) for key in ("apiBaseUrl", "webBaseUrl", "modelDirectory") if key in project}
        (dot / "project.json").write_text(json.dumps(project))
        (dot / "workspace.json").write_text(json.dumps({**kept, "modelDirectory": model_directory}))

    return build


def read_only(relative: str) -> Callable[[Path], None]:
    """The folder ``relative`` can no longer be written: ``chattr +i`` for root (whom modes do
    not stop), mode 0o555 for others. :func:`writable` undoes it."""

    def build(ws: Path) -> None:
        path = ws / relative
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        else:
            os.chmod(path, 0o555)

    return build


def writable(*relatives: str) -> Callable[[Path], None]:
    def undo(ws: Path) -> None:
        for relative in relatives:
            path = ws / relative
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(path)], check=False)
            os.chmod(path, 0o755)

    return undo


def _add_files(*names: str) -> Callable[[Dict[str, Any], str], None]:
    """Data files of the given names added to the release, each a copy of X_test's entry."""

    def edit(release: Dict[str, Any], proxy: str) -> None:
        for index, name in enumerate(names):
            release["dataFiles"][f"extra_{index}"] = dict(release["dataFiles"]["X_test"], name=name)

    return edit


def embed(path: str, text: str = "hello") -> Dict[str, Any]:
    return markdown(f"---\nfile: {path}\n---\n{text}\n")


PREDICTION_WRITTEN = ("prediction/prediction.parquet",)  # written, then checked and found wrong
DOWNLOAD_WRITES = (".crunchdao/*.json", ".crunchdao/download.lock")


@dataclass
class Case:
    id: str
    build: Callable[[Path], None]
    args: Tuple[str, ...]
    expect: str
    may_change: Tuple[str, ...] = ()
    rules: Dict[str, Callable[..., Any]] = field(default_factory=dict)
    env: Dict[str, str] = field(default_factory=dict)
    outside: bool = False  # run in an empty folder beside the workspace (setup)
    undo: Optional[Callable[[Path], None]] = None  # after the run: what build did that rmtree cannot undo
    unspent: bool = False  # the row's {token} still works afterwards: it was not spent


def nothing(ws: Path) -> None:
    pass


# -- answers and caches with fields of the wrong type ---------------------------------------------


def edit_answer(pattern: str, edit: Callable[[Any], Any], method: str = "GET") -> Callable[..., Answer]:
    """The hub's own JSON answer to the calls whose path matches ``pattern`` (a regular
    expression, whole path), changed by ``edit(document)`` (which returns the new document);
    error answers, and other calls under the rule's prefix, are forwarded as they are."""
    import re

    def rule(called: str, path: str, forward: Callable[[], Answer]) -> Any:
        if called != method or not re.fullmatch(pattern, path.split("?")[0]):
            return None
        status, headers, body = forward()
        if status >= 300:
            return status, headers, body  # an error answer stays as the hub gave it
        return status, {"Content-Type": "application/json"}, json.dumps(edit(json.loads(body))).encode()

    return rule


def setting(path: str, value: Any) -> Callable[[Any], Any]:
    """``edit`` for :func:`edit_answer` and :func:`edit_cache`: set the field ``a.b.0.c``."""

    def edit(document: Any) -> Any:
        *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
        target = document
        for part in parents:
            target = target[part]
        target[last] = value
        return document

    return edit


def edit_cache(name: str, edit: Callable[[Any], Any]) -> Callable[[Path], None]:
    """Change the JSON file ``.crunchdao/<name>`` of the workspace."""

    def build(ws: Path) -> None:
        path = ws / ".crunchdao" / name
        path.write_text(json.dumps(edit(json.loads(path.read_text()))))

    return build


def parquet_table(name: str, change: Callable[[Any], Any]) -> Callable[[Path], None]:
    """Rewrite ``data/<name>`` from ``change(pyarrow table)``."""

    def build(ws: Path) -> None:
        import pyarrow.parquet as pq

        path = ws / "data" / name
        pq.write_table(change(pq.read_table(path)), path)

    return build


def repeat_column(table: Any) -> Any:
    import pyarrow

    return pyarrow.Table.from_arrays([*table.columns, table.column("feature_0")], names=[*table.column_names, "feature_0"])


OFFLINE = ("--api-base-url", "http://127.0.0.1:9/")  # nothing listens there: a damaged cache cannot be fetched again
ROUND_PATH = r"/v1/competitions/demo/rounds/[^/]+"
RELEASE_PATH = r"/v2/competitions/demo/rounds/[^/]+/phases/submission/data-release"
UPLOAD_PATH = r"/v1/uploads"
DAMAGED_PREDICTION = PREDICTION_WRITTEN


def hub_row(id: str, prefix: str, pattern: str, edit: Callable[[Any], Any], expect: str, *args: str, method: str = "GET", **kwargs: Any) -> "Case":
    """A row whose hub answers ``pattern`` with its own answer changed by ``edit``."""
    return Case(id, nothing, ("--api-base-url", "{fake}", *(args or ("download",))), expect, rules={prefix: edit_answer(pattern, edit, method)}, **kwargs)


def setup_row(id: str, prefix: str, pattern: str, edit: Callable[[Any], Any], expect: str, *extra: str, method: str = "GET") -> "Case":
    args = ("setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data", *extra)
    return hub_row(id, prefix, pattern, edit, expect, *args, method=method, outside=True)




CASES: List[Case] = [
    # -- notebooks ------------------------------------------------------------------------------
    Case("nb-invalid-json", write("nb.ipynb", '{"cells": [,]}'), ("convert", "nb.ipynb", "out.py"), "invalid JSON"),
    Case("nb-empty-file", write("nb.ipynb", ""), ("convert", "nb.ipynb", "out.py"), "not a notebook"),
    Case("nb-json-not-object", write("nb.ipynb", "[1, 2]"), ("convert", "nb.ipynb", "out.py"), "not a notebook"),
    Case("nb-nbformat-3", write("nb.ipynb", NB3), ("convert", "nb.ipynb", "out.py"), "nbformat 3"),
    Case("nb-binary-junk", write("nb.ipynb", bytes(range(256)) * 40), ("convert", "nb.ipynb", "out.py"), "not a notebook"),
    Case("nb-cells-not-list", write("nb.ipynb", '{"cells": 5, "nbformat": 4}'), ("convert", "nb.ipynb", "out.py"), "cells"),
    Case("nb-cell-not-object", write("nb.ipynb", notebook("x")), ("convert", "nb.ipynb", "out.py"), "is not a cell"),
    Case("nb-cell-does-not-parse", write("nb.ipynb", notebook(GOOD_NB_CELL, code("def broken(:\n    return 1\n"))), ("convert", "nb.ipynb", "out.py"), "cell"),
    Case(
        "nb-embedded-escapes",
        write("nb.ipynb", notebook(GOOD_NB_CELL, markdown("---\nfile: ../escaped.txt\n---\nhello\n"))),
        ("convert", "nb.ipynb", "out.py", "--embedded-files"),
        "outside the workspace",
    ),
    Case(
        "nb-embedded-absolute",
        write("nb.ipynb", notebook(GOOD_NB_CELL, markdown("---\nfile: /tmp/escaped.txt\n---\nhello\n"))),
        ("convert", "nb.ipynb", "out.py", "--embedded-files"),
        "relative path",
    ),
    Case("nb-missing", nothing, ("convert", "missing.ipynb", "out.py"), "no such notebook"),
    Case("nb-script-exists", write("nb.ipynb", notebook(GOOD_NB_CELL)), ("convert", "nb.ipynb", "main.py"), "main.py"),
    Case(
        "nb-test-invalid-notebook",
        steps(remove("main.py"), write("main.ipynb", "{not json")),
        ("test",),
        "invalid JSON",
    ),
    Case(
        "nb-push-invalid-notebook",
        steps(remove("main.py"), write("main.ipynb", "{not json")),
        ("push", "-m", "notebook"),
        "invalid JSON",
    ),
    # -- workspaces -----------------------------------------------------------------------------
    Case("ws-project-json-missing", remove(".crunchdao/project.json"), ("test",), "not inside a crunch workspace"),
    Case("ws-project-json-corrupt", write(".crunchdao/project.json", '{"competitionName": '), ("test",), "corrupt"),
    Case("ws-project-json-list", write(".crunchdao/project.json", "[]"), ("push", "-m", "x"), "corrupt"),
    Case("ws-project-json-binary", write(".crunchdao/project.json", b"\xff\xfe\x00junk"), ("download",), "corrupt"),
    Case("ws-workspace-json-not-json", write(".crunchdao/workspace.json", '{"apiBaseUrl": '), ("test",), "workspace.json is damaged (not valid JSON): correct it"),
    Case("ws-workspace-json-list", write(".crunchdao/workspace.json", "[1]"), ("push", "-m", "x"), "workspace.json is malformed"),
    Case("ws-workspace-json-binary", write(".crunchdao/workspace.json", b"\xff\xfe\x00junk"), ("download",), "workspace.json is damaged (not UTF-8"),
    Case("ws-workspace-json-url-number", write(".crunchdao/workspace.json", '{"apiBaseUrl": 5}'), ("push", "--dry"), "workspace.json is malformed: apiBaseUrl"),
    Case("ws-workspace-json-url-not-http", write(".crunchdao/workspace.json", '{"webBaseUrl": "ftp://x"}'), ("test",), "workspace.json is malformed: webBaseUrl"),
    Case("ws-workspace-json-model-dir-outside", as_rewritten_by_the_peer("../elsewhere"), ("push", "-m", "x"), "crunchdao/workspace.json"),
    Case("ws-workspace-json-model-dir-list", write(".crunchdao/workspace.json", '{"modelDirectory": ["resources"]}'), ("test",), "workspace.json is malformed: modelDirectory"),
    Case("ws-token-missing", remove(".crunchdao/token"), ("push", "-m", "x"), "no push token"),
    Case("ws-token-missing-download", remove(".crunchdao/token"), ("download", "--force"), "no push token"),
    Case("ws-token-too-open", chmod(".crunchdao/token", 0o644), ("push", "-m", "x"), "chmod 600"),
    Case("ws-token-empty", write(".crunchdao/token", ""), ("push", "-m", "x"), "empty or unreadable"),
    Case("ws-token-binary", steps(write(".crunchdao/token", b"\xff\xfe\xfa"), chmod(".crunchdao/token", 0o600)), ("push", "-m", "x"), "unreadable"),
    Case("ws-token-is-folder", steps(remove(".crunchdao/token"), lambda ws: (ws / ".crunchdao/token").mkdir(mode=0o700)), ("push", "-m", "x"), "token"),
    Case("data-truncated", truncate("X_train.parquet", 0.5), ("test",), "X_train"),
    Case("data-empty", truncate("y_train.parquet", 0.0), ("test",), "y_train"),
    Case("data-csv-instead", write("data/X_test.parquet", "id,moon,feature_0\n1,2,3\n"), ("test",), "X_test"),
    Case("data-missing-moon-column", rewrite_parquet("X_train.parquet", lambda f: f.drop(columns=["moon"])), ("test",), "moon"),
    Case("data-missing-target-column", rewrite_parquet("y_train.parquet", lambda f: f.drop(columns=["target"])), ("test",), "target"),
    Case("data-missing-id-column", rewrite_parquet("X_test.parquet", lambda f: f.drop(columns=["id"])), ("test",), "id"),
    Case("main-syntax-error", write("main.py", "def train(:\n    pass\n"), ("test",), "main.py"),
    Case("main-missing", remove("main.py"), ("test",), "main.py not found"),
    Case("main-import-error", write("main.py", "import no_such_module_here\n"), ("test",), "no_such_module_here"),
    Case("main-no-train", write("main.py", "def infer(X_test, model_directory_path):\n    return X_test\n"), ("test",), "train"),
    Case("main-no-infer", write("main.py", "def train(X_train, y_train, model_directory_path):\n    pass\n"), ("test",), "infer"),
    Case("main-train-not-callable", write("main.py", "train = 5\n\ndef infer(X_test, model_directory_path):\n    return X_test\n"), ("test",), "train"),
    Case("main-infer-list", write("main.py", main_py("return [0.0] * len(X_test)")), ("test",), "infer"),
    Case("main-infer-series", write("main.py", main_py("return pd.Series(0.0, index=X_test.index)")), ("test",), "infer"),
    Case("main-infer-none", write("main.py", main_py("pass")), ("test",), "infer"),
    Case("main-infer-wrong-columns", write("main.py", main_py(frame("return prediction.rename(columns={'prediction': 'guess'})"))), ("test",), "prediction is not valid", PREDICTION_WRITTEN),
    Case("main-infer-nan", write("main.py", main_py(frame("prediction['prediction'] = np.nan\nreturn prediction"))), ("test",), "prediction is not valid", PREDICTION_WRITTEN),
    Case("main-infer-duplicated-ids", write("main.py", main_py(frame("return pd.concat([prediction, prediction.head(3)])"))), ("test",), "prediction is not valid", PREDICTION_WRITTEN),
    Case("main-infer-missing-rows", write("main.py", main_py(frame("return prediction.head(5)"))), ("test",), "prediction is not valid", PREDICTION_WRITTEN),
    Case("main-infer-out-of-range", write("main.py", main_py(frame("prediction['prediction'] = 7.0\nreturn prediction"))), ("test",), "prediction is not valid", PREDICTION_WRITTEN),
    Case("test-main-file-missing", nothing, ("test", "--main-file", "nope.py"), "nope.py not found"),
    # -- push -----------------------------------------------------------------------------------
    Case("push-message-too-long", nothing, ("push", "-m", "m" * 1001), "at most 1000"),
    Case("push-symlink-file-out", symlink("leak.txt", "outside.txt"), ("push", "-m", "x"), "leak.txt"),
    Case("push-symlink-dir-out", symlink("leakdir", "outside/"), ("push", "-m", "x"), "leakdir"),
    Case("push-requirements-unparsable", write("requirements.txt", "pandas\nthis is not == a requirement!!\n"), ("push", "-m", "x"), "requirements.txt"),
    Case("push-requirements-binary", write("requirements.txt", b"\xff\xfe\x00p\x00a"), ("push", "-m", "x"), "requirements.txt"),
    Case("push-model-dir-missing", nothing, ("push", "-m", "x", "--model-directory", "no-such-dir"), "no-such-dir"),
    Case("push-model-dir-is-file", write("model.bin", "x"), ("push", "-m", "x", "--model-directory", "model.bin"), "model.bin"),
    Case("push-main-file-missing", nothing, ("push", "-m", "x", "--main-file", "nope.py"), "nope.py"),
    Case("push-main-file-outside", nothing, ("push", "-m", "x", "--main-file", "../main.py"), "inside the workspace"),
    # -- secrets: .crunchdao/ is never a model directory, wherever it is given ------------------
    Case("secret-push-model-dir-crunchdao", nothing, ("push", "-m", "x", "--model-directory", ".crunchdao"), ".crunchdao/"),
    Case("secret-push-model-dir-inside", nothing, ("push", "-m", "x", "--model-directory", "./.crunchdao/sub"), ".crunchdao/"),
    Case("secret-push-model-dir-case", nothing, ("push", "--dry", "--model-directory", ".CrunchDAO"), ".crunchdao/"),
    Case("secret-push-model-dir-link", link("weights", ".crunchdao"), ("push", "-m", "x", "--model-directory", "weights"), "leads into .crunchdao/"),
    Case("secret-push-model-dir-data", nothing, ("push", "-m", "x", "--model-directory", "data"), "data/"),
    Case("secret-push-model-dir-outside-link", symlink("weights", "elsewhere/"), ("push", "-m", "x", "--model-directory", "weights"), "outside the workspace"),
    Case("secret-export-model-dir-crunchdao", nothing, ("push", "--export", "../out.tar.gz", "--model-directory", ".crunchdao"), ".crunchdao/"),
    Case("secret-project-json-model-dir", set_model_directory(".crunchdao"), ("push", "-m", "x"), "modelDirectory"),
    Case("secret-project-json-model-dir-test", set_model_directory(".crunchdao/cache"), ("test",), "modelDirectory"),
    Case("secret-project-json-model-dir-data", set_model_directory("data"), ("push", "--dry"), "modelDirectory"),
    Case("secret-project-json-model-dir-nul", set_model_directory("res\u0000ources"), ("push", "-m", "x"), "control character"),
    Case("secret-project-json-model-dir-outside", set_model_directory("../elsewhere"), ("push", "-m", "x"), "modelDirectory"),
    Case("secret-test-model-dir-crunchdao", nothing, ("test", "--model-directory", ".crunchdao"), ".crunchdao/"),
    Case("secret-test-model-dir-link", link("weights", ".crunchdao"), ("test", "--model-directory", "weights"), "leads into .crunchdao/"),
    Case("secret-test-model-dir-outside", nothing, ("test", "--model-directory", "../elsewhere"), "inside the workspace"),
    Case(
        "secret-setup-model-dir-crunchdao",
        nothing,
        ("setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data", "--model-directory", ".crunchdao"),
        "--model-directory",
        outside=True,
    ),
    Case(
        "secret-setup-model-dir-data",
        nothing,
        ("setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data", "--model-directory", "data/models"),
        "--model-directory",
        outside=True,
    ),
    Case(
        "secret-clone-path-case-changed",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        ".CrunchDAO/token",
        rules={"/v4/competitions/demo/projects/": json_answer(200, {"main.py": "http://127.0.0.1:9/x", ".CrunchDAO/token": "http://127.0.0.1:9/y"})},
        outside=True,
    ),
    # -- push --export never destroys a file ----------------------------------------------------
    Case("export-existing-file", write("../out.tar.gz", "mine"), ("push", "--export", "../out.tar.gz"), "--overwrite"),
    Case("export-over-requirements", write("requirements.txt", "pandas\n"), ("push", "--export", "requirements.txt"), "--overwrite"),
    Case("export-over-requirements-overwrite", write("requirements.txt", "pandas\n"), ("push", "--export", "requirements.txt", "--overwrite"), "it is requirements.txt"),
    Case("export-over-main-overwrite", nothing, ("push", "--export", "main.py", "--overwrite"), "one of the files the submission holds"),
    Case("export-over-token", nothing, ("push", "--export", ".crunchdao/token", "--overwrite"), ".crunchdao/"),
    Case("export-into-crunchdao", nothing, ("push", "--export", ".crunchdao/submission.tar.gz"), ".crunchdao/"),
    Case("export-through-link", link("t.tar.gz", ".crunchdao/token"), ("push", "--export", "t.tar.gz", "--overwrite"), ".crunchdao/"),
    Case("export-under-a-file", nothing, ("push", "--export", "main.py/out.tar.gz"), "is a file"),
    Case("export-unwritable-folder", nothing, ("push", "--export", "/proc/out.tar.gz"), "cannot write"),
    # -- a data release or a clone naming one file twice ----------------------------------------
    Case("release-same-name-twice", nothing, ("--api-base-url", "{fake}", "download"), "X_train.parquet", rules={RELEASE: edit_release(_rename_file("X_train.parquet"))}),
    Case("release-names-differ-by-case", nothing, ("--api-base-url", "{fake}", "download"), "x_train.parquet", rules={RELEASE: edit_release(_rename_file("x_train.PARQUET"))}),
    Case("release-names-nfc-nfd", nothing, ("--api-base-url", "{fake}", "download"), "extra_1", rules={RELEASE: edit_release(_add_files("caf\u00e9.parquet", "cafe\u0301.parquet"))}),
    Case("release-name-dot-slash", nothing, ("--api-base-url", "{fake}", "download"), "./X_train.parquet", rules={RELEASE: edit_release(_rename_file("./X_train.parquet"))}),
    Case("release-name-dotdot-normalised", nothing, ("--api-base-url", "{fake}", "download"), "a/../X_train.parquet", rules={RELEASE: edit_release(_rename_file("a/../X_train.parquet"))}),
    Case(
        "hub-clone-names-differ-by-case",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "one file twice",
        rules={"/v4/competitions/demo/projects/": json_answer(200, {"main.py": "http://127.0.0.1:9/x", "Main.py": "http://127.0.0.1:9/y"})},
        outside=True,
    ),
    Case(
        "hub-clone-file-and-folder",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "lib/x.py",
        rules={"/v4/competitions/demo/projects/": json_answer(200, {"main.py": "http://127.0.0.1:9/x", "lib": "http://127.0.0.1:9/y", "./lib/x.py": "http://127.0.0.1:9/z"})},
        outside=True,
    ),
    # -- file names the hub refuses: checked before any upload -----------------------------------
    Case("name-backslash", write("lib\\evil.py", "x = 1\n"), ("push", "-m", "x"), "backslash"),
    Case("name-newline", write("bad\nname.py", "x = 1\n"), ("push", "-m", "x"), "control character"),
    Case("name-escape-sequence", write("colour\x1b[31m.py", "x = 1\n"), ("push", "--dry"), "control character"),
    Case("name-not-utf8", raw_name(b"caf\xe9.py"), ("push", "-m", "x"), "UTF-8"),
    Case("name-model-file-tab", write("resources/a\tb.bin", "weights"), ("push", "-m", "x"), "resources/a\\tb.bin"),
    # -- .gitignore lines git reads its own way: read as git does, never a crash ----------------
    Case("gitignore-reversed-range", write(".gitignore", "[z-a]\n!\n[m-a]ain.py\n"), ("push", "-m", "x"), "excluded by a .gitignore"),
    Case("gitignore-trailing-backslash", write(".gitignore", "\\\nfoo\\\n!\nmain.[p-a]y\n"), ("push", "--dry"), "excluded by a .gitignore"),
    Case("gitignore-class", write(".gitignore", "[[:alpha:]]ain.py\n[\n"), ("push", "-m", "x"), "excluded by a .gitignore"),
    # -- embedded files: text that cannot be saved, paths that collide ---------------------------
    Case("nb-embedded-lone-surrogate", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("notes.txt", "bad \ud800 text"))), ("convert", "nb.ipynb", "out.py", "--embedded-files"), "UTF-8"),
    Case("nb-embedded-name-control-character", write("nb.ipynb", notebook(GOOD_NB_CELL, embed('"notes\\tfile.md"'))), ("convert", "nb.ipynb", "out.py", "--embedded-files"), "control character"),
    Case("nb-script-over-token", write("nb.ipynb", notebook(GOOD_NB_CELL)), ("convert", "nb.ipynb", ".crunchdao/token", "--overwrite"), ".crunchdao/"),
    Case("nb-script-through-link-to-token", steps(write("nb.ipynb", notebook(GOOD_NB_CELL)), link("t.py", ".crunchdao/token")), ("convert", "nb.ipynb", "t.py", "--overwrite"), ".crunchdao/"),
    Case("nb-embedded-into-crunchdao", write("nb.ipynb", notebook(GOOD_NB_CELL, embed(".crunchdao/project.json"))), ("convert", "nb.ipynb", "out.py", "--embedded-files", "--overwrite"), ".crunchdao/"),
    Case("nb-embedded-over-folder", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("resources"))), ("convert", "nb.ipynb", "out.py", "--embedded-files", "--overwrite"), "folder"),
    Case("nb-embedded-under-file", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("main.py/notes.md"))), ("convert", "nb.ipynb", "out.py", "--embedded-files", "--overwrite"), "main.py"),
    Case("nb-embedded-is-the-script", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("./out.py"))), ("convert", "nb.ipynb", "out.py", "--embedded-files"), "written twice"),
    Case("nb-embedded-case-twin", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("MAIN.py"))), ("convert", "nb.ipynb", "out.py", "--embedded-files"), "ignore case"),
    Case("nb-embedded-nfc-nfd", write("nb.ipynb", notebook(GOOD_NB_CELL, embed("caf\u00e9.md"), embed("cafe\u0301.md"))), ("convert", "nb.ipynb", "out.py", "--embedded-files"), "earlier cell"),
    Case(
        "nb-push-embedded-is-the-script",
        steps(remove("main.py"), write("main.ipynb", notebook(GOOD_NB_CELL, embed("main.py")))),
        ("push", "-m", "notebook"),
        "main.py",
    ),
    Case(
        "nb-test-embedded-lone-surrogate",
        steps(remove("main.py"), write("main.ipynb", notebook(GOOD_NB_CELL, embed("notes.md", "\udc80")))),
        ("test",),
        "UTF-8",
    ),
    Case(
        "nb-test-embedded-over-folder",
        steps(remove("main.py"), write("main.ipynb", notebook(GOOD_NB_CELL, embed("prediction")))),
        ("test",),
        "folder",
    ),
    # -- hub answers ----------------------------------------------------------------------------
    Case("hub-html-200", nothing, ("--api-base-url", "{fake}", "download"), "JSON", rules={"/v1/competitions/": html(200)}),
    Case("hub-html-502", nothing, ("--api-base-url", "{fake}", "download"), "502", rules={"/v1/competitions/": html(502)}),
    Case(
        "hub-unknown-error-code",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "NEVER_SEEN_BEFORE",
        rules={"/v1/competitions/": json_answer(409, {"code": "NEVER_SEEN_BEFORE", "message": "a code this client does not know"})},
    ),
    Case("hub-error-empty-json", nothing, ("--api-base-url", "{fake}", "download"), "HTTP 500 with an error without a code", rules={"/v1/competitions/": json_answer(500, {})}),
    Case("hub-release-not-object", nothing, ("--api-base-url", "{fake}", "download"), "data-release is malformed", rules={RELEASE: json_answer(200, ["x"])}),
    Case("hub-data-name-dotdot", nothing, ("--api-base-url", "{fake}", "download"), "../evil.parquet", rules={RELEASE: edit_release(_rename_file("../evil.parquet"))}),
    Case("hub-data-name-absolute", nothing, ("--api-base-url", "{fake}", "download"), "/tmp/evil.parquet", rules={RELEASE: edit_release(_rename_file("/tmp/evil.parquet"))}),
    Case(
        "hub-zip-escapes-data",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "escaped.txt",
        DOWNLOAD_WRITES + ("data/extra.zip",),
        rules={RELEASE: edit_release(_zip_release), "/_crafted/extra.zip": lambda m, p, f: (200, {"Content-Type": "application/zip"}, ZIP)},
    ),
    Case(
        "hub-huge-content-length",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "extra.parquet",
        DOWNLOAD_WRITES + ("data/extra.parquet*", "data/.extra.parquet*", "data/*.part"),
        rules={RELEASE: edit_release(_huge_release(50 * 1024**3)), **HUGE_RULES},
        env={"CRUNCH_TIMEOUT": "1"},
    ),
    Case(
        "hub-clone-path-escapes",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "../evil.py",
        rules={"/v4/competitions/demo/projects/": json_answer(200, {"main.py": "http://127.0.0.1:9/x", "../evil.py": "http://127.0.0.1:9/y"})},
        outside=True,
    ),
    Case(
        "hub-clone-file-404",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "HTTP 404",
        rules={
            "/v4/competitions/demo/projects/": lambda m, p, f: json_answer(200, {"main.py": PROXY_URL[0] + "_crafted/gone"})(m, p, f),
            "/_crafted/gone": json_answer(404, {"code": "NOT_FOUND", "message": "no such file"}),
        },
        outside=True,
    ),
    Case(
        "hub-setup-html",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "whatever-token"),
        "JSON",
        rules={"/v2/project-tokens/upgrade": html(200)},
        outside=True,
    ),
    Case(
        "hub-setup-unknown-code",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "whatever-token"),
        "NEVER_SEEN_BEFORE",
        rules={"/v2/project-tokens/upgrade": json_answer(418, {"code": "NEVER_SEEN_BEFORE", "message": "brewing"})},
        outside=True,
    ),
    # -- special files where a file is read (a FIFO, a device): refused, naming the file, never a wait
    Case("special-token-fifo", fifo(".crunchdao/token"), ("push", "-m", "x"), ".crunchdao/token"),
    Case("special-token-fifo-download", fifo(".crunchdao/token"), ("download", "--force"), "FIFO"),
    Case("special-project-json-fifo", fifo(".crunchdao/project.json"), ("test",), "project.json"),
    Case("special-gitignore-fifo", fifo(".gitignore"), ("push", "-m", "x"), ".gitignore"),
    # a FIFO or socket among the files a push selects is skipped with a warning, as git skips it: tests/test_hub_files.py
    Case("special-requirements-fifo-test", fifo("requirements.txt"), ("test",), "requirements.txt"),
    Case("special-notebook-fifo", fifo("nb.ipynb"), ("convert", "nb.ipynb", "out.py"), "nb.ipynb"),
    Case("special-notebook-device", link_to("nb.ipynb", "/dev/zero"), ("convert", "nb.ipynb", "out.py"), "character device"),
    Case("special-release-cache-fifo", fifo(".crunchdao/data_release.json"), ("test",), "data_release.json"),
    # read once the prediction is made: the prediction and the trained model are kept (to look at)
    Case("special-dotenv-fifo", fifo(".env"), ("test",), ".env"),
    Case("special-whitelist-validate-fifo", fifo("reqs.txt"), ("whitelist", "validate", "reqs.txt"), "reqs.txt"),
    Case("special-checks-cache-fifo", fifo(".crunchdao/checks.json"), ("test",), "checks.json", PREDICTION_WRITTEN + ("resources/*",)),
    # -- checks before the setup token is spent: the same token works afterwards -----------------
    Case(
        "token-setup-dir-under-a-file", nothing, ("setup", COMPETITION, PROJECT, "../ws/main.py/sub", "--token", "{token}", "--no-data"),
        "a part of the path is a file", outside=True, unspent=True,
    ),
    Case(
        "token-setup-dir-unwritable", read_only("locked"), ("setup", COMPETITION, PROJECT, "../ws/locked/sub", "--token", "{token}", "--no-data"),
        "locked/sub", outside=True, undo=writable("locked"), unspent=True,
    ),
    Case(
        "token-setup-force-into-read-only", read_only("locked"), ("setup", COMPETITION, PROJECT, "../ws/locked", "--force", "--token", "{token}", "--no-data"),
        "locked", outside=True, undo=writable("locked"), unspent=True,
    ),
    Case(
        "token-setup-dir-too-long", nothing, ("setup", COMPETITION, PROJECT, "d" * 300, "--token", "{token}", "--no-data"),
        "too long for the file system", outside=True, unspent=True,
    ),
    Case(
        "token-setup-parent-too-long", nothing, ("setup", COMPETITION, PROJECT, "p" * 300 + "/ws", "--token", "{token}", "--no-data"),
        "too long for the file system", outside=True, unspent=True,
    ),
    Case(
        "token-setup-force-data-is-a-file", steps(remove("data"), write("data", "x")), ("setup", COMPETITION, PROJECT, ".", "--force", "--token", "{token}", "--no-data"),
        "data is a file", unspent=True,
    ),
    Case(
        "token-update-read-only-dot-dir", read_only(".crunchdao"), ("update-token", "{token}"),
        "cannot be replaced", undo=writable(".crunchdao"), unspent=True,
    ),
    Case(
        "token-update-read-only-workspace", steps(read_only(".crunchdao"), read_only(".")), ("update-token", "{token}"),
        "cannot be replaced", undo=writable(".", ".crunchdao"), unspent=True,
    ),
    # -- the workspace's own folders are files, or read-only; a data file is a folder ------------
    Case("folders-data-is-a-file", steps(remove("data"), write("data", "x")), ("download", "--force"), "data is a file"),
    Case("folders-data-is-a-file-test", steps(remove("data"), write("data", "x")), ("test",), "data is a file", DOWNLOAD_WRITES),
    Case("folders-prediction-is-a-file", steps(remove("prediction"), write("prediction", "x")), ("test",), "prediction is a file"),
    Case("folders-resources-is-a-file", steps(remove("resources"), write("resources", "x")), ("test",), "resources is a file"),
    Case("folders-x-train-is-a-folder", steps(remove("data/X_train.parquet"), lambda ws: (ws / "data/X_train.parquet").mkdir()), ("download",), "X_train.parquet is a folder", DOWNLOAD_WRITES),
    Case("folders-x-train-is-a-folder-test", steps(remove("data/X_train.parquet"), lambda ws: (ws / "data/X_train.parquet").mkdir()), ("test",), "X_train.parquet is a folder", DOWNLOAD_WRITES),
    Case("folders-lock-is-a-folder", steps(remove(".crunchdao/download.lock"), lambda ws: (ws / ".crunchdao/download.lock").mkdir()), ("download", "--force"), "download.lock", DOWNLOAD_WRITES),
    Case("folders-data-read-only", read_only("data"), ("download", "--force"), "cannot write in", undo=writable("data")),
    Case("folders-prediction-read-only", read_only("prediction"), ("test",), "prediction", undo=writable("prediction")),
    Case("folders-resources-read-only", read_only("resources"), ("test",), "resources", undo=writable("resources")),
    Case("folders-dot-dir-read-only", read_only(".crunchdao"), ("download", "--force"), ".crunchdao", undo=writable(".crunchdao")),
    # -- "error: unexpected" (1): hub answers with a field of the wrong type, named with its call --
    hub_row("hub-release-url-null", RELEASE, RELEASE_PATH, setting("dataFiles.X_train.url", None), "without its download link (dataFiles.X_train.url)"),
    hub_row("hub-release-url-file", RELEASE, RELEASE_PATH, setting("dataFiles.X_train.url", "file:///etc/passwd"), "a link that is not http(s) (file:///etc/passwd) (dataFiles.X_train.url)"),
    hub_row("hub-release-size-object", RELEASE, RELEASE_PATH, setting("dataFiles.X_train.size", {}), "dataFiles.X_train.size: expected an integer, got an empty object"),
    hub_row("hub-release-size-text", RELEASE, RELEASE_PATH, setting("dataFiles.X_train.size", "12kb"), 'dataFiles.X_train.size: expected an integer, got "12kb"'),
    hub_row("hub-release-sha256-number", RELEASE, RELEASE_PATH, setting("dataFiles.X_train.sha256", 12345), "dataFiles.X_train.sha256: expected a sha256 (64 hexadecimal digits), got '12345'"),
    hub_row("hub-release-splits-object", RELEASE, RELEASE_PATH, setting("splits", {}), "splits: expected a list, got an empty object"),
    hub_row("hub-release-file-list", RELEASE, RELEASE_PATH, setting("dataFiles.X_test", ["X_test.parquet"]), "dataFiles.X_test: expected an object, got a list"),
    hub_row("hub-release-name-object", RELEASE, RELEASE_PATH, setting("dataFiles.X_test.name", {}), "dataFiles.X_test.name: expected a string, got an empty object"),
    hub_row("hub-release-targets-list", RELEASE, RELEASE_PATH, setting("columnNames.targets", [5]), "columnNames.targets[0]: expected an object, got 5"),
    hub_row("hub-release-names-data-release", RELEASE, RELEASE_PATH, setting("splits", "all"), "the hub's answer to GET /v2/competitions/demo/rounds/"),
    hub_row("hub-competition-name-number", "/v1/competitions/demo", r"/v1/competitions/demo", setting("name", {}), "GET /v1/competitions/demo is malformed: name: expected a string, got an empty object"),
    hub_row("hub-competition-list", "/v1/competitions/demo", r"/v1/competitions/demo", lambda doc: [doc], "/v1/competitions/demo is malformed: expected an object, got a list"),
    hub_row("hub-round-number-text", "/v1/competitions/demo/rounds", ROUND_PATH, setting("number", "two"), 'number: expected an integer, got "two"'),
    hub_row("hub-competitions-name-number", "/v2/competitions", r"/v2/competitions", setting("content.0.name", {}), "GET /v2/competitions is malformed: content[0].name: expected a string, got an empty object", "list"),
    hub_row("hub-competitions-text", "/v2/competitions", r"/v2/competitions", lambda doc: "demo", 'GET /v2/competitions is malformed: expected a list, got "demo"', "list"),
    hub_row("hub-upload-id-missing", UPLOAD_PATH, UPLOAD_PATH, lambda doc: {k: v for k, v in doc.items() if k != "id"}, "id: expected an integer or a non-empty string", "push", "-m", "x", method="POST"),
    hub_row("hub-upload-chunks-text", UPLOAD_PATH, UPLOAD_PATH, setting("chunks", "all of them"), 'chunks: expected a list, got "all of them"', "push", "-m", "x", method="POST"),
    hub_row("hub-upload-chunk-offset-text", UPLOAD_PATH, UPLOAD_PATH, setting("chunks.0.offset", "zero"), 'chunks[0].offset: expected an integer, got "zero"', "push", "-m", "x", method="POST"),
    hub_row("hub-chunk-request-url-number", "/v1/uploads/", r"/v1/uploads/[^/]+/chunks/\d+/request", setting("url", 5), 'url: expected an http:// or https:// link, got "5"', "push", "-m", "x"),
    hub_row("hub-chunk-request-headers-list", "/v1/uploads/", r"/v1/uploads/[^/]+/chunks/\d+/request", setting("headers", {"a": {}}), "headers.a: expected a string, got an empty object", "push", "-m", "x"),
    Case(
        "hub-error-packages-number",
        nothing,
        ("--api-base-url", "{fake}", "push", "-m", "x"),
        "libraries: unknown",
        rules={"/v4/competitions/demo/projects/": json_answer(409, {"code": "FORBIDDEN_LIBRARY", "message": "no", "packages": 5})},
    ),
    Case(
        "hub-error-field-errors-text",
        nothing,
        ("--api-base-url", "{fake}", "push", "-m", "x"),
        "the hub refused the request: bad",
        rules={"/v4/competitions/demo/projects/": json_answer(400, {"code": "VALIDATION_FAILED", "message": "bad", "fieldErrors": "message"})},
    ),
    setup_row("hub-setup-upgrade-project-list", "/v2/project-tokens/upgrade", r"/v2/project-tokens/upgrade", setting("project", []), "project: expected an object, got an empty list", method="POST"),
    setup_row("hub-setup-upgrade-plain-number", "/v2/project-tokens/upgrade", r"/v2/project-tokens/upgrade", setting("plain", {}), "plain: expected a string, got an empty object", method="POST"),
    Case(
        "hub-setup-clone-url-number",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        'main.py: expected an http:// or https:// link, got "5"',
        rules={"/v4/competitions/demo/projects/": json_answer(200, {"main.py": 5})},
        outside=True,
    ),
    Case(
        "hub-setup-clone-list",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "clone is malformed: expected an object, got a list",
        rules={"/v4/competitions/demo/projects/": json_answer(200, ["main.py"])},
        outside=True,
    ),
    # -- "error: unexpected" (1): workspace caches with a field of the wrong type, offline ---------
    Case("cache-release-split-key-object", edit_cache("data_release.json", setting("splits.0.key", {})), (*OFFLINE, "test"), "data_release.json is malformed: splits[0].key: expected an integer or a non-empty string, got an empty object"),
    Case("cache-release-size-text", edit_cache("data_release.json", setting("dataFiles.X_train.size", "12kb")), (*OFFLINE, "test"), 'dataFiles.X_train.size: expected an integer, got "12kb"'),
    Case("cache-release-sha256-number", edit_cache("data_release.json", setting("dataFiles.X_train.sha256", 12345)), (*OFFLINE, "test"), "dataFiles.X_train.sha256: expected a sha256 (64 hexadecimal digits), got '12345'"),
    Case("cache-release-splits-object", edit_cache("data_release.json", setting("splits", {})), (*OFFLINE, "test"), "splits: expected a list, got an empty object"),
    Case("cache-release-list", edit_cache("data_release.json", lambda doc: [doc]), (*OFFLINE, "test"), "data_release.json is malformed: expected an object, got a list"),
    Case("cache-release-not-json", write(".crunchdao/data_release.json", "{half"), (*OFFLINE, "test"), "data_release.json is damaged (not valid JSON)"),
    Case("cache-checks-order-text", edit_cache("checks.json", setting("0.order", "first")), (*OFFLINE, "test"), 'checks.json is malformed: [0].order: expected an integer, got "first"'),
    Case("cache-checks-object", edit_cache("checks.json", lambda doc: {"checks": doc}), (*OFFLINE, "test"), "checks.json is malformed: expected a list, got an object"),
    Case("cache-libraries-name-object", edit_cache("libraries.json", setting("0.name", {})), (*OFFLINE, "test"), "libraries.json is malformed: [0].name: expected a non-empty string, got an empty object"),
    Case("cache-competition-name-object", edit_cache("competition.json", setting("name", {})), (*OFFLINE, "test"), "competition.json is malformed: name: expected a string, got an empty object"),
    Case("cache-round-number-text", edit_cache("round.json", setting("number", "two")), (*OFFLINE, "test"), 'round.json is malformed: number: expected an integer, got "two"'),
    Case("cache-round-list", write(".crunchdao/round.json", "[1]"), (*OFFLINE, "test", "--round-number", "1"), "round.json is malformed: expected an object, got a list"),
    Case("ws-project-model-directory-number", edit_cache("project.json", setting("modelDirectory", 5)), ("test",), "modelDirectory: expected a non-empty string, got 5"),
    Case("ws-project-api-base-url-number", edit_cache("project.json", setting("apiBaseUrl", 5)), ("download",), "apiBaseUrl: expected a string, got 5"),
    Case("ws-project-api-base-url-not-url", edit_cache("project.json", setting("apiBaseUrl", "hub.example")), ("download",), 'apiBaseUrl: expected an http:// or https:// URL, got "hub.example"'),
    Case("ws-project-size-variant-unknown", edit_cache("project.json", setting("sizeVariant", "huge")), ("download",), 'sizeVariant: expected one of DEFAULT, SMALL, LARGE, got "huge"'),
    Case("ws-project-user-id-list", edit_cache("project.json", setting("userId", [7])), ("push", "-m", "x"), "userId: expected an integer or a non-empty string, got a list"),
    Case("ws-project-user-id-missing", edit_cache("project.json", lambda doc: {k: v for k, v in doc.items() if k != "userId"}), ("push", "-m", "x"), "userId: expected an integer or a non-empty string, got nothing"),
    # -- "error: unexpected" (2): predictions and data of shapes the checks do not expect -----------
    Case("main-infer-array-cells", write("main.py", main_py(frame("prediction['prediction'] = [np.array([0.1, 0.2])] * len(prediction)\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("main-infer-list-cells", write("main.py", main_py(frame("prediction['prediction'] = [[0.1]] * len(prediction)\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("main-infer-complex", write("main.py", main_py(frame("prediction['prediction'] = 0.5 + 1j\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("main-infer-mixed-types", write("main.py", main_py(frame("prediction['prediction'] = prediction['prediction'].astype(object)\nprediction.iloc[0, 2] = 'x'\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("main-infer-text-moon", write("main.py", main_py(frame("prediction['moon'] = prediction['moon'].astype(str)\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("main-infer-dict-cells", write("main.py", main_py(frame("prediction['prediction'] = [{'a': 1}] * len(prediction)\nreturn prediction"))), ("test",), "prediction is not valid", DAMAGED_PREDICTION),
    Case("data-example-truncated", truncate("example_prediction.parquet", 0.5), ("test",), "example_prediction.parquet is not a readable parquet file"),
    Case("data-example-not-parquet", write("data/example_prediction.parquet", "id,moon,prediction\n"), ("test",), "example_prediction.parquet is not a readable parquet file"),
    Case("data-text-moon", rewrite_parquet("X_train.parquet", lambda f: f.assign(moon=f["moon"].astype(str))), ("test",), "the `moon` column of X_train.parquet holds text"),
    Case("data-timestamp-moon", rewrite_parquet("y_train.parquet", lambda f: f.assign(moon=f["moon"].astype("datetime64[ns]"))), ("test",), "the `moon` column of y_train.parquet holds dates or times"),
    Case("data-repeated-column", parquet_table("X_train.parquet", repeat_column), ("test",), "X_train.parquet has the column(s) `feature_0` more than once"),
    Case("data-split-keys-text", edit_cache("data_release.json", lambda doc: setting("splits", [{"key": "last", "group": "TEST", "reduced": "X"}])(doc)), (*OFFLINE, "test"), "not moon numbers ('last')"),
]


# -- after the push: submissions, quickstarters, whitelist, daily quota ------------------------
# These rows run in the template's copy turned into another project of the same hub (its
# project.json and token copied in), set up once per module with the number of pushes it needs.

_PROJECTS: Dict[Tuple[str, str], Path] = {}


def as_project(name: str, pushes: int = 0) -> Callable[[Path], None]:
    def build(ws: Path) -> None:
        import tempfile

        from conftest import Hub, run_crunch

        url = json.loads((ws / ".crunchdao" / "project.json").read_text())["apiBaseUrl"]
        source = _PROJECTS.get((url, name))
        if source is None:
            folder = Path(tempfile.mkdtemp(prefix="badinput-project-"))
            token = Hub.at(url).token(COMPETITION, name, "alice")  # an admin call: the hub's secret
            made = run_crunch("--api-base-url", url, "setup", COMPETITION, name, "ws", "--token", token, "--no-data", "--submission", "scratch", cwd=folder)
            assert made.returncode == 0, made.output
            for number in range(1, pushes + 1):
                pushed = run_crunch("--api-base-url", url, "push", "-m", f"push {number}", "--no-pip-freeze", cwd=folder / "ws")
                assert pushed.returncode == 0, pushed.output
            source = _PROJECTS[(url, name)] = folder / "ws"
        for file in ("project.json", "workspace.json", "token"):
            shutil.copy2(source / ".crunchdao" / file, ws / ".crunchdao" / file)

    return build


CASES += [
    Case("submission-never-submitted", as_project("bi-never"), ("submission", "show", "1"), "never submitted"),
    Case("submission-unknown-number", as_project("bi-one", 1), ("submission", "show", "9"), "no submission #9"),
    Case(
        "submission-of-another-project",
        steps(as_project("bi-three", 3), as_project("bi-one", 1)),
        ("submission", "checkout", "3"),
        "demo/bi-one has no submission #3",
    ),
    Case("submission-not-a-number", nothing, ("submission", "show", "first"), "not a submission"),
    Case("submission-checkout-missing-file", as_project("bi-one", 1), ("submission", "checkout", "1", "nothere.py"), "holds no such file"),
    Case("submission-checkout-data", as_project("bi-one", 1), ("submission", "checkout", "1", "data"), "never part of a submission"),
    Case("submission-checkout-outside", as_project("bi-one", 1), ("submission", "checkout", "1", "../x.py"), "outside the workspace"),
    Case("quota-exhausted-push", as_project("bi-full", 5), ("push", "-m", "sixth"), "daily submission limit reached"),
    Case("quickstarter-unknown", nothing, ("quickstarter", "show", "nope"), "no quickstarter 'nope'"),
    Case("quickstarter-apply-over-existing", nothing, ("quickstarter", "apply", "default"), "--overwrite"),
    Case("whitelist-validate-missing-file", nothing, ("whitelist", "validate", "nope.txt"), "does not exist"),
    Case("whitelist-validate-not-whitelisted", write("reqs.txt", "not-a-known-lib\n"), ("whitelist", "validate", "reqs.txt"), "not whitelisted"),
    Case("whitelist-search-no-match", nothing, ("whitelist", "search", "zz-nothing"), "no whitelisted library"),
]


# -- UNSTRUCTURED competitions: the competition's own code, cached as `crunch download` leaves it --

SIMPLE_RUNNER = """
import os
from crunch.utils import smart_call


def run(context, prediction_directory_path):
    if context.force_first_train:
        context.execute(command="train")
    context.execute(command="infer", parameters={"path": os.path.join(prediction_directory_path, "prediction.parquet")})


def execute(context, module, data_directory_path, model_directory_path):
    import pandas

    values = {"model_directory_path": model_directory_path}

    def train():
        x = pandas.read_parquet(os.path.join(data_directory_path, "X_train.parquet"))
        y = pandas.read_parquet(os.path.join(data_directory_path, "y_train.parquet"))
        smart_call(module.get_function("train"), values, {"X_train": x, "y_train": y})

    def infer(path):
        x = pandas.read_parquet(os.path.join(data_directory_path, "X_test.parquet"))
        prediction = smart_call(module.get_function("infer"), values, {"X_test": x})
        prediction.to_parquet(path, index=False)

    return {"train": train, "infer": infer}
"""

REJECTING_SCORING = """
class ParticipantVisibleError(Exception):
    pass


def check(prediction_directory_path):
    raise ParticipantVisibleError("Columns do not match: missing [answer]")


def score():
    return {}
"""

FAILING_SCORE = """
def check(prediction_directory_path):
    pass


def score(target_and_metrics):
    raise ValueError("the scorer broke on purpose")
"""

REJECTING_SUBMISSION = """
class ParticipantVisibleError(Exception):
    pass


def check(submission_files, model_files):
    names = sorted(file.name for file in submission_files)
    raise ParticipantVisibleError("a README.md is required next to main.py (got " + ", ".join(names) + ")")
"""

UNSTRUCTURED_WRITES = ("prediction/*", "resources/*")


def unstructured(**files: Optional[str]) -> Callable[[Path], None]:
    """The workspace's competition turned UNSTRUCTURED, with ``files`` (runner=..., scoring=...,
    submission=...) in its code cache; a file given as None is one the source does not have."""

    def build(ws: Path) -> None:
        dot = ws / ".crunchdao"
        competition = json.loads((dot / "competition.json").read_text())
        competition["format"] = "UNSTRUCTURED"
        (dot / "competition.json").write_text(json.dumps(competition))
        (dot / "metrics.json").write_text(json.dumps([{"id": 1, "name": "score", "target": {"id": 1, "name": "target"}}]))
        folder = dot / "code"
        folder.mkdir(exist_ok=True)
        records = {}
        for name in ("runner", "scoring", "submission"):
            text = files.get(name)
            if text is None:
                records[name] = {"found": False, "location": None}
            else:
                (folder / f"{name}.py").write_text(text)
                records[name] = {"found": True, "location": f"fixture/{name}.py"}
        (folder / "sources.json").write_text(json.dumps(records))

    return build


def forget_code(ws: Path) -> None:
    shutil.rmtree(ws / ".crunchdao" / "code")


UNSTRUCTURED_CASES: List[Case] = [
    Case("us-no-runner", unstructured(), ("test",), "no runner.py for the competition demo"),
    Case(
        "us-runner-import-fails",
        unstructured(runner="import a_module_nobody_installed\n\ndef run():\n    pass\n"),
        ("test",),
        "runner.py (from fixture/runner.py) failed to load: ModuleNotFoundError",
    ),
    Case("us-runner-syntax-error", unstructured(runner="def run(:\n"), ("test",), "runner.py (from fixture/runner.py) failed to load: SyntaxError"),
    Case("us-runner-no-run", unstructured(runner="def execute():\n    return {}\n"), ("test",), "runner.py has no `run` function"),
    Case(
        "us-user-lacks-infer",
        steps(unstructured(runner=SIMPLE_RUNNER), write("main.py", "def train(X_train, y_train):\n    pass\n")),
        ("test",),
        "main.py has no `infer` function, which the competition's runner.py asks for",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-runner-raises",
        unstructured(runner="def run(context):\n    raise RuntimeError('the runner broke on purpose')\n"),
        ("test",),
        "the competition's runner.py raised RuntimeError: the runner broke on purpose",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-runner-aborts",
        unstructured(runner="import click\n\n\ndef run(context):\n    context.log('requires crunch 99', error=True)\n    raise click.Abort()\n"),
        ("test",),
        "the competition's runner.py aborted the run",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-runner-exits",
        unstructured(runner="def run(context):\n    exit(3)\n"),
        ("test",),
        "the run stopped with exit(3)",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-user-code-raises",
        steps(unstructured(runner=SIMPLE_RUNNER), write("main.py", main_py("raise KeyError('no such column')"))),
        ("test",),
        "your code raised KeyError",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-check-rejects",
        unstructured(runner=SIMPLE_RUNNER, scoring=REJECTING_SCORING),
        ("test", "--no-determinism-check"),
        "Columns do not match: missing [answer]",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-score-raises",
        unstructured(runner=SIMPLE_RUNNER, scoring=FAILING_SCORE),
        ("test", "--no-determinism-check"),
        "scoring.py score() raised ValueError: the scorer broke on purpose",
        may_change=UNSTRUCTURED_WRITES,
    ),
    Case(
        "us-source-unreachable",
        steps(unstructured(), forget_code),
        ("test",),
        "could not be fetched and none is cached",
        env={"CRUNCH_COMPETITIONS_SOURCE": "cache+http://127.0.0.1:9"},
    ),
    Case(
        "us-source-invalid",
        steps(unstructured(), forget_code),
        ("test",),
        "unsupported competitions source scheme 'ftp'",
        env={"CRUNCH_COMPETITIONS_SOURCE": "ftp://example.org/competitions"},
    ),
    Case(
        "us-submission-refused",
        unstructured(runner=SIMPLE_RUNNER, submission=REJECTING_SUBMISSION),
        ("push", "-m", "refused before upload"),
        "a README.md is required next to main.py",
    ),
]
CASES.extend(UNSTRUCTURED_CASES)


# -- origins and sizes: tokens stay at the hub's origin, answers cannot exhaust the machine ------

ELSEWHERE = "http://127.0.0.2:9"  # another origin: nothing of crunch's may go there


def _redirect_elsewhere(status: int) -> Callable[..., Answer]:
    return lambda method, path, forward: (status, {"Location": ELSEWHERE + path + "&stolen=1"}, b"")


def _data_extra(target: str, size: int) -> Callable[[Dict[str, Any], str], None]:
    def edit(release: Dict[str, Any], proxy: str) -> None:
        release["dataFiles"]["extra"] = {"name": "extra.bin", "url": proxy + target, "size": size, "signed": True, "compressed": False, "sha256": None}

    return edit


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, compresslevel=9)


DATA_BOMB = _gzip(b"\0" * (64 << 20))
ANSWER_BOMB = _gzip(b"[" + b" " * (65 << 20) + b"]")
DEEP = b"[" * 50_000 + b"]" * 50_000
DATA_FAILS = DOWNLOAD_WRITES + ("data/extra.bin*", "data/.extra.bin*")

CASES += [
    Case(
        "origin-setup-token-redirected",
        nothing,
        ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data"),
        "(127.0.0.2:9)",
        rules={"/v2/project-tokens/upgrade": _redirect_elsewhere(307)},
        outside=True,  # that the token stays unspent: tests/test_origins.py
    ),
    Case("origin-push-token-redirected", nothing, ("--api-base-url", "{fake}", "download"), "(127.0.0.2:9)", DOWNLOAD_WRITES, rules={RELEASE: _redirect_elsewhere(302)}),
    Case(
        "data-link-redirects-to-file",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "not http(s)",
        DATA_FAILS,
        rules={RELEASE: edit_release(_data_extra("_crafted/file", 10)), "/_crafted/file": lambda m, p, f: (302, {"Location": "file:///etc/passwd"}, b"")},
    ),
    Case(
        "data-link-redirect-loop",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "more than 5 times",
        DATA_FAILS,
        rules={RELEASE: edit_release(_data_extra("_crafted/loop", 10)), "/_crafted/loop": lambda m, p, f: (302, {"Location": "/_crafted/loop"}, b"")},
    ),
    Case(
        "data-body-past-announced-size",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "more than the 1000 bytes its data release announced for extra.bin",
        DATA_FAILS,
        rules={RELEASE: edit_release(_data_extra("_crafted/long", 1000)), "/_crafted/long": lambda m, p, f: (200, {}, b"x" * 5000)},
    ),
    Case(
        "data-body-gzip-bomb",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "more than the 4096 bytes",
        DATA_FAILS,
        rules={RELEASE: edit_release(_data_extra("_crafted/bomb", 4096)), "/_crafted/bomb": lambda m, p, f: (200, {"Content-Encoding": "gzip"}, DATA_BOMB)},
    ),
    Case("hub-answer-gzip-bomb", nothing, ("--api-base-url", "{fake}", "download"), "larger than 64 MiB", rules={"/v1/competitions/": lambda m, p, f: (200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, ANSWER_BOMB)}),
    Case("hub-answer-deep-json", nothing, ("--api-base-url", "{fake}", "download"), "nested deeper than 200 levels", rules={"/v1/competitions/": lambda m, p, f: (200, {"Content-Type": "application/json"}, DEEP)}),
    Case("hub-answer-brotli", nothing, ("--api-base-url", "{fake}", "download"), "'br'", rules={"/v1/competitions/": lambda m, p, f: (200, {"Content-Type": "application/json", "Content-Encoding": "br"}, b"\x0b\x00\x80{}\x03")}),
    Case("cache-release-deep-json", write(".crunchdao/data_release.json", DEEP.decode()), (*OFFLINE, "test"), "data_release.json is damaged"),
]


# -- files from the hub that would steer the workspace (docs/guarantees.md) --------------------


def _hostile_clone(name: str) -> Dict[str, Callable[..., Any]]:
    return {"/v4/competitions/demo/projects/": json_answer(200, {"main.py": "http://127.0.0.1:9/x", name: "http://127.0.0.1:9/y"})}


def _zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", "fine")
        archive.writestr(name, "[core]\n\tfsmonitor = touch /tmp/owned\n")
    return buffer.getvalue()


GIT_ZIP = _zip_of("inner/.git/config")


def _git_zip_release(release: Dict[str, Any], proxy: str) -> None:
    release["dataFiles"]["extra"] = {
        "name": "extra.zip",
        "url": proxy + "_crafted/git.zip",
        "size": len(GIT_ZIP),
        "signed": True,
        "compressed": True,
        "sha256": hashlib.sha256(GIT_ZIP).hexdigest(),
    }


def _plant_quickstarter_file(name: str) -> Callable[[Any], Any]:
    def edit(document: Any) -> Any:
        document["files"].append(dict(document["files"][0], name=name))
        return document

    return edit


SETUP_FRESH = ("--api-base-url", "{fake}", "setup", COMPETITION, PROJECT, "fresh", "--token", "{token}", "--no-data")
STEERING_CASES: List["Case"] = [
    Case("hub-clone-git-hook", nothing, SETUP_FRESH, ".git/hooks/post-checkout", rules=_hostile_clone(".git/hooks/post-checkout"), outside=True),
    Case("hub-clone-git-any-case", nothing, SETUP_FRESH, ".GIT", rules=_hostile_clone("lib/.GIT/config"), outside=True),
    Case("hub-clone-nested-crunchdao", nothing, SETUP_FRESH, "lib/.CrunchDAO/project.json", rules=_hostile_clone("lib/.CrunchDAO/project.json"), outside=True),
    Case("hub-clone-dotenv", nothing, SETUP_FRESH, "notebooks/.env", rules=_hostile_clone("notebooks/.env"), outside=True),
    Case("hub-clone-sitecustomize", nothing, SETUP_FRESH, "sitecustomize.py", rules=_hostile_clone("sitecustomize.py"), outside=True),
    Case("hub-clone-pycache", nothing, SETUP_FRESH, "__pycache__", rules=_hostile_clone("__pycache__/main.cpython-311.pyc"), outside=True),
    Case("hub-clone-jupyter-config", nothing, SETUP_FRESH, "jupyter_server_config.py", rules=_hostile_clone("jupyter_server_config.py"), outside=True),
    Case("hub-clone-name-too-long", nothing, SETUP_FRESH, "bytes long", rules=_hostile_clone("n" * 300 + ".py"), outside=True),
    Case("hub-clone-path-too-long", nothing, SETUP_FRESH, "over what the system allows", rules=_hostile_clone("/".join(["d" * 200] * 25) + "/x.py"), outside=True),
    Case("hub-clone-name-control-character", nothing, SETUP_FRESH, "control character", rules=_hostile_clone("bad\nname.py"), outside=True),
    Case("release-name-dotenv", nothing, ("--api-base-url", "{fake}", "download"), "'.env'", rules={RELEASE: edit_release(_rename_file(".env"))}),
    Case("release-name-too-long", nothing, ("--api-base-url", "{fake}", "download"), "bytes long", rules={RELEASE: edit_release(_rename_file("x" * 240 + ".parquet"))}),
    Case(
        "hub-zip-entry-git",
        nothing,
        ("--api-base-url", "{fake}", "download"),
        "inner/.git/config",
        DOWNLOAD_WRITES + ("data/extra.zip",),
        rules={RELEASE: edit_release(_git_zip_release), "/_crafted/git.zip": lambda m, p, f: (200, {"Content-Type": "application/zip"}, GIT_ZIP)},
    ),
    Case(
        "quickstarter-apply-vscode",
        nothing,
        ("--api-base-url", "{fake}", "quickstarter", "apply", "default", "--overwrite"),
        ".vscode/settings.json",
        rules={"/v2/competitions/demo/quickstarters": edit_answer(r"/v2/competitions/demo/quickstarters/[^/]+", _plant_quickstarter_file(".vscode/settings.json"))},
    ),
]
CASES.extend(STEERING_CASES)

# -- names given to the local hub's commands: refused before the hub's root is touched ------------

HUB_NAME_CASES: List[Case] = [
    Case("hub-token-escape-in-project", nothing, ("hub", "token", "demo", "p\x1b[2J1", "--root", "hubroot"), "control character"),
    Case("hub-token-newline-in-user", nothing, ("hub", "token", "demo", "p1", "--user", "al\nice", "--root", "hubroot"), "control character"),
    Case("hub-token-bidi-override-in-competition", nothing, ("hub", "token", "de\u202emo", "p1", "--root", "hubroot"), "cannot be shown"),
    Case("hub-token-huge-project-name", nothing, ("hub", "token", "demo", "p" * 5000, "--root", "hubroot"), "at most 200 characters"),
    Case("hub-add-competition-bell-in-name", nothing, ("hub", "add-competition", "bad\x07name", "data", "--root", "hubroot"), "cannot be a competition name"),
    Case("hub-add-competition-c1-control", nothing, ("hub", "add-competition", "bad\x9bname", "data", "--root", "hubroot"), "cannot be a competition name"),
]
CASES.extend(HUB_NAME_CASES)


# -- terminals and the machine: hub text shown escaped, a full disk --------------------------------

HOSTILE_TEXT = "\x1b]0;owned\x07\x1b[2J\rFAKE\u202egnp.exe\x9b"
LEADERBOARD = "/v3/competitions/demo/leaderboards"


MACHINE_CASES: List[Case] = [
    Case(
        "hub-error-message-escaped",
        nothing,
        ("--api-base-url", "{fake}", "leaderboard"),
        "refused\\x1b]0;owned\\x07\\x1b[2J; FAKE\\u202egnp.exe\\x9b",  # the carriage return: a line break, on one line
        rules={LEADERBOARD: json_answer(400, {"code": "SOMETHING_NEW", "message": "refused" + HOSTILE_TEXT})},
    ),
    Case(
        "hub-error-code-escaped",
        nothing,
        ("--api-base-url", "{fake}", "leaderboard"),
        "\\x1b[2J",
        rules={LEADERBOARD: json_answer(409, {"code": "NEW\x1b[2J\rCODE", "message": None})},
    ),
    Case(
        "user-code-disk-full",
        write("main.py", main_py("return X_test", train_body="raise OSError(28, 'No space left on device')")),
        ("test",),
        "the disk is full (train()",
    ),
]
CASES.extend(MACHINE_CASES)


# -- snapshot ----------------------------------------------------------------------------------


def snapshot(root: Path) -> Dict[str, str]:
    """Every path under ``root``: a file's sha256, a link's target, or ``dir``."""
    out: Dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                out[relative] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[relative] = "dir"
            elif not path.is_file():  # a FIFO or a device: never opened (that could wait for ever)
                out[relative] = f"special {stat.S_IFMT(path.lstat().st_mode):o}"
            else:
                mode = stat.S_IMODE(path.stat().st_mode)
                try:
                    out[relative] = hashlib.sha256(path.read_bytes()).hexdigest() + f" {mode:o}"
                except OSError as error:
                    out[relative] = f"unreadable {error.errno}"
    return out


def changes(before: Dict[str, str], after: Dict[str, str], allowed: Tuple[str, ...]) -> List[str]:
    found = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path):
            continue
        if after.get(path) == "dir" and before.get(path) is None and allowed and any(
            fnmatch.fnmatch(path + "/x", pattern) for pattern in allowed
        ):
            continue
        if any(fnmatch.fnmatch(path, pattern) for pattern in allowed):
            continue
        what = "created" if path not in before else "removed" if path not in after else "changed"
        found.append(f"{path} {what}")
    return found


def assert_one_clear_error(result: Result, fragment: str) -> str:
    assert result.returncode == 1, f"exit {result.returncode}\n{result.output}"
    # the person's own traceback (`Traceback (your code, ...)`) is fine; crunch's never is
    assert "Traceback (most recent call last)" not in result.output, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1] == errors[0], f"the error line is not the last line of stderr:\n{result.stderr}"
    line = errors[0]
    assert line.startswith("error: ") and len(line) > len("error: ") + 10, line
    assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    return line


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def extra_projects() -> Any:
    """The projects ``as_project`` made are removed with the module."""
    yield
    for source in _PROJECTS.values():
        shutil.rmtree(source.parent, ignore_errors=True)
    _PROJECTS.clear()


@pytest.fixture(scope="module")
def template(shared_hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real workspace (small data, the quickstarter), made once."""
    folder = tmp_path_factory.mktemp("badinput-template")
    token = shared_hub.token(COMPETITION, PROJECT)
    done = shared_hub.run(
        "setup", COMPETITION, PROJECT, "ws", "--token", token, "--submission", "scratch", "--size", "small", cwd=folder
    )
    assert done.returncode == 0, done.output
    return folder / "ws"


@pytest.fixture(scope="module")
def proxy(shared_hub: Hub) -> Any:
    instance = CraftingProxy(shared_hub.url)
    PROXY_URL[0] = instance.url
    yield instance
    instance.close()


def _copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, symlinks=True)
    os.chmod(target / ".crunchdao" / "token", 0o600)
    return target


def test_template_is_sound(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    """The rows fail because of their bad input: the untouched workspace passes."""
    ws = _copy(template, tmp_path / "ws")
    env = shared_hub.env(PYTHONDONTWRITEBYTECODE="1")
    tested = shared_hub.run("test", "--no-determinism-check", cwd=ws, env=env)
    assert tested.returncode == 0, tested.output
    assert "prediction is valid" in tested.stdout
    dry = shared_hub.run("push", "-m", "x", "--dry", cwd=ws, env=env)
    assert dry.returncode == 0, dry.output


def test_table_size() -> None:
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, template: Path, shared_hub: Hub, proxy: CraftingProxy, tmp_path: Path) -> None:
    ws = _copy(template, tmp_path / "ws")
    case.build(ws)
    proxy.rules = dict(case.rules)
    cwd = ws
    if case.outside:
        cwd = tmp_path / "elsewhere"
        cwd.mkdir()
    watched = tmp_path
    before = snapshot(watched)
    args = [arg.replace("{fake}", proxy.url) for arg in case.args]
    if "{token}" in args:
        args[args.index("{token}")] = shared_hub.token(COMPETITION, PROJECT)
    token = next((arg for arg in args if arg not in case.args), None) if "{token}" in case.args else None
    env = shared_hub.env(PYTHONDONTWRITEBYTECODE="1", **case.env)
    try:
        result = shared_hub.run(*args, cwd=cwd, env=env, timeout=120) if "--api-base-url" not in args else _run_plain(args, cwd, env)
        assert_one_clear_error(result, case.expect)
        allowed = tuple(("ws/" + pattern) for pattern in case.may_change)
        assert changes(before, snapshot(watched), allowed) == []
    finally:
        if case.undo is not None:
            case.undo(ws)
    if case.unspent:  # the single-use token was not spent: the hub still exchanges it
        assert token is not None
        assert shared_hub.client().upgrade_token(token).plain
    shutil.rmtree(ws)  # some rows leave the token readable by others on purpose


def _run_plain(args: List[str], cwd: Path, env: Dict[str, str]) -> Result:
    from conftest import run_crunch

    return run_crunch(*args, cwd=cwd, env=env, timeout=120)


# -- valid but large notebooks: converted, fast ------------------------------------------------


def test_ten_thousand_cells_convert(crunch: Any, tmp_path: Path) -> None:
    cells = [GOOD_NB_CELL] + [code(f"value_{i} = {i}\nprint(value_{i})\n") if i % 2 else markdown(f"# part {i}") for i in range(10_000)]
    (tmp_path / "big.ipynb").write_text(notebook(*cells))
    started = time.perf_counter()
    result = crunch("convert", "big.ipynb", "main.py", cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.output
    script = (tmp_path / "main.py").read_text()
    assert "def train(" in script and "#value_9999 = 9999" in script.replace("# ", "#")
    assert elapsed < 30, f"10,000 cells took {elapsed:.1f} s"


def test_fifty_megabyte_output_cell_converts(crunch: Any, tmp_path: Path) -> None:
    cell = code("print('x' * 50_000_000)\n")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * (50 * 1024 * 1024)}]
    cell["execution_count"] = 1
    (tmp_path / "heavy.ipynb").write_text(notebook(GOOD_NB_CELL, cell))
    started = time.perf_counter()
    result = crunch("convert", "heavy.ipynb", "main.py", cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.output
    script = (tmp_path / "main.py").read_text()
    assert "def train(" in script and len(script) < 10_000
    assert elapsed < 20, f"a 50 MB output cell took {elapsed:.1f} s"


@pytest.mark.parametrize("case_id", ["ws-project-json-corrupt", "push-message-too-long", "data-truncated", "hub-html-200"])
def test_debug_adds_the_traceback_and_keeps_the_line(case_id: str, template: Path, shared_hub: Hub, proxy: CraftingProxy, tmp_path: Path) -> None:
    """With --debug the traceback comes first, the same one `error:` line last, exit 1."""
    from conftest import run_crunch

    case = next(c for c in CASES if c.id == case_id)
    ws = _copy(template, tmp_path / "ws")
    case.build(ws)
    proxy.rules = dict(case.rules)
    args = [arg.replace("{fake}", proxy.url) for arg in case.args]
    if "--api-base-url" not in args:
        args = ["--api-base-url", shared_hub.url, *args]
    env = shared_hub.env(PYTHONDONTWRITEBYTECODE="1")
    plain = run_crunch(*args, cwd=ws, env=env)
    debug = run_crunch("--debug", *args, cwd=ws, env=env)
    assert debug.returncode == plain.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "Traceback" not in plain.stderr
    last = [line for line in debug.stderr.splitlines() if line.strip()][-1]
    expected = [line for line in plain.stderr.splitlines() if line.startswith("error:")][0]
    assert last == expected


# -- a damaged cache is fetched again when the hub answers --------------------------------------------


@pytest.mark.parametrize(
    "name, edit",
    [
        ("data_release.json", setting("dataFiles.X_train.size", "12kb")),
        ("checks.json", setting("0.order", "first")),
        ("competition.json", setting("name", {})),
        ("libraries.json", setting("0.name", {})),
        ("round.json", setting("number", "two")),
    ],
)
def test_a_damaged_cache_is_fetched_again_when_the_hub_answers(name: str, edit: Callable[[Any], Any], template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = _copy(template, tmp_path / "ws")
    good = (ws / ".crunchdao" / name).read_text()
    edit_cache(name, edit)(ws)
    env = shared_hub.env(PYTHONDONTWRITEBYTECODE="1")
    result = run_crunch_in(ws, env, "test", "--no-determinism-check")  # the workspace's own hub
    assert result.returncode == 0, result.output
    assert f"the cached {name} is damaged: fetching the metadata again from the hub" in result.stderr
    assert "prediction is valid" in result.stdout
    assert without_links(json.loads((ws / ".crunchdao" / name).read_text())) == without_links(json.loads(good))


def test_a_deeply_nested_cache_is_fetched_again_when_the_hub_answers(template: Path, shared_hub: Hub, tmp_path: Path) -> None:
    ws = _copy(template, tmp_path / "ws")
    good = (ws / ".crunchdao" / "data_release.json").read_text()
    write(".crunchdao/data_release.json", DEEP.decode())(ws)
    result = run_crunch_in(ws, shared_hub.env(PYTHONDONTWRITEBYTECODE="1"), "test", "--no-determinism-check")
    assert result.returncode == 0, result.output
    assert "the cached data_release.json is damaged: fetching the metadata again from the hub" in result.stderr
    assert without_links(json.loads((ws / ".crunchdao" / "data_release.json").read_text())) == without_links(json.loads(good))


def without_links(document: Any) -> Any:
    """A cached document without its signed links (signed anew at each call)."""
    if isinstance(document, dict):
        return {key: without_links(value) for key, value in document.items() if key != "url"}
    if isinstance(document, list):
        return [without_links(value) for value in document]
    return document


def run_crunch_in(cwd: Path, env: Dict[str, str], *args: str) -> Result:
    from conftest import run_crunch

    return run_crunch(*args, cwd=cwd, env=env, timeout=120)
