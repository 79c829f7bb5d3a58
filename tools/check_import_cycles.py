#!/usr/bin/env python3
"""Find import cycles among clipdesk's modules, counting every import, lazy ones included.

A lazy import (inside a function) hides a cycle from the interpreter until the day the
call order changes; import-linter and Python itself only see module-level imports. So
this reads every ``.py`` file under ``clipdesk/`` with :mod:`ast`, without importing any,
and takes as an edge every import statement wherever it stands: module level, inside
functions and methods, under ``try``, and under ``if TYPE_CHECKING:``.

What counts as an import, and why:

* ``import a.b`` and ``from a.b import c``: an edge to ``a.b.c`` when that is a module,
  else to ``a.b`` (the package's ``__init__``). Relative imports are resolved.
* ``if TYPE_CHECKING:`` imports count too (``--runtime-only`` leaves them out). They never
  run, but a type-only edge that closes a cycle still says two modules each need the
  other; the layering is only a tree if those count.
* Imports by name count: a string constant that is a clipdesk module's full name
  (``importlib.import_module("clipdesk.x")``, a table of lazy names), and an f-string
  ``f"clipdesk.pkg.{name}"``, which counts as importing every module directly in
  ``clipdesk.pkg`` (whatever it names, it names one of those).
* Importing ``a.b.c`` also runs ``a`` and ``a.b``'s ``__init__`` first; those implicit
  edges do not count. Otherwise every package whose ``__init__`` re-exports its
  modules would be a cycle, a pattern Python handles by design.

Usage: ``python tools/check_import_cycles.py [--json] [--runtime-only] [ROOT]``. Exits 1
when there is a cycle and lists, for each, the modules involved and the import lines
that close it.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "clipdesk"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    kind: str  # "module", "lazy" (inside a function), "type" (TYPE_CHECKING), "by name"


@dataclass
class Graph:
    files: list[Path] = field(default_factory=list)
    modules: dict[str, Path] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def cycles(self, *, runtime_only: bool = False) -> list[list[str]]:
        """Every strongly connected component of more than one module, each sorted."""
        succ: dict[str, set[str]] = {m: set() for m in self.modules}
        for edge in self.edges:
            if edge.source != edge.target and not (runtime_only and edge.kind == "type"):
                succ[edge.source].add(edge.target)
        return sorted(sorted(c) for c in _strongly_connected(succ) if len(c) > 1)

    def edges_within(self, component: list[str], *, runtime_only: bool = False) -> list[Edge]:
        members = set(component)
        return sorted(
            (
                e
                for e in self.edges
                if e.source in members
                and e.target in members
                and e.source != e.target
                and not (runtime_only and e.kind == "type")
            ),
            key=lambda e: (e.source, e.line, e.target),
        )


def module_name(root: Path, path: Path) -> str:
    """``clipdesk/core/tags/job.py`` -> ``clipdesk.core.tags.job``; a package's
    ``__init__.py`` is the package itself."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build_graph(root: Path) -> Graph:
    """Parse every ``.py`` file below ``root`` (the ``clipdesk`` folder) into a graph."""
    graph = Graph()
    graph.files = sorted(root.rglob("*.py"))
    for path in graph.files:
        graph.modules[module_name(root, path)] = path
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        found: dict[Edge, None] = {}  # ordered, and one edge per line however many names
        for target, line, kind in _imports(tree, name, is_package):
            resolved = _resolve(target, graph.modules)
            if resolved is not None:
                found[Edge(name, resolved, line, kind)] = None
        for target, line in _imports_by_name(tree, graph.modules):
            found[Edge(name, target, line, "by name")] = None
        graph.edges.extend(found)
    return graph


def _imports(tree: ast.Module, module: str, is_package: bool) -> Iterator[tuple[str, int, str]]:
    """``(imported name, line, kind)`` for every import statement in the tree."""
    package = module if is_package else module.rpartition(".")[0]

    def visit(node: ast.AST, kind: str) -> Iterator[tuple[str, int, str]]:
        for child in ast.iter_child_nodes(node):
            child_kind = kind
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                child_kind = "type" if kind == "type" else "lazy"
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from _statement_imports(stmt, "type")
                    yield from visit(stmt, "type")
                for stmt in child.orelse:
                    yield from _statement_imports(stmt, kind)
                    yield from visit(stmt, kind)
                continue
            yield from _statement_imports(child, child_kind)
            yield from visit(child, child_kind)

    def _statement_imports(node: ast.AST, kind: str) -> Iterator[tuple[str, int, str]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, kind
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            for alias in node.names:
                yield f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno, kind

    yield from visit(tree, "module")


def _absolute(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{module}" if module else base


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is one of our modules (``from a import b``
    names ``a.b``, which is either module ``a.b`` or attribute ``b`` of ``a``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def _imports_by_name(tree: ast.Module, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """Modules named in strings: full names, and f-strings with a package prefix."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in modules and node.value.startswith(f"{PACKAGE}."):
                yield node.value, node.lineno
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if not (isinstance(head, ast.Constant) and isinstance(head.value, str)):
                continue
            prefix = head.value
            if prefix.startswith(f"{PACKAGE}.") and prefix.endswith("."):
                package = prefix[:-1]
                for name in modules:
                    if name.rpartition(".")[0] == package:
                        yield name, node.lineno


def _strongly_connected(succ: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on deep graphs)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(succ):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(succ[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    out.append(component)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, help="the clipdesk package folder")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--runtime-only", action="store_true", help="leave out imports under TYPE_CHECKING"
    )
    args = parser.parse_args(argv)
    root = (args.root or Path(__file__).resolve().parent.parent / PACKAGE).resolve()
    graph = build_graph(root)
    cycles = graph.cycles(runtime_only=args.runtime_only)
    if args.json:
        report = {
            "root": str(root),
            "files": len(graph.files),
            "modules": sorted(graph.modules),
            "edges": len(graph.edges),
            "cycles": cycles,
        }
        print(json.dumps(report, indent=2))
    else:
        print(f"{len(graph.files)} files, {len(graph.modules)} modules, {len(graph.edges)} imports")
        for component in cycles:
            print(f"\ncycle among {len(component)} modules: {', '.join(component)}")
            for e in graph.edges_within(component, runtime_only=args.runtime_only):
                print(f"  {e.source}:{e.line} -> {e.target} ({e.kind})")
        print(f"\n{len(cycles)} import cycle(s)" if cycles else "no import cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
