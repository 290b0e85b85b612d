"""Break-fix scenarios: a realistic way a solved lab goes wrong, the check that its cause (not its symptom) was
fixed, and its documented repair (issue 24).

A lab kind lists its scenarios in ``graders/<kind>/scenarios.py`` and names the list in its Kind
(``scenarios="graders.<kind>.scenarios:SCENARIOS"``). A scenario is data plus one pure check:

- ``breaks(spec)``: the steps that break the solved lab (commands over SSH, file copies between nodes, one of the
  kind's own `halab fault` injections), run by halab.breakfix on the live lab;
- ``root_cause(facts)``: a pure check on recorded facts, passing only when the real cause is gone (masking
  the symptom does not count);
- ``repairs(spec)``: the documented repair, which `halab solve` runs too;
- ``masks(spec)``: a repair that hides the symptom and leaves the cause, which the root-cause check must fail
  (the integration test proves it); empty when there is no natural one.

Which scenario a lab got is derived from a seed (``scenario_for``): the evidence and the lab's state record the
seed only, so neither `halab check --json` nor the evidence names the fault in clear. Nothing here talks to a
lab: the grader imports it to add the root-cause check to a broken lab's report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graders.checks import fail, ok

if TYPE_CHECKING:
    from graders.checks import CheckFunction, Verdict
    from graders.facts import LabFacts
    from halab.spec import LabSpec

ROOT_CAUSE_ID = "root-cause"
ROOT_CAUSE_TITLE = "The cause of the breakage is repaired, not masked"
ROOT_CAUSE_HINT = ("Find what changed since the lab worked (the logs, crm_mon, corosync-cfgtool -s, cibadmin "
                   "--query, the config files on each node) and repair that; hiding the symptom does not count.")
ROOT_CAUSE_POINTS = 20
# Where a lab's state keeps {"seed": N} while it is broken; the evidence keeps it under the same name.
RECORD = "break"
MAX_SEED = 10**9


@dataclass(frozen=True)
class Run:
    """Run ``command`` as root on ``node``."""

    node: str
    command: str
    timeout: float = 120.0


@dataclass(frozen=True)
class Copy:
    """Copy the file at ``path`` from node ``source`` to node ``target`` (root-owned, ``mode``)."""

    source: str
    target: str
    path: str
    mode: int = 0o644


@dataclass(frozen=True)
class Inject:
    """Inject the lab kind's own fault ``fault`` into ``node``, as `halab fault LAB FAULT NODE` does (the drbd kind's
    split-brain: it cuts a link on the host's side and records what it wrote, which no command in a node can do)."""

    fault: str
    node: str


Step = Run | Copy | Inject


class Scenario:
    """One way a solved lab breaks. Subclasses set ``name`` and ``summary`` (for the instructor's docs and the
    tests; never shown to the student while the lab is broken) and ``expected_failures`` (the lab's own check ids
    the broken lab fails), and implement the methods below."""

    name = ""
    summary = ""
    expected_failures: tuple[str, ...] = ()
    # The lab's checks that still fail once ``masks`` hid the symptom (a masking repair that cannot fool a static
    # check of the configuration hides only the live symptom, such as a failed failover).
    masked_failures: tuple[str, ...] = ()
    # The root-cause check's hint while it fails: where to look in this kind of lab, never what broke.
    hint = ROOT_CAUSE_HINT
    settle_seconds = 5.0  # how long the cluster needs after the last step before the symptom shows

    def applies(self, spec: LabSpec) -> bool:
        """Whether the scenario makes sense for this lab (two_node only exists in a two-node cluster)."""
        return True

    def breaks(self, spec: LabSpec) -> list[Step]:
        raise NotImplementedError

    def repairs(self, spec: LabSpec) -> list[Step]:
        raise NotImplementedError

    def masks(self, spec: LabSpec) -> list[Step]:
        return []

    def unmasks(self, spec: LabSpec) -> list[Step]:
        """Undo ``masks`` (the tests restore the lab between scenarios); the repair does the rest."""
        return []

    def root_cause(self, facts: LabFacts) -> Verdict:
        raise NotImplementedError


def first_failure(facts: LabFacts, *functions: CheckFunction) -> Verdict | None:
    """The first failed verdict of these lab checks, or None when they all pass: a root cause is often "the lab's
    own checks of that part pass again", whatever the repair looked like."""
    for function in functions:
        verdict = function(facts)
        if not verdict.passed:
            return verdict
    return None


def cause_verdict(facts: LabFacts, problems: list[str], functions: Sequence[CheckFunction], repaired: str) -> Verdict:
    """A root-cause verdict: failed with the scenario's own ``problems`` when there are any, else with the first of
    the lab's checks ``functions`` that fails, else passed, saying ``repaired``."""
    if problems:
        return fail("; ".join(problems))
    return first_failure(facts, *functions) or ok(repaired)


class Swap(Scenario):
    """A scenario that replaces a right value by a wrong one, and whose repair is the same replacement backwards:
    subclasses give ``values`` (right, wrong) and ``swap`` (the steps that replace one by the other)."""

    def values(self, spec: LabSpec) -> tuple[str, str]:
        raise NotImplementedError

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        raise NotImplementedError

    def breaks(self, spec: LabSpec) -> list[Step]:
        right, wrong = self.values(spec)
        return self.swap(spec, right, wrong)

    def repairs(self, spec: LabSpec) -> list[Step]:
        right, wrong = self.values(spec)
        return self.swap(spec, wrong, right)


def applicable(scenarios: Sequence[Scenario], spec: LabSpec) -> list[Scenario]:
    return [s for s in scenarios if s.applies(spec)]


def _offset(lab: str) -> int:
    return int.from_bytes(hashlib.sha256(lab.encode()).digest()[:4], "big")


def scenario_for(scenarios: Sequence[Scenario], lab: str, seed: int) -> Scenario:
    """The scenario a seed gives in this lab: consecutive seeds give different scenarios (a classroom's seeds
    are consecutive slots: neighbours get different faults), and the lab's name shifts the order, so seed 1
    is not the same fault in every lab."""
    if not scenarios:
        raise ValueError(f"lab {lab!r} has no break-fix scenarios")
    return scenarios[(_offset(lab) + seed) % len(scenarios)]


def seed_for(scenarios: Sequence[Scenario], lab: str, name: str, start: int) -> int:
    """The first seed from ``start`` on that gives the scenario named ``name`` (`halab break --scenario`)."""
    names = [s.name for s in scenarios]
    if name not in names:
        raise ValueError(f"lab {lab!r} has no scenario {name!r} (its scenarios: {', '.join(names)})")
    for seed in range(start, start + len(scenarios)):
        if scenario_for(scenarios, lab, seed % MAX_SEED).name == name:
            return seed % MAX_SEED
    raise AssertionError("unreachable: every residue is one scenario")


def classroom_seed(assignment: str, slot: int) -> int:
    """A student's seed: their slot, shifted by the assignment (so one student meets different faults in
    different assignments, and neighbours' slots give neighbouring seeds, hence different faults)."""
    return (_offset(f"assignment:{assignment}") + slot) % MAX_SEED


def recorded_seed(record: object) -> int | None:
    """The seed in a lab state's or evidence's break record; None when there is none or it is damaged."""
    if not isinstance(record, dict):
        return None
    seed = record.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < MAX_SEED else None
