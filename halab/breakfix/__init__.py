"""`halab break` on a live lab: solve it, break it the way a seeded scenario says, and remember only the seed;
and undo that for `halab solve` (issue 24).

The scenarios themselves are the kind's (graders/<kind>/scenarios.py, contract in graders/scenario.py); this
room runs their steps over SSH. It stands between the doors (halab.access) and the solutions, since breaking
starts from the solved lab and repairing ends in it.

The lab's state keeps ``{"seed": N}`` under ``graders.scenario.RECORD`` while the lab is broken; the collector
copies it into the facts (and so into the evidence), and the grader derives the scenario from the seed. Nothing
here prints the scenario's name: the student gets symptoms only.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

from graders.grade import broken_by
from graders.scenario import (
    MAX_SEED,
    RECORD,
    Copy,
    Inject,
    Run,
    Scenario,
    Step,
    applicable,
    classroom_seed,
    scenario_for,
    seed_for,
)
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.runtime.state import LabState, update_state
from halab.types import Progress
from solutions import solve


def scenarios(lab: Lab) -> list[Scenario]:
    """The lab's scenarios, in their fixed order; a clear error for a kind that has none yet."""
    found = applicable(lab.spec.kind_def.scenario_list(), lab.spec)
    if not found:
        raise HalabError(f"lab '{lab.base}' (a {lab.spec.kind} lab) has no break-fix scenarios yet")
    return found


def lab_key(lab: Lab) -> str:
    """The name seeds are drawn against: the lab's spec file, the same in every user's slot."""
    return lab.spec.path.stem


def choose_seed(lab: Lab, scenario: str | None, seed: int | None, assignment: str | None) -> int:
    """The seed: given; else a user's lab's slot with the assignment (neighbours get different faults); else
    random. With ``scenario``, the first seed from there on that gives that scenario."""
    if seed is not None and not 0 <= seed < MAX_SEED:
        raise HalabError(f"the seed must be a whole number from 0 to {MAX_SEED - 1}, not {seed}")
    slot = lab.state().slot
    if seed is None:
        seed = classroom_seed(assignment or lab_key(lab), slot) if slot else secrets.randbelow(MAX_SEED)
    if scenario is None:
        return seed
    try:
        return seed_for(scenarios(lab), lab_key(lab), scenario, seed)
    except ValueError as exc:
        raise HalabError(str(exc)) from None


def run_steps(lab: Lab, steps: Sequence[Step], what: str) -> None:
    """Run a scenario's steps in order; the first that fails stops with an error naming its node (not its
    command, which would tell the student the fault)."""
    for step in steps:
        if isinstance(step, Copy):
            lab.write_file(step.target, step.path, lab.read_file(step.source, step.path), step.mode)
            continue
        if isinstance(step, Inject):
            faults.inject(lab, step.fault, step.node)
            continue
        assert isinstance(step, Run)
        result = lab.run(step.node, step.command, timeout=step.timeout)
        if not result.ok:
            raise HalabError(f"{what} failed on {step.node} (exit {result.exit_status}): "
                             f"{(result.stderr or result.stdout).strip()[-300:]}")


def _record(lab: Lab, seed: int | None) -> None:
    def change(state: LabState) -> None:
        if seed is None:
            state.provider_data.pop(RECORD, None)
        else:
            state.provider_data[RECORD] = {"seed": seed}

    update_state(lab.name, change)


def broken(lab: Lab) -> Scenario | None:
    """The scenario the lab is broken by now (its state's seed), or None."""
    record = lab.state().provider_data.get(RECORD)
    return broken_by(lab.spec, {RECORD: record}) if record else None


def break_lab(lab: Lab, seed: int, progress: Progress = lambda _m: None, solve_first: bool = True) -> None:
    """Bring the lab to its solved state (repairing an earlier break first) and break it by the seed's
    scenario. ``solve_first=False``: the caller knows the lab is solved (the integration test, between
    scenarios)."""
    if solve_first:
        repair(lab, progress)
    scenario = scenario_for(scenarios(lab), lab_key(lab), seed)
    progress("breaking the lab")
    _record(lab, seed)  # first: a break that fails half-way is still repaired by `halab solve`
    run_steps(lab, scenario.breaks(lab.spec), "breaking the lab")
    time.sleep(scenario.settle_seconds)


def repair(lab: Lab, progress: Progress = lambda _m: None) -> None:
    """`halab solve`: undo a break with its scenario's documented repair, then solve the lab (the solution
    does what is left, and proves the lab is whole again), then forget the break."""
    scenario = broken(lab)
    if scenario is not None:
        progress("repairing what halab break broke")
        try:
            run_steps(lab, scenario.repairs(lab.spec), "repairing the lab")
        except HalabError as exc:  # the student may have repaired part of it already; the solution finishes it
            progress(f"{exc}; solving the lab from where it is")
    solve(lab, progress)
    if scenario is not None:
        forget(lab)


def forget(lab: Lab) -> None:
    """The lab is whole again: grade it as a plain lab from now on."""
    _record(lab, None)
