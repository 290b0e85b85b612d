"""One walk through a break-fix scenario on a live, solved lab, shared by the fixture recorder
(tests/fixtures/scenarios_break.py) and the integration test (tests/integration/test_break.py): break, then
(when the scenario has one) the masking repair and its undoing, then the documented repair, handing the facts
of each state to ``seen``. The lab ends solved again, so one lab serves every scenario."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from graders.collect import collect_raw
from graders.grade import evaluate
from graders.report import Report
from graders.scenario import RECORD, ROOT_CAUSE_ID, Scenario, seed_for
from halab import breakfix
from halab.lab import Lab

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


def walk(lab: Lab, scenario: Scenario, seen: Seen, timeout: float = 90) -> None:
    spec = lab.spec
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
    """The integration tests' ``seen``: the broken lab fails the expected checks and the root cause, the masked one
    only the root cause (and what the masking cannot hide), the repaired one nothing."""
    def seen(state: str, _raw: dict[str, Any], graded: Report) -> None:
        wrong = failing(graded)
        if state == "broken":
            assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= wrong, (scenario.name, wrong)
        elif state == "masked":
            assert wrong == {ROOT_CAUSE_ID, *scenario.masked_failures}, (scenario.name, wrong)
        else:
            assert not wrong, (scenario.name, [(c.id, c.feedback) for c in graded.checks if not c.passed])

    return seen
