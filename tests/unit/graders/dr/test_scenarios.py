"""The dr break-fix scenarios' root-cause checks on states recorded from real nodes (tests/fixtures/dr/break/,
recorded by `tests/fixtures/scenarios_break.py dr` on the nspawn lab): each fails on the broken lab, fails on the
masked one (the symptom hidden, the cause left), and passes once the documented repair is done; none fails on
the solved lab; and the steps touch only the sites' nodes and the arbitrator, never the client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graders.dr.scenarios import SCENARIOS
from graders.facts import LabFacts
from graders.grade import evaluate
from graders.scenario import ROOT_CAUSE_ID, Scenario, seed_for
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES

LAB = "dr"
BREAK = FIXTURES / LAB / "break"
SPEC = load_spec(LAB)
MASKED = [s for s in SCENARIOS if s.masks(SPEC)]


def recorded(name: str, state: str) -> dict[str, Any]:
    return json.loads((BREAK / f"{name}-{state}.json").read_text())


def graded(scenario: Scenario, state: str) -> tuple[bool, set[str], str]:
    """The scenario's root-cause verdict on a recorded state, and the checks the lab fails graded as `halab
    check` grades a broken lab (its seed recorded)."""
    raw = recorded(scenario.name, state)
    verdict = scenario.root_cause(LabFacts.from_raw(SPEC, raw))
    raw = {**raw, "break": {"seed": seed_for(SCENARIOS, LAB, scenario.name, 0)}}
    failing = {c.id for c in evaluate(SPEC, raw, unrun_faults_count=False).checks if not c.passed}
    return verdict.passed, failing, verdict.feedback


def by_name(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_six_or_more_scenarios_with_distinct_names_registered_for_the_kind() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6
    assert [s.name for s in SPEC.kind_def.scenario_list()] == [s.name for s in SCENARIOS]
    assert MASKED


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_broken_lab_fails_the_expected_checks_and_the_root_cause(scenario: Scenario) -> None:
    passed, failing, feedback = graded(scenario, "broken")
    assert not passed and feedback
    assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= failing


@pytest.mark.parametrize("scenario", MASKED, ids=lambda s: s.name)
def test_masking_the_symptom_passes_the_lab_checks_but_not_the_root_cause(scenario: Scenario) -> None:
    passed, failing, _ = graded(scenario, "masked")
    assert not passed
    assert failing == {ROOT_CAUSE_ID, *scenario.masked_failures}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_documented_repair_gives_full_marks(scenario: Scenario) -> None:
    passed, failing, _ = graded(scenario, "repaired")
    assert passed and failing == set()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_no_scenarios_root_cause_check_fails_on_the_solved_lab(scenario: Scenario) -> None:
    solved = json.loads((FIXTURES / LAB / "solved.json").read_text())
    assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_steps_touch_the_sites_and_the_arbitrator_never_the_client(scenario: Scenario) -> None:
    assert touched_nodes(scenario, SPEC) <= set(SPEC.member_names) | {"arbitrator"}


def test_the_hint_points_at_booth_tickets_and_replication() -> None:
    assert all("booth peers" in s.hint and "pg_stat_replication" in s.hint for s in SCENARIOS)


def test_each_root_cause_names_what_is_wrong_where() -> None:
    """The feedback a student reads names the member and the value, from the recorded facts alone."""
    expected = {("booth-authkey-differs", "broken"): "arbitrator: ", ("arbitrator-site-typo", "broken"): "arbitrator",
                ("ticket-constraint-typo", "broken"): "site B's db-needs-ticket names 'ticketdb'",
                ("ticket-left-standby", "broken"): "site A holds ticket-db in standby",
                ("conninfo-wrong-host", "broken"): "does not show b2 streaming",
                ("leftover-ban", "broken"): "cli-ban-pgsql-ha-on-b2", ("leftover-ban", "masked"): "keep-b2-unpromoted",
                ("arbitrator-disabled", "masked"): "does not start at boot"}
    for (name, state), words in expected.items():
        _, _, feedback = graded(by_name(name), state)
        assert words in feedback, (name, state, feedback)
