"""The import rules of `services/`, read from the syntax tree (every import, also those inside functions):

- `services/common/` imports no service (and not the wiring above them);
- a service (`ingest`, `qualifier`, `handoff`) imports no other service and not the wiring: services
  meet through topics and each other's HTTP APIs;
- only the wiring (`services/cli.py`, `services/stack/`) knows every service, and nothing imports it
  but `services/cli.py`;
- no module under `services/` takes part in an import circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("ingest", "qualifier", "handoff")
WIRING = ("services.cli", "services.stack")

# Edges that still break the rule, each with what removes it. The test fails when one disappears too, so
# this list only shrinks. (Empty since issue 15: the qualifier serves its timeline and simulations over HTTP.)
KNOWN_CROSSINGS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted((ROOT / "services").rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The module under services/ that `import name` loads last (a package's __init__ or a file)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> Iterator[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from pkg import sub` loads pkg.sub when it is a module, else a name of pkg
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target.startswith("services") and (resolved := _resolve(target)) and resolved != module:
                yield resolved


GRAPH = {module: set(imports_of(module)) for module in MODULES}


def room(module: str) -> str:
    """common, one service's name, wiring, or the `services` package itself."""
    if any(module == w or module.startswith(w + ".") for w in WIRING):
        return "wiring"
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "services"


def test_the_graph_sees_the_tree() -> None:
    assert "services.common.settings" in GRAPH["services.cli"]
    assert "services.qualifier.worker" in GRAPH["services.stack.commands"]  # a lazy import counts


def test_common_imports_no_service_and_no_wiring() -> None:
    bad = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        if room(module) == "common"
        for target in targets
        if room(target) not in ("common", "services")
    )
    assert not bad, f"services/common/ must know no service: {bad}"


def test_a_service_imports_no_other_service_and_no_wiring() -> None:
    crossings = {
        (module, target)
        for module, targets in GRAPH.items()
        if room(module) in SERVICES
        for target in targets
        if room(target) not in ("common", "services", room(module))
    }
    assert not crossings - KNOWN_CROSSINGS, (
        f"a service imports another: {sorted(crossings - KNOWN_CROSSINGS)}"
    )
    assert not KNOWN_CROSSINGS - crossings, f"gone, drop from KNOWN_CROSSINGS: {KNOWN_CROSSINGS - crossings}"


def test_only_the_cli_imports_the_wiring() -> None:
    bad = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        if room(module) != "wiring"
        for target in targets
        if room(target) == "wiring"
    )
    assert not bad, f"only services/cli.py and services/stack/ may import the wiring: {bad}"


def test_no_import_circles() -> None:
    circles = [sorted(c) for c in strongly_connected(GRAPH) if len(c) > 1]
    assert not circles, f"import circles under services/: {circles}"


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the tree is deep enough to matter for recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [{"a", "b", "c"}]
