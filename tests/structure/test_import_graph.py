"""The import graph of ``src/atcheck``, read from the source (ast): no cycles, and layers that stay apart.

Every import counts, wherever it stands: at module level, inside a function (a "lazy" import) or under
``TYPE_CHECKING``. A lazy import hides a cycle from the interpreter but not from a reader, and the next
module-level import that closes the loop turns it into an ImportError at startup.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / "atcheck").rglob("*.py"))}


def _imported(name: str, path: Path) -> Iterator[str]:
    """The atcheck modules ``name`` imports: ``from pkg import mod`` is the module when one exists."""
    modules = _modules()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import atcheck.x.y` names a module or its package
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


@cache
def import_graph() -> dict[str, frozenset[str]]:
    return {name: frozenset(_imported(name, path)) for name, path in _modules().items()}


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "atcheck.cli" in graph and "atcheck.errors" in graph["atcheck.targets.manifest"]


def test_the_cycle_finder_finds_a_cycle_through_three_modules() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_module_of_atcheck_imports_itself_back() -> None:
    assert cycles(import_graph()) == []


def test_containers_know_nothing_of_targets() -> None:
    """Images are built and cleaned without knowing what a target is; the container launcher uses them."""
    reaching = sorted(
        f"{name} -> {dep}"
        for name, deps in import_graph().items()
        if name.startswith("atcheck.containers")
        for dep in deps
        if dep.startswith("atcheck.targets")
    )
    assert reaching == []
