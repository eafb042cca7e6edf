"""The import graph of app/, reports/ and ledger/, read with `ast` (every import, also
inside functions; `TYPE_CHECKING` blocks apart, they never run): no cycles, `ledger`
imports only beancount and the standard library, and `app` and `reports` take every
ledger name from `ledger/__init__.py`, never from a ledger module (docs/architecture.md).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "ledger", "reports")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], bool, int]]:
    """(module, names, at module level, line) for each import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    top = {id(n) for n in tree.body}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, [], id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            out.append((module, [a.name for a in node.names], id(node) in top, node.lineno))
    return out


def _own(module: str) -> str | None:
    """The module of ours that `module` names (or its nearest package), if any."""
    while module and module not in MODULES:
        module = module.rpartition(".")[0]
    return module or None


def _graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports. A package's `__init__` importing its own
    sub-modules inside a function (an app factory registering its blueprints when the app
    is made) is left out: it runs after both are loaded, and is how Flask apps are built."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        deps = set()
        for module, names, at_top, _line in _imports(name, path):
            for target in [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] \
                    or [_own(module)]:
                if target is None or target == name:
                    continue
                if path.name == "__init__.py" and not at_top \
                        and target.startswith(name + "."):
                    continue
                deps.add(target)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected


def test_no_import_cycles():
    graph = _graph()
    assert "app.workflow.sessions" in graph["app.workflow.people"] or \
        "app.workflow.people" in graph["app.workflow.sessions"]  # the graph sees inside functions
    assert _cycles(graph) == []


def test_ledger_imports_only_beancount_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"beancount", "ledger", "__future__"}
    bad = [f"{path.relative_to(ROOT)}:{line} {module}"
           for name, path in MODULES.items() if name.split(".")[0] == "ledger"
           for module, _names, _top, line in _imports(name, path)
           if module.split(".")[0] not in allowed]
    assert bad == []


def test_app_and_reports_take_ledger_names_from_its_front_door():
    import ledger

    bad = []
    for name, path in MODULES.items():
        if name.split(".")[0] == "ledger":
            continue
        for module, names, _top, line in _imports(name, path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module.startswith("ledger."):
                bad.append(f"{where} imports {module}")
            elif module == "ledger":
                bad += [f"{where} imports {n}, not in ledger.__all__" for n in names
                        if n not in ledger.__all__]
    assert bad == []
