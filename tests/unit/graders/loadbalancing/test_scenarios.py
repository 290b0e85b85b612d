"""The load-balancing break-fix scenarios (graders/loadbalancing/scenarios.py) on states recorded from real nodes:
tests/fixtures/loadbalancing/break/<scenario>-<state>.json (recorded by `tests.fixtures.scenarios_break
loadbalancing`), and the lab fixtures of tests/fixtures/loadbalancing/ (tests.fixtures.scenarios_loadbalancing:
solved.json is the reference solution, split-brain.json lb2 with another virtual_router_id)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graders.collectors.haproxy_cfg import Line
from graders.facts import LabFacts
from graders.grade import evaluate
from graders.loadbalancing.scenarios import SCENARIOS, accepts_error
from graders.scenario import ROOT_CAUSE_ID, Copy, Run, Scenario, seed_for
from halab.spec import load_spec
from tests.support.paths import FIXTURES

SPEC = load_spec("loadbalancing")
LAB = FIXTURES / "loadbalancing"
BALANCERS = {node.name for node in SPEC.with_role("balancer")}


def facts(name: str) -> tuple[LabFacts, dict[str, Any]]:
    raw = json.loads((LAB / f"{name}.json").read_text())
    return LabFacts.from_raw(SPEC, raw), raw


def graded_failures(raw: dict[str, Any], scenario: Scenario) -> set[str]:
    """The checks the lab fails, graded as `halab check` grades a lab broken by this scenario (its seed recorded)."""
    raw = {**raw, "break": {"seed": seed_for(SCENARIOS, "loadbalancing", scenario.name, 0)}}
    return {c.id for c in evaluate(SPEC, raw, unrun_faults_count=False).checks if not c.passed}


def test_six_scenarios_with_distinct_names_and_steps_on_the_balancers_only() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6
    for scenario in SCENARIOS:
        assert scenario.breaks(SPEC) and scenario.repairs(SPEC) and scenario.expected_failures, scenario.name
        for step in scenario.breaks(SPEC) + scenario.repairs(SPEC) + scenario.masks(SPEC):
            nodes = {step.node} if isinstance(step, Run) else {step.source, step.target} if isinstance(step, Copy) \
                else set()
            assert nodes and nodes <= BALANCERS, (scenario.name, step)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_reference_solution_passes_every_root_cause_check(scenario: Scenario) -> None:
    solved, _ = facts("solved")
    assert scenario.root_cause(solved).passed
    alternative, _ = facts("solved-alt")  # other names, a listen section, track_process: still no root cause
    assert scenario.root_cause(alternative).passed, scenario.root_cause(alternative).feedback


def test_a_router_id_mismatch_recorded_by_hand_fails_its_root_cause() -> None:
    scenario = next(s for s in SCENARIOS if s.name == "vrid-mismatch")
    split, raw = facts("split-brain")
    verdict = scenario.root_cause(split)
    assert not verdict.passed and "51" in verdict.feedback
    assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= graded_failures(raw, scenario)


def expect(text: str) -> Line:
    return Line(tuple(text.split()), "haproxy.cfg", 1)


@pytest.mark.parametrize(("line", "accepted"), [
    ("http-check expect status 200", ""),
    ("http-check expect status 200-399", ""),
    ("http-check expect status 200,404", "404"),
    ("http-check expect status 200-499", "404"),
    ("http-check expect rstatus ^[24]", "404"),
    ("http-check expect rstatus ^2", ""),
    ("http-check expect ! status 200", "404, 500, 503"),
    ("http-check expect ! rstatus ^[45]", ""),
    ("http-check expect string OK", ""),
    ("http-check expect min-recv 10 status 404", "404"),
    ("http-check expect rstatus [", ""),  # a broken regex is haproxy -c's to report, not a healthy error
])
def test_an_expectation_that_counts_an_error_page_as_healthy(line: str, accepted: str) -> None:
    assert accepts_error(expect(line)) == accepted


BREAK = LAB / "break"
STATES = [(scenario, state) for scenario in SCENARIOS
          for state in ("broken", *(("masked",) if scenario.masks(SPEC) else ()), "repaired")]


@pytest.mark.parametrize(("scenario", "state"), STATES, ids=[f"{s.name}-{state}" for s, state in STATES])
def test_each_recorded_state_fails_what_it_should(scenario: Scenario, state: str) -> None:
    """Broken: the expected checks and the root cause; masked: the root cause (and what the masking cannot
    hide) and nothing else; repaired by the documented repair: nothing (tests/fixtures/loadbalancing/break/)."""
    raw = json.loads((BREAK / f"{scenario.name}-{state}.json").read_text())
    verdict = scenario.root_cause(LabFacts.from_raw(SPEC, raw))
    wrong = graded_failures(raw, scenario)
    if state == "repaired":
        assert verdict.passed and not wrong, (verdict.feedback, wrong)
    elif state == "masked":
        assert not verdict.passed and wrong == {ROOT_CAUSE_ID, *scenario.masked_failures}, wrong
    else:
        assert not verdict.passed and verdict.feedback
        assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= wrong, wrong


def test_the_masked_health_check_names_the_expectation_that_hides_the_404() -> None:
    scenario = next(s for s in SCENARIOS if s.name == "healthcheck-wrong-url")
    raw = json.loads((BREAK / "healthcheck-wrong-url-masked.json").read_text())
    assert "404" in scenario.root_cause(LabFacts.from_raw(SPEC, raw)).feedback


def test_a_track_script_that_always_succeeds_is_no_tracking() -> None:
    scenario = next(s for s in SCENARIOS if s.name == "track-script-wrong-process")
    raw = json.loads((BREAK / "track-script-wrong-process-masked.json").read_text())
    assert "/bin/true" in scenario.root_cause(LabFacts.from_raw(SPEC, raw)).feedback


def test_the_root_cause_hint_points_at_this_labs_tools_not_at_pacemaker() -> None:
    raw = json.loads((BREAK / "server-maintenance-broken.json").read_text())
    raw = {**raw, "break": {"seed": seed_for(SCENARIOS, "loadbalancing", "server-maintenance", 0)}}
    check = next(c for c in evaluate(SPEC, raw, unrun_faults_count=False).checks if c.id == ROOT_CAUSE_ID)
    assert "keepalived" in check.hint and "crm_mon" not in check.hint
    assert "maintenance" not in check.hint + check.feedback  # symptoms only, never the scenario
