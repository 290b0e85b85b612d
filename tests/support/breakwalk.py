"""One walk through a break-fix scenario on a live, solved lab, shared by the fixture recorder
(tests/fixtures/scenarios_break.py) and the integration test (tests/integration/test_break.py): break, then
(when the scenario has one) the masking repair and its undoing, then the documented repair, handing the facts
of each state to ``seen``. The lab ends solved again, so one lab serves every scenario. ``walk_all`` walks a
list of scenarios with the integration test's asserts (``judge``)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graders.collect import collect_raw
from graders.grade import evaluate
from graders.report import Report
from graders.scenario import RECORD, ROOT_CAUSE_ID, Copy, Inject, Run, Scenario, seed_for
from halab import breakfix
from halab.lab import Lab
from halab.spec import LabSpec

Seen = Callable[[str, dict[str, Any], Report], None]


def settled(lab: Lab, done: Callable[[Report], bool], timeout: float) -> tuple[dict[str, Any], Report]:
    """The lab's facts and pure report once ``done(report)`` holds, or the last ones when ``timeout`` runs out
    (the caller's asserts then say what is wrong)."""
    deadline = time.monotonic() + timeout
    while True:
        raw = collect_raw(lab)
        report = evaluate(lab.spec, raw, unrun_faults_count=False)
        if done(report) or time.monotonic() > deadline:
            return raw, report
        time.sleep(3)


def failing(report: Report) -> set[str]:
    return {c.id for c in report.checks if not c.passed}


VM_PROVIDERS = ("libvirt", "vagrant")  # VMs under TCG: a state takes minutes to settle where containers take seconds


def walk(lab: Lab, scenario: Scenario, seen: Seen, timeout: float | None = None) -> None:
    spec = lab.spec
    timeout = timeout or (300 if lab.state().provider in VM_PROVIDERS else 90)
    seed = seed_for(breakfix.scenarios(lab), breakfix.lab_key(lab), scenario.name, 0)
    breakfix.break_lab(lab, seed, solve_first=False)
    expected = set(scenario.expected_failures) | {"root-cause"}
    raw, report = settled(lab, lambda r: expected <= failing(r), timeout)
    seen("broken", raw, report)
    masks = scenario.masks(spec)
    if masks:
        breakfix.run_steps(lab, masks, "masking")
        masked = {"root-cause", *scenario.masked_failures}
        raw, report = settled(lab, lambda r: failing(r) == masked, timeout)
        seen("masked", raw, report)
        breakfix.run_steps(lab, scenario.unmasks(spec), "unmasking")
    breakfix.run_steps(lab, scenario.repairs(spec), "repairing")
    raw, report = settled(lab, lambda r: not failing(r), timeout + 60)
    seen("repaired", raw, report)
    # Forget the break only now: the repaired state was graded with its root-cause check.
    breakfix.forget(lab)
    assert RECORD not in lab.state().provider_data


def judge(scenario: Scenario) -> Seen:
    """The asserts on each state: broken fails the expected checks and the root cause; masked (the symptom
    hidden) fails the root cause and only what the masking cannot hide; repaired fails nothing."""

    def seen(state: str, _raw: dict[str, Any], graded: Report) -> None:
        wrong = failing(graded)
        if state == "broken":
            assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= wrong, (scenario.name, wrong)
        elif state == "masked":
            assert wrong == {ROOT_CAUSE_ID, *scenario.masked_failures}, (scenario.name, wrong)
        else:
            assert not wrong, (scenario.name, [(c.id, c.feedback) for c in graded.checks if not c.passed])

    return seen


def recording(scenario: Scenario, folder: Path | None) -> Seen:
    """``judge``'s asserts, and with a ``folder`` each state's facts saved there first, as the recorder
    (tests/fixtures/scenarios_break.py) saves them: a VM lab's one walk is both the test and the recording."""
    judged = judge(scenario)

    def seen(state: str, raw: dict[str, Any], graded: Report) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{scenario.name}-{state}.json").write_text(json.dumps({**raw, "scenario": f"{scenario.name}-"
                                                                               f"{state}"}, indent=1) + "\n")
        judged(state, raw, graded)

    return seen


def walk_all(lab: Lab, scenarios: list[Scenario], record: Path | None = None) -> dict[str, int]:
    """Walk each scenario with ``judge``'s asserts, in order, on one solved lab (saving each state's facts in
    ``record`` if given); the seconds each took."""
    took = {}
    for scenario in scenarios:
        began = time.monotonic()
        walk(lab, scenario, recording(scenario, record))
        took[scenario.name] = round(time.monotonic() - began)
        print(f"{scenario.name}: {took[scenario.name]} s", flush=True)
    return took


def touched_nodes(scenario: Scenario, spec: LabSpec) -> set[str]:
    """Every node a scenario's steps (break, repair, mask, unmask) run on or copy between; the unit tests want
    only the lab's members (a client or a node of another lab is never touched), and a step on no node fails."""
    assert scenario.breaks(spec) and scenario.repairs(spec)
    nodes: set[str] = set()
    for step in scenario.breaks(spec) + scenario.repairs(spec) + scenario.masks(spec) + scenario.unmasks(spec):
        named = ([step.node] if isinstance(step, Run | Inject) else
                 [step.source, step.target] if isinstance(step, Copy) else [])
        assert named, step
        nodes.update(named)
    return nodes


def lab_and_names(args: list[str]) -> tuple[str, list[str]]:
    """`[--lab LAB | LAB] [NAME ...]`, the command line of the state recorder (tests/fixtures/scenarios_break.py)
    and of benchmarks/break.py: LAB is a lab whose kind has scenarios (a first word naming one counts as LAB),
    clustering by default; the NAMEs choose scenarios (and the recorder's ``journal``)."""
    from halab.spec import load_spec
    from halab.spec.loader import available_labs

    parser = argparse.ArgumentParser(usage="%(prog)s [--lab LAB | LAB] [NAME ...]")
    parser.add_argument("--lab")
    parser.add_argument("names", nargs="*")
    parsed = parser.parse_args(args)
    names = list(parsed.names)
    with_scenarios = [name for name in available_labs() if load_spec(name).kind_def.scenario_list()]
    if parsed.lab is None and names and names[0] in with_scenarios:
        return names[0], names[1:]
    return parsed.lab or "clustering", names
