"""Differential tests against the public crunch-convert.

The peer runs in its own cached virtual environment (``tests/peers.py``); notebooks go to it as JSON on stdin, scripts come back as JSON.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from convert_helpers import code, notebook
from peers import crunch_convert, shared_tool

from crunch.convert import convert_notebook
from crunch.exceptions import ConversionError

ORACLE = r"""
import json, sys
from crunch_convert.notebook import extract_from_cells
out = []
for cells in json.load(sys.stdin):
    try:
        result = extract_from_cells(cells, print=None, validate=True)
        out.append({"script": result.source_code, "modules": {
            r.alias: [r.name, sorted(r.extras), sorted(r.specs)] for r in result.requirements if r.language.name == "PYTHON"}})
    except Exception as error:
        out.append({"error": type(error).__name__})
json.dump(out, sys.stdout)
"""

SIMPLE = [
    "x = 1", "import os", "import a.b as c, d  # == 1.0", "from m import (a,\n    b)", "print('a;b')", "x = 1; import os",
    "import os; x = 1", "s = '''a\n!b\n   %c\n'''", "!pip install x", "%time f()", "pip install x", "a = (1,\n 2)",
    "x = 1 \\\n + 2", "import pandas # == 1.3", "import sklearn # >= 1.2, < 2.0", "import tqdm # [foo, bar]",
    "from requests import Session # == 1.5", "import pyemd # EMD-signal @latest", "import pandas # @ignore",
    "import pandas # tools", "from a import b #, c", 'base = importr("base")', "x: int = 3", "del x", "global g",
    "x = 1 ;  # c", "(x)", "é = 'ü'; import os", "x = 1; \\\n  y = 2", "import x # == 1.0", "import x # == 2.0",
    "import x # ==aaa", "x = 1   ", "print(x)  # @crunch/keep:on",
]
COMPOUND = [
    "def f():\n    return 1", "@dec\n# c\n@dec2\ndef g():\n    pass", "class A:\n    x = 1\n\n    # c",
    "if x:\n    import os\nelse:\n  y = 2", "try:\n    import xgboost\nexcept ImportError:\n    xgboost = None",
    "with a as b:\n    pass", "while x: pass", "if x: y = 1", "async def h():\n    await x",
    "match x:\n    case 1:\n        pass", "if x:\n    pass\nelif y:\n  pass", "for i in x:\n    if y:\n        pass\n    # c",
    "def f():\n    import os\n    !ls", "class B:\n\tdef m(self):\n\t\treturn 1", "if x:\n    pass\n    \n",
    "if a:  # c\n        x = 1\n\n  # mid\n        y = 2\nelse:\n    z = 3\n      # after",
    "match p:\n  case [1, 2]:\n    import x\n  case _:\n    pass\n # odd", "def broken(:\n  pass",
]
if sys.version_info < (3, 10):  # a notebook parses with the Python running crunch: no `match` before 3.10
    COMPOUND = [cell for cell in COMPOUND if not cell.startswith("match ")]
COMMENTS = ["# c", "  # c", "    # c", "", "", "  ", "    ", "# @crunch/keep:on", "# @crunch/keep:off",
            "# @crunch/keep:none", "## @crunch/keep:on #", "\t# t", "        # deep", "#", "  #!x"]


def random_cell(rng: random.Random, index: int):
    parts = []
    for _ in range(rng.randint(1, 7)):
        roll = rng.random()
        parts.append(rng.choice(SIMPLE) if roll < 0.4 else rng.choice(COMPOUND) if roll < 0.6 else rng.choice(COMMENTS))
    source = "\n".join(parts) + ("\n" if rng.random() < 0.5 else "")
    if rng.random() < 0.2:
        lines = source.split("\n")
        return code([line + "\n" for line in lines[:-1]] + [lines[-1]], f"c{index}")
    return code(source, f"c{index}")


def peer_convert(notebooks):
    done = subprocess.run([str(crunch_convert() / "bin" / "python"), "-c", ORACLE], input=json.dumps([nb["cells"] for nb in notebooks]), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def ours(nb):
    try:
        conversion = convert_notebook(nb, whitelist=[], freeze=False)
    except ConversionError:
        return {"error": True}
    return {"script": conversion.script, "modules": {k: [v.name, v.extras, v.specs] for k, v in conversion.modules.items()}}


def test_random_notebooks_match_the_peer_line_for_line():
    rng = random.Random(20240501)
    notebooks = [notebook(*[random_cell(rng, i) for i in range(rng.randint(1, 3))]) for _ in range(400)]
    mismatches = []
    for nb, expected in zip(notebooks, peer_convert(notebooks)):
        got = ours(nb)
        if ("error" in expected) != ("error" in got) or got.get("script") != expected.get("script") or got.get("modules") != expected.get("modules"):
            mismatches.append((json.dumps([c["source"] for c in nb["cells"]]), expected, got))
    assert not mismatches, mismatches[:3]


def test_the_benchmark_notebook_through_both_command_lines(tmp_path):
    subprocess.run([sys.executable, str(shared_tool("make_notebook.py")), "120", "nb.ipynb"], cwd=tmp_path, check=True, capture_output=True)
    peer = subprocess.run([str(crunch_convert() / "bin" / "crunch-convert"), "notebook", "nb.ipynb", "peer.py", "--override"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert peer.returncode == 0, peer.stderr
    crunch = Path(sys.executable).with_name("crunch")
    done = subprocess.run([str(crunch), "convert", "nb.ipynb", "ours.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ours.py").read_text() == (tmp_path / "peer.py").read_text()
