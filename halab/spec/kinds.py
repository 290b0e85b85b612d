"""Lab kinds: the contract every kind of lab fulfils, and the registry the kinds register in.

The contract lives here, under the spec loader that needs it, and the kinds are plugins above it (as
containerlab keeps its node contract in nodes/node.go and the kinds in nodes/<kind>/): nothing here imports a
kind; the registry finds the packages under graders/ when a kind is first asked for.

A kind is one package, ``graders/<kind>/``, whose ``__init__.py`` calls ``register(Kind(...))``: the settings a
lab of that kind must (or may) define, the task ids its graders know, the commands it runs on each node, its
checks (pure, ``graders/<kind>/checks.py``), its fault checks and kind-specific faults (live,
``graders/<kind>/faults.py``, named here by ``"module:function"`` so that the pure grading core never imports
them), and its reference solution (``solutions/<kind>.py``). A kind that is a variation of another derives
from it and overrides only what differs (``clustering.KIND.derive("drbd", ...)``).

Nothing else in halab knows the kinds: the spec loader asks the registry which settings, tasks and checks a
kind knows and puts the kind in the spec (``LabSpec.kind_def``), where the grader finds its commands and
checks, `halab solve` its solution and `halab fault` its extra faults. Adding a kind adds files; it changes
none that other kinds share.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from halab.errors import HalabError

KINDS_PACKAGE = "graders"  # every sub-package of it is a kind, except the shared parts below
_NOT_KINDS = {"collectors"}
_SETTING_NAME = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class CheckDef:
    """A check: a pure function from a lab's facts to a verdict (graders/checks.py: ``function(LabFacts) ->
    Verdict``; typed loosely here, where the facts' parsers are not known)."""

    id: str
    title: str
    hint: str  # shown when the check fails and the verdict has no more specific hint
    function: Callable[[Any], Any]


@dataclass(frozen=True)
class FaultDef:
    """A fault check: breaks the live lab on purpose, measures the recovery, restores the lab."""

    id: str
    title: str
    hint: str
    requires: tuple[str, ...]  # checks that must pass first; a fault check on a broken lab proves nothing
    run: str  # "module:function", called as function(lab, facts, progress) -> FaultOutcome

    def function(self) -> Callable[..., Any]:
        return _resolve(self.run)


@dataclass(frozen=True)
class Injection:
    """A fault `halab fault LAB NAME NODE` can inject into labs of this kind only (e.g. a DRBD split brain)."""

    name: str
    help: str  # one line, for `halab fault --help`
    run: str  # "module:function", called as function(lab, node) -> the sentence `halab fault` prints
    # "module:function", called by `halab fault LAB restore NODE` as function(lab, node, record) -> what it did, for
    # each record the fault left (halab.runtime.faults.record); "" for a fault restore leaves alone (a split brain).
    undo: str = ""
    # "module:function", called by restore as function(lab, node) -> a sentence on what of the fault is left for
    # the student to undo (a split brain: resolving it is the lab's task), or None when nothing is (the function
    # then forgets the fault's record); "" for a fault that leaves nothing to the student.
    remains: str = ""

    def function(self) -> Callable[..., str]:
        return _resolve(self.run)

    def undo_function(self) -> Callable[..., str]:
        return _resolve(self.undo)

    def remains_function(self) -> Callable[..., str | None]:
        return _resolve(self.remains)


