"""An import-linter contract type: no import circle among the modules of some packages, whichever packages the
modules of a circle are in (import-linter's own acyclic_siblings compares sibling packages, not modules across
packages). Imports inside functions count too: grimp sees them.

Used in pyproject.toml:

    [tool.importlinter]
    contract_types = ["acyclic: tests.support.acyclic.AcyclicModulesContract"]
    [[tool.importlinter.contracts]]
    type = "acyclic"
    packages = ["halab", "graders", "solutions"]
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def circles(graph: ImportGraph, packages: set[str]) -> list[list[str]]:
    """Every strongly connected set of two or more modules (Tarjan's algorithm), each as one circle of imports
    through it, modules in import order."""
    modules = sorted(m for m in graph.modules if m.split(".")[0] in packages)
    inside = set(modules)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in inside) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: a long import chain must not hit Python's recursion limit
        work = [(start, 0)]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            module, next_edge = work.pop()
            if next_edge < len(edges[module]):
                work.append((module, next_edge + 1))
                target = edges[module][next_edge]
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, 0))
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(_one_circle(sorted(component), edges))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def _one_circle(component: list[str], edges: dict[str, list[str]]) -> list[str]:
    """A shortest circle through the component's first module, to show (the component may hold several)."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        module = queue.pop(0)
        for target in edges[module]:
            if target == start:
                return paths[module]
            if target in members and target not in paths:
                paths[target] = [*paths[module], target]
                queue.append(target)
    return component


class AcyclicModulesContract(Contract):
    """Kept when no module of ``packages`` reaches itself through imports."""

    type_name = "acyclic"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        found = circles(graph, set(self.packages))  # type: ignore[arg-type]
        return ContractCheck(kept=not found, metadata={"circles": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for circle in check.metadata["circles"]:
            output.print_error(" -> ".join([*circle, circle[0]]))
            output.new_line()
