"""The package's shape: no import cycle between its parts, the simulators and the demo reached only from the
front ends, and a README layout that names every part.

Every `import` and `from ... import` in xcal is read with `ast`, at module level and inside functions (a
function-level import is still a dependency, only a later one), typing-only imports included, relative
imports resolved. A part is a subpackage (`xcal.procedures`) or a top-level module (`xcal.site`); imports
within one part are not edges. `xcal/__init__.py` is left out: it only re-exports the API on first use, and
`from xcal import __version__` is no dependency on the API.

Rules, from the design's one-way dependencies:
- The graph of parts has no cycle (each strongly connected component is reported with the imports that
  make it, file and line).
- `xcal.demo` (the built-in simulated site and its wiring) is imported only by the front ends: `xcal.cli`,
  `xcal.web`, `xcal.pytest_plugin` and `xcal.api` (the Python front end of acceptance scripts and of the
  pytest plugin, which hands the simulated-room factory in to a run as the command line does).
- `xcal.simulators` is imported only by those front ends and by `xcal.demo`, which wires simulators to rooms.
  The rest of the library, drivers first, never imports either: the simulated room is handed in.
"""

from __future__ import annotations

import ast
import functools
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "xcal"
FRONT_ENDS = frozenset({"xcal.cli", "xcal.web", "xcal.pytest_plugin", "xcal.api"})
ALLOWED_IMPORTERS = {"xcal.demo": FRONT_ENDS, "xcal.simulators": FRONT_ENDS | {"xcal.demo"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The xcal modules an import statement names (for `from P import N`, P.N when N is a module, else P)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[:len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name if _is_module(name) else base for name in names]


@functools.cache
def imports() -> list[tuple[str, str, str, int]]:
    """(importing module, imported xcal module, file, line) for every import statement in the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _imported(node, module, path.name == "__init__.py"):
                    if target.startswith("xcal."):
                        found.append((module, target, str(path.relative_to(ROOT)), node.lineno))
    return found


def part(module: str) -> str:
    """`xcal.procedures.loader` -> `xcal.procedures`; `xcal.site` -> `xcal.site`; the root package -> `xcal`."""
    return ".".join(module.split(".")[:2])


def part_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], list[str]]]:
    """Edges between parts, and for each edge the import statements (`file:line a -> b`) that make it."""
    graph: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], list[str]] = defaultdict(list)
    for source, target, file, line in imports():
        a, b = part(source), part(target)
        if a == b or "xcal" in (a, b):
            continue
        graph[a].add(b)
        statement = f"{file}:{line} {source} -> {target}"
        if statement not in why[a, b]:
            why[a, b].append(statement)
    return graph, why


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of the graph, those of more than one node, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

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
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
        if node not in index:
            visit(node)
    return components


def test_tarjan_finds_a_cycle_and_only_the_cycle():
    # a -> b -> c -> a is one component; d hangs off it and e -> f is a chain: neither is in a cycle.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "e": {"f"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_imports_are_resolved_relative_and_inside_functions():
    # The walker must see the function-level, relative import that session.py once used to reach the demo.
    source = "def f():\n    from ..demo.wiring import simulated_room\n"
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom))
    assert _imported(node, "xcal.procedures.session", False) == ["xcal.demo.wiring"]
    package_level = next(n for n in ast.walk(ast.parse("from . import units\n")) if isinstance(n, ast.ImportFrom))
    assert _imported(package_level, "xcal", True) == ["xcal.units"]


def test_no_import_cycle_between_the_parts_of_the_package():
    graph, why = part_graph()
    cycles = strongly_connected(graph)
    report = []
    for members in cycles:
        report.append(" <-> ".join(members))
        report += [f"    {line}" for a in members for b in sorted(graph[a] & set(members)) for line in why[a, b]]
    assert not cycles, "import cycles between parts of xcal:\n" + "\n".join(report)


def test_only_the_front_ends_import_the_demo_and_the_simulators():
    wrong = [f"{file}:{line} {source} imports {target}" for source, target, file, line in imports()
             for guarded, allowed in ALLOWED_IMPORTERS.items()
             if part(target) == guarded and part(source) not in allowed | {guarded}]
    assert not wrong, "the library reaches the demo or the simulators (hand them in instead):\n" + "\n".join(wrong)


def _layout_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert found, "README.md has no `## Layout` section"
    return found.group(1)


def test_the_readme_layout_names_every_top_level_module_and_package():
    layout = _layout_section()
    parts = sorted(p.name for p in PACKAGE.iterdir()
                   if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file())
    missing = [name for name in parts
               if not re.search(rf"xcal/{re.escape(name)}{'' if name.endswith('.py') else '/'}", layout)]
    assert not missing, f"README.md's Layout section does not name: {', '.join(missing)}"