def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Kind:
    name: str
    settings: tuple[str, ...] = ()  # every lab of this kind sets these in [settings]
    optional_settings: tuple[str, ...] = ()  # and may set these
    tasks: tuple[str, ...] = ()  # task ids its graders, notebooks and solution know
    roles: tuple[str, ...] = ("node",)  # node roles its labs may have; "node" is a cluster member
    commands: Mapping[str, str] = field(default_factory=_empty)  # key -> command; {setting} filled in
    # Commands for nodes of other roles (a client has no cluster stack to ask); nodes of a role that is
    # not here and is not "node" are only checked for reachability.
    role_commands: Mapping[str, Mapping[str, str]] = field(default_factory=_empty)
    checks: Mapping[str, CheckDef] = field(default_factory=_empty)
    faults: Mapping[str, FaultDef] = field(default_factory=_empty)
    injections: Mapping[str, Injection] = field(default_factory=_empty)
    probes: Mapping[str, str] = field(default_factory=_empty)  # name -> URL the host fetches; {setting} filled in
    # Facts that are not command output (libvirt's state read with libvirt-python): name -> "module:function",
    # called as function(lab) on the live side; what it returns (JSON) is saved as raw[name] for the checks.
    collectors: Mapping[str, str] = field(default_factory=_empty)
    # "module:function", called as function(lab, progress) by `halab up` once the nodes answer: what the lab
    # gives the student besides its nodes (a guest disk on the shared storage).
    setup: str = ""
    evidence_records: tuple[str, ...] = ()  # lab-state records (written by injections) kept in the evidence
    solution: str = ""  # module with solve(lab, progress); default solutions.<name>
    # "module:NAME" of the kind's break-fix scenarios (graders/scenario.py: a list of Scenario), for `halab
    # break`; "" for a kind that has none yet.
    scenarios: str = ""
    # Whether `halab fault LAB restore NODE` starts the cluster daemons that ran before the node's power was cut.
    # False where the lab teaches that the cluster stays off at boot until the node was looked at (dr: PAF refuses
    # a crashed primary, so the runbook rebuilds first): restore then powers the node on, and what starts is what
    # the node starts at boot, as after a real power failure.
    restore_starts_daemons: bool = True

    def __post_init__(self) -> None:
        if not self.solution:
            object.__setattr__(self, "solution", f"solutions.{self.name}")

    def derive(self, name: str, **changes: Any) -> Kind:
        """A kind like this one, with ``changes`` in place of this one's values (the solution is the new
        kind's own unless given)."""
        # Scenarios are the kind's own: they break and repair what its solution built, which a derived kind changes.
        return replace(self, name=name, solution=changes.pop("solution", f"solutions.{name}"),
                       scenarios=changes.pop("scenarios", ""), **changes)

    @property
    def all_settings(self) -> tuple[str, ...]:
        return self.settings + self.optional_settings

    def collector_functions(self) -> dict[str, Callable[..., Any]]:
        return {name: _resolve(reference) for name, reference in self.collectors.items()}

    def scenario_list(self) -> list[Any]:
        """The kind's break-fix scenarios (graders/scenario.py Scenario), in their fixed order."""
        if not self.scenarios:
            return []
        module, _, name = self.scenarios.partition(":")
        return list(getattr(importlib.import_module(module), name))

    def setup_function(self) -> Callable[..., None] | None:
        return _resolve(self.setup) if self.setup else None

    def commands_for(self, settings: Mapping[str, Any], role: str = "node") -> dict[str, str]:
        """The commands run on a node of ``role``, with the lab's settings filled in."""
        commands = self.commands if role == "node" else self.role_commands.get(role, {})
        return {key: command.format_map(_Settings(settings)) for key, command in commands.items()}

    def probes_for(self, settings: Mapping[str, Any]) -> dict[str, str]:
        return {key: url.format_map(_Settings(settings)) for key, url in self.probes.items()}

    @staticmethod
    def describe(text: str, settings: Mapping[str, Any]) -> str:
        """A check's title or hint with the lab's settings filled in: ``{name}`` of a setting, and nothing
        else (hints quote config syntax such as ``quorum { two_node: 1 }``). A table's plain values are
        named by their path (``{database_name}``, as in the notebooks' steps); a table itself reads as its
        values ("30 (nspawn) / 90 (tcg)"), never as a Python dict."""
        values = flat_settings(settings)
        values.update({key: ", ".join(map(str, value)) for key, value in settings.items()
                       if isinstance(value, list | tuple) and all(_plain(v) for v in value)})
        return _SETTING_NAME.sub(lambda m: values.get(m[1], m[0]), text)


def flat_settings(settings: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Settings as text under the names a template uses: a plain value as it is; a table's plain values also
    under its path joined by "_" (``{sites_a_db_ip}``, ``{database_name}``), and the table itself as its plain
    values with their keys ("halab (name) / halab (user)"; a per-runtime value "30 (nspawn) / 90 (tcg)")."""
    values: dict[str, str] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            nested = flat_settings(value, f"{prefix}{key}_")
            values.update(nested)
            plain = [f"{v} ({k})" for k, v in value.items() if _plain(v)]
            if plain:
                values[f"{prefix}{key}"] = " / ".join(plain)
        elif _plain(value):
            values[f"{prefix}{key}"] = str(value)
    return values


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class _Settings(dict):
    """format_map() source that leaves an unknown {name} as it is instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Called once, by the kind's package."""
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"lab kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def _kind_packages() -> list[str]:
    # Found at run time, never imported by name: the kinds stand on this module, not the other way round.
    package = importlib.import_module(KINDS_PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg and m.name not in _NOT_KINDS)


def known_kinds() -> list[str]:
    for name in _kind_packages():
        get_kind(name)
    return sorted(_KINDS)


def get_kind(name: str) -> Kind:
    if name not in _KINDS and name in _kind_packages():
        importlib.import_module(f"{KINDS_PACKAGE}.{name}")
    if name not in _KINDS:
        raise HalabError(f"unknown lab kind {name!r} (known: {', '.join(_kind_packages())})")
    return _KINDS[name]


def _resolve(reference: str) -> Callable[..., Any]:
    module, _, function = reference.partition(":")
    return getattr(importlib.import_module(module), function)
