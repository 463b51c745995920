"""The package's layers: no import cycle (function-level imports included), no library module imports the CLI."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

PACKAGE = ROOT / "embedeval"
REGISTRY_TARGET = re.compile(r"^embedeval(\.\w+)+:\w+$")


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(strings: bool = False) -> dict[str, set[str]]:
    """Every module's imports (at any depth); with ``strings``, also the modules its registry entries name as
    "module:name" (a registry names what imports it back: those count for layers, not for cycles)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):  # every import, at any depth
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embedeval"):
                targets = [f"{node.module}.{a.name}" for a in node.names]
                graph[name] |= {t if t in modules else node.module for t in targets} & set(modules)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules}
            elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and REGISTRY_TARGET.match(node.value):  # fmt: skip
                # a registry entry ("module:name", imported on first use) depends on its module as an import does
                graph[name] |= ({node.value.partition(":")[0]} & set(modules)) - {name}
    return graph


def test_no_import_cycles():
    graph = import_graph()
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_library_modules_import_neither_the_cli_nor_click():
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        if name.startswith("embedeval.cli") or name in ("embedeval.__main__",):
            continue
        source = path.read_text()
        assert "import click" not in source and "from embedeval.cli" not in source, name


# lowest first: a module may import its own layer and the ones below it, never one above (function-level imports
# count too: a lazy import up a layer is still a dependency up a layer)
LAYERS = [
    (
        "embedeval.version",
        "embedeval.errors",
        "embedeval.layout",
        "embedeval.ranges",
        "embedeval.lazy",
        "embedeval.files",
        "embedeval.plugins",
    ),
    ("embedeval.data",),
    ("embedeval.embeddings", "embedeval.rundir"),
    ("embedeval.evaluate",),
    ("embedeval.train", "embedeval.trainers"),  # the registry names train/ objects: it lives on their floor
    ("embedeval.dynamics", "embedeval.testing"),  # the check suite tracks a pair too
    (
        "embedeval.report",
        "embedeval.reproduce",
        "embedeval.examples",
        "embedeval.api",
        "embedeval.pipeline",
        "embedeval.tasks",
    ),
    ("embedeval", "embedeval.cli", "embedeval.__main__"),
]


def layer_of(module: str) -> int:
    """The layer of the longest prefix that names ``module`` (``embedeval`` itself is the top)."""
    found = [(len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
             if module == prefix or module.startswith(prefix + ".")]  # fmt: skip
    assert found, f"{module} is in no layer: add it to LAYERS"
    return max(found)[1]


def test_no_module_imports_a_layer_above_its_own():
    up = [f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
          for m, targets in sorted(import_graph(strings=True).items()) for t in sorted(targets)
          if layer_of(t) > layer_of(m)]  # fmt: skip
    assert not up, "imports up a layer:\n" + "\n".join(up)


def test_no_module_imports_a_private_name_of_another_package():
    """``from embedeval.x import _name`` across packages couples two layers through a name neither promised."""
    crossing = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embedeval"):
                other = node.module if node.module != "embedeval" else "embedeval"
                other_package = other.rsplit(".", 1)[0] if other.count(".") > 1 else other
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") and other_package != package:
                        crossing.append(f"{name}: from {node.module} import {alias.name}")
    assert not crossing, "private names imported across packages:\n" + "\n".join(sorted(crossing))
