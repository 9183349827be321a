"""Import layers: monitoring has no import cycle.

Every import in ``atom/`` counts, those inside functions too (a lazy import is still a
dependency: it only hides the cycle from the interpreter); imports under ``if TYPE_CHECKING:``
do not (they never run). Two of the modules below that can reach each other through imports,
directly or through any other module, are a cycle: the test prints it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "atom"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node``, at any depth, except in TYPE_CHECKING blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append(child)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:  # the else branch does run
                is_import = isinstance(other, (ast.Import, ast.ImportFrom))
                found += [other] if is_import else _imports(other)
        else:
            found += _imports(child)
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """The modules of ``atom`` that module ``name`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            parts = parts[:len(parts) - node.level + 1]
            base = ".".join(parts + ([node.module] if node.module else []))
        out.add(base)
        for alias in node.names:  # `from atom.monitoring import alerts` imports a module
            if f"{base}.{alias.name}" in MODULES:
                out.add(f"{base}.{alias.name}")
    return {m for m in out if m in MODULES and m != name}


def graph() -> dict[str, set[str]]:
    return {name: imports_of(name, path) for name, path in MODULES.items()}


def _path(g: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A shortest import chain from ``start`` to ``goal``."""
    before: dict[str, str | None] = {start: None}
    todo = [start]
    while todo:
        nxt = []
        for node in todo:
            for other in sorted(g[node]):
                if other == goal:
                    chain = [goal, node]
                    while before[chain[-1]] is not None:
                        chain.append(before[chain[-1]])  # type: ignore[arg-type]
                    return chain[::-1]
                if other not in before:
                    before[other] = node
                    nxt.append(other)
        todo = nxt
    return None


def cycles_among(g: dict[str, set[str]], members: set[str]) -> list[list[str]]:
    """One import cycle for each pair of ``members`` that reach each other (shortest)."""
    out = []
    for a in sorted(members):
        for b in sorted(members):
            if a < b:
                there, back = _path(g, a, b), _path(g, b, a)
                if there and back:
                    out.append(there + back[1:])
    return out


def layer(g: dict[str, set[str]]) -> set[str]:
    return {m for m in g if m.startswith("atom.monitoring.")} | \
        {"atom.intelligence.workflow_health"}


def test_the_parser_sees_lazy_imports_and_skips_type_checking(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from atom.monitoring import alerts\n"
        "if TYPE_CHECKING:\n"
        "    from atom.monitoring.metrics import Snapshot\n"
        "def f():\n"
        "    from atom.monitoring.monitor import get_monitor\n"
        "    from . import incidents\n")
    found = imports_of("atom.monitoring.mod", source)
    assert found == {"atom.monitoring", "atom.monitoring.alerts", "atom.monitoring.monitor",
                     "atom.monitoring.incidents"}


def test_cycles_among_finds_a_cycle_through_another_module() -> None:
    g = {"a": {"x"}, "x": {"b"}, "b": {"a"}, "c": {"a"}}
    assert cycles_among(g, {"a", "b", "c"}) == [["a", "x", "b", "a"]]
    assert cycles_among({"a": {"b"}, "b": set()}, {"a", "b"}) == []


def test_monitoring_has_no_import_cycle() -> None:
    g = graph()
    members = layer(g)
    assert {"atom.monitoring.alerts", "atom.monitoring.monitor"} <= members
    found = cycles_among(g, members)
    if found:
        pytest.fail("import cycles among atom.monitoring.* and workflow_health "
                    "(function-level imports count):\n" +
                    "\n".join(" -> ".join(c) for c in found))
