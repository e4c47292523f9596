"""The package's layout, read from its sources: the root of ``crunch/`` holds only its faces,
every import goes down the layers, and no modules import each other in a circle (imports made
inside functions count too; those under ``if TYPE_CHECKING:`` do not, they never run)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parent.parent / "crunch"

#: The modules at the root of crunch/: the CLI, the exception base, the version, and the import
#: paths that competition code and notebooks use.
FACES = {"__init__", "__main__", "__version__", "cli", "exceptions", "utils", "container", "custom", "monkey_patches"}

#: Each package, lowest first; a package imports only from packages below it (or its own).
#: The faces that import nothing of crunch (utils, container, external) stand with the ground.
LAYERS: List[Set[str]] = [
    {"crunch.exceptions", "crunch.__version__", "crunch.core", "crunch.utils", "crunch.container", "crunch.external"},
    {"crunch.api"},
    {"crunch.project"},
    {"crunch.transfer"},
    {"crunch.convert"},
    {"crunch.code"},
    {"crunch.data"},
    {"crunch.unstructured", "crunch.monkey_patches", "crunch.custom"},
    {"crunch.runner", "crunch.organizer"},
    {"crunch.submission", "crunch.doctor"},
    {"crunch.jobs"},
    {"crunch.hub"},
    {"crunch.commands"},
    {"crunch.notebook", "crunch", "crunch.cli", "crunch.__main__"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(tree: ast.AST) -> Set[int]:
    """Line numbers of the imports under ``if TYPE_CHECKING:``."""
    lines: Set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        lines.add(sub.lineno)
    return lines


def import_graph() -> Dict[str, Set[str]]:
    # competition code shipped as data (crunch/hub/competitions/<name>/...) is not a module of ours
    files = {module_name(path): path for path in PACKAGE.rglob("*.py") if "-" not in module_name(path)}
    graph: Dict[str, Set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        targets: Set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1] if node.level > 1 else base
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:  # `from package import module` imports the module
                    targets.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {target for target in targets if target in files and target != name}
    return graph


def layer_of(module: str) -> int:
    for depth in range(module.count(".") + 1, 0, -1):
        prefix = ".".join(module.split(".")[:depth])
        for index, layer in enumerate(LAYERS):
            if prefix in layer:
                return index
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS")


def test_the_root_holds_only_the_faces():
    loose = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem not in FACES)
    assert loose == [], f"modules at the root of crunch/ that are not faces: {loose}: move each into the package of its job"


def test_every_import_goes_down():
    upward = []
    for module, targets in import_graph().items():
        for target in targets:
            if target.startswith(module + "."):  # a package's __init__ reaching its own modules
                continue
            if layer_of(target) > layer_of(module):
                upward.append(f"{module} -> {target}")
    assert sorted(upward) == []


def test_no_modules_import_each_other_in_a_circle():
    # the notebook's tools stand for the package itself (``crunch.load_notebook().is_inside_runner``
    # is ``crunch.is_inside_runner``): its reads of the package root are not a circle of layers
    graph = {module: targets - {"crunch"} if module == "crunch.notebook" else targets for module, targets in import_graph().items()}
    circles = []
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []
