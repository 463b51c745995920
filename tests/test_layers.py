"""The package's layers: no import cycle (function-level imports included), no library module imports the CLI."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGE = ROOT / "embedeval"


def _module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):  # every import, at any depth
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("embedeval"):
                targets = [f"{node.module}.{a.name}" for a in node.names]
                graph[name] |= {t if t in modules else node.module for t in targets} & set(modules)
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules}
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
