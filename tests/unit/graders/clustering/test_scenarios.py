"""The clustering break-fix scenarios' root-cause checks on states recorded from real nodes
(tests/fixtures/clustering/break/, recorded by tests/fixtures/scenarios_break.py): each fails on the broken lab,
fails on the masked one (the symptom hidden, the cause left), and passes once the documented repair is done."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graders.clustering.scenarios import SCENARIOS
from graders.facts import LabFacts
from graders.grade import evaluate
from graders.scenario import ROOT_CAUSE_ID, Scenario, seed_for
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES

BREAK = FIXTURES / "clustering" / "break"
SPEC = load_spec("clustering")
MASKED = [s for s in SCENARIOS if s.masks(SPEC)]


def recorded(scenario: Scenario, state: str) -> dict[str, Any]:
    return json.loads((BREAK / f"{scenario.name}-{state}.json").read_text())


def failing(raw: dict[str, Any], scenario: Scenario) -> set[str]:
    """The checks the lab fails, graded as `halab check` grades a broken lab (its seed recorded)."""
    raw = {**raw, "break": {"seed": seed_for(SCENARIOS, "clustering", scenario.name, 0)}}
    return {c.id for c in evaluate(SPEC, raw, unrun_faults_count=False).checks if not c.passed}


def test_there_are_six_scenarios_with_distinct_names() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_broken_lab_fails_the_expected_checks_and_the_root_cause(scenario: Scenario) -> None:
    raw = recorded(scenario, "broken")
    verdict = scenario.root_cause(LabFacts.from_raw(SPEC, raw))
    assert not verdict.passed and verdict.feedback
    assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= failing(raw, scenario)


@pytest.mark.parametrize("scenario", MASKED, ids=lambda s: s.name)
def test_masking_the_symptom_passes_the_lab_checks_but_not_the_root_cause(scenario: Scenario) -> None:
    raw = recorded(scenario, "masked")
    assert not scenario.root_cause(LabFacts.from_raw(SPEC, raw)).passed
    assert failing(raw, scenario) == {ROOT_CAUSE_ID, *scenario.masked_failures}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_documented_repair_gives_full_marks(scenario: Scenario) -> None:
    raw = recorded(scenario, "repaired")
    assert scenario.root_cause(LabFacts.from_raw(SPEC, raw)).passed
    assert failing(raw, scenario) == set()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_no_other_scenarios_root_cause_check_fails_on_the_solved_lab(scenario: Scenario) -> None:
    solved = json.loads((FIXTURES / "clustering" / "solved.json").read_text())
    assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_steps_touch_only_the_labs_members(scenario: Scenario) -> None:
    assert touched_nodes(scenario, SPEC) <= set(SPEC.member_names)


def test_a_renamed_ban_is_still_a_ban() -> None:
    """The leftover-ban masking in words: the cli-ban cleared, the same -INFINITY under another name."""
    scenario = next(s for s in SCENARIOS if s.name == "leftover-ban")
    facts = LabFacts.from_raw(SPEC, recorded(scenario, "masked"))
    verdict = scenario.root_cause(facts)
    assert "keep-off" in verdict.feedback
