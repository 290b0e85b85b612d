"""Guided lab steps: the commands a notebook gives for a lab task, in the student's own values.

A notebook gives the commands of a guided step in a code cell that calls ``lab_steps`` (the widget,
halab/course/widgets/steps.py) with literal arguments::

    lab_steps("clustering", "node1", '''
    corosync-keygen
    scp /etc/corosync/authkey {node2}:/etc/corosync/
    ''', task="authkey", expect="Corosync Cluster Engine Authentication key generator. ...")

The call itself is the mark: no cell metadata to keep in sync with it. The walk-through test
(tests/integration/walkthrough.py) reads the notebook's cells in order, finds these calls with ``ast`` (so
every argument must be a literal: a string, a tuple or list of strings, True/False), renders their templates
with the values of the live lab and runs them on its nodes. So a notebook whose commands stop reaching full
marks fails its test, and a student sees exactly the commands that the test ran, in their own values.

Templates use ``{name}`` placeholders, filled in by ``render`` from ``lab_values``; a ``{word}`` that is not a
known value is left as it is, and shell's ``${var}`` and config braces such as ``totem {`` are never
placeholders; a misspelt placeholder shows up in the rendered text (and fails the course test that renders
every step).

This module is pure (no lab, no widgets): the widget and the test both use it.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.spec.kinds import flat_settings

STEP_FUNCTION = "lab_steps"
PLACEHOLDER = re.compile(r"(?<!\$)\{(\w+)\}")  # ${var} is the shell's, never a placeholder
HOST = "host"  # ``on="host"``: a terminal of the machine that runs halab, not a node
ALL = "all"  # ``on="all"``: every cluster member of the lab, one after the other


@dataclass(frozen=True)
class Step:
    """One guided step as the notebook gives it (templates not yet rendered)."""

    labs: tuple[str, ...]  # the labs the step is for (the widget offers a choice when there are several)
    on: tuple[str, ...]  # node names, or ("host",), or ("all",)
    commands: str  # a shell script template, run with bash -e on each node in turn
    task: str = ""  # the lab task the step works towards ("" for steps that only look)
    expect: str = ""  # what the output should look like (shown beside the commands; a template)
    until: str = ""  # a shell condition to wait for after the commands (the walk-through polls it)
    demo: bool = False  # a demonstration the walk-through does not run (breaks and restores, or only watches)
    title: str = ""
    cell: int = 0  # the cell's index in the notebook, for messages


def lab_values(spec: Any, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The values a template may use, from a lab spec (the student's own: their slot's, halab/access.py):

    - every plain setting of the lab: ``{cluster_name}``, ``{floating_ip}``, ...; a table's under its path
      (``{sites_a_db_ip}``, ``{database_user}``);
    - ``{lab}``: the lab's name as the student types it (``halab check {lab}``);
    - ``{nodes}``: the cluster members, space-separated; ``{first_node}``, ``{other_nodes}`` (the rest);
    - for each node: ``{node1}`` (its name, for symmetry) and ``{node1_addr}`` (its address on the lab's
      management network), ``{node1_<network>}`` (its address on that network);
    - for each network: ``{<network>_prefix}`` (prefix length, 24) and ``{<network>_subnet}``;
    - ``{prefix}``: the management network's prefix length; ``{host_addr}``: the host's address on it (where the
      lab's power switch for fence_halab listens);
    - anything in ``extra`` (values a lab gives besides its spec, such as a hacluster password);
    - every name with a hyphen also with "_" instead (``{a1_site_a}``, ``{site_a_subnet}``).
    """
    values = flat_settings(spec.settings)
    values["lab"] = Path(spec.path).stem if getattr(spec, "path", None) else spec.name
    members = list(spec.member_names)
    values["nodes"] = " ".join(members)
    values["first_node"] = members[0] if members else ""
    values["other_nodes"] = " ".join(members[1:])
    management = spec.management_network.name
    for net in spec.networks:
        values[f"{net.name}_prefix"] = str(net.subnet.prefixlen)
        values[f"{net.name}_subnet"] = str(net.subnet)
    values["prefix"] = values[f"{management}_prefix"]
    values["host_addr"] = str(spec.management_network.host_address)  # the lab's power switch listens there
    for node in spec.nodes:
        values[node.name] = node.name
        for net, address in node.addresses.items():
            values[f"{node.name}_{net}"] = str(address)
        if management in node.addresses:
            values[f"{node.name}_addr"] = str(node.addresses[management])
    for key, value in (extra or {}).items():
        values[key] = str(value)
    # A placeholder is one word: a network's or a setting's name with a hyphen is also given with "_" (site-a).
    values.update({key.replace("-", "_"): value for key, value in values.items() if "-" in key})
    return values


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every known ``{name}`` filled in; unknown ones are left as written."""
    return PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


def unknown_placeholders(template: str, values: Mapping[str, str]) -> list[str]:
    """Placeholders a template uses that the values do not have (a typo in a notebook, or a value missing)."""
    return sorted({m[1] for m in PLACEHOLDER.finditer(template)} - set(values))


def dedent_commands(text: str) -> str:
    """A template written as an indented triple-quoted string in a cell, as the student should see it."""
    import textwrap

    return textwrap.dedent(text).strip("\n")


def targets(on: str | Sequence[str]) -> tuple[str, ...]:
    return (on,) if isinstance(on, str) else tuple(on)


def labs_of(lab: str | Sequence[str]) -> tuple[str, ...]:
    return (lab,) if isinstance(lab, str) else tuple(lab)


def nodes_for(step: Step, spec: Any) -> list[str]:
    """The nodes a step runs on in this lab: ``all`` is every member; names the lab does not have are an error
    naming the cell."""
    if step.on == (ALL,):
        return list(spec.member_names)
    unknown = [n for n in step.on if n != HOST and n not in spec.node_names]
    if unknown:
        raise HalabError(f"cell {step.cell}: lab '{spec.name}' has no node {', '.join(unknown)} "
                         f"(its nodes: {', '.join(spec.node_names)})")
    return list(step.on)


# -- reading the steps out of a notebook ------------------------------------------------------------------
_KEYWORDS = ("task", "expect", "until", "demo", "title")


def _literal(node: ast.expr, cell: int) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError as exc:
        raise HalabError(f"cell {cell}: every argument of {STEP_FUNCTION}() must be a literal (a string, a "
                         f"tuple of strings, True or False), so that the walk-through can read it: "
                         f"{ast.unparse(node)}") from exc


def steps_in_cell(source: str, cell: int) -> list[Step]:
    """The lab_steps() calls of one code cell, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # not Python (a magic, or a student's half-typed cell): no guided step in it
    steps: list[tuple[int, Step]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == STEP_FUNCTION):
            continue
        args = [_literal(a, cell) for a in node.args]
        if len(args) != 3:
            raise HalabError(f"cell {cell}: {STEP_FUNCTION}(lab, on, commands, ...) takes three positional "
                             f"arguments, this call has {len(args)}")
        kwargs = {k.arg: _literal(k.value, cell) for k in node.keywords if k.arg}
        unknown = set(kwargs) - set(_KEYWORDS)
        if unknown:
            raise HalabError(f"cell {cell}: {STEP_FUNCTION}() has no argument {', '.join(sorted(unknown))} "
                             f"(it has: {', '.join(_KEYWORDS)})")
        steps.append((node.lineno, Step(
            labs_of(args[0]), targets(args[1]), dedent_commands(args[2]), task=kwargs.get("task", ""),
            expect=dedent_commands(kwargs.get("expect", "")), until=kwargs.get("until", ""),
            demo=bool(kwargs.get("demo", False)), title=kwargs.get("title", ""), cell=cell)))
    return [step for _, step in sorted(steps, key=lambda pair: pair[0])]


def notebook_steps(path: Path, lab: str | None = None) -> list[Step]:
    """Every guided step of a notebook in cell order; with ``lab``, only those for that lab."""
    try:
        cells = json.loads(Path(path).read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HalabError(f"cannot read the cells of notebook {path}: {exc}") from exc
    steps = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if STEP_FUNCTION in source:
            steps += [s for s in steps_in_cell(source, index) if lab is None or lab in s.labs]
    return steps
