"""The dr break-fix scenarios' root-cause checks on states recorded from real nodes (tests/fixtures/dr/break/,
recorded by `tests/fixtures/scenarios_break.py dr` on the nspawn lab): each fails on the broken lab, fails on the
masked one (the symptom hidden, the cause left), and passes once the documented repair is done; none fails on
the solved lab; and the steps touch only the sites' nodes and the arbitrator, never the client."""

from __future__ import annotations

import json

import pytest

from graders.dr.scenarios import SCENARIOS
from graders.facts import LabFacts
from graders.scenario import Scenario
from halab.spec import load_spec
from tests.support.breakwalk import judge, touched_nodes
from tests.support.paths import FIXTURES
from tests.support.recorded_break import RecordedBreak

LAB = "dr"
STATES_OF = RecordedBreak(LAB)
recorded, graded = STATES_OF.recorded, STATES_OF.graded
SPEC = load_spec(LAB)


STATES = [(scenario, state) for scenario in SCENARIOS
          for state in ("broken", *(("masked",) if scenario.masks(SPEC) else ()), "repaired")]





def by_name(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_six_or_more_scenarios_with_distinct_names_registered_for_the_kind() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6
    assert [s.name for s in SPEC.kind_def.scenario_list()] == [s.name for s in SCENARIOS]
    assert any(state == "masked" for _, state in STATES)


@pytest.mark.parametrize(("scenario", "state"), STATES, ids=[f"{s.name}-{state}" for s, state in STATES])
def test_each_recorded_state_fails_what_it_should(scenario: Scenario, state: str) -> None:
    """The integration walk's own asserts (tests/support/breakwalk.py judge) on the recorded state: broken fails the
    expected checks and the root cause, masked the root cause and only what the masking cannot hide, repaired
    nothing; and the root-cause verdict says so in words."""
    verdict, report = graded(scenario, state)
    judge(scenario)(state, {}, report)
    assert verdict.passed == (state == "repaired") and verdict.feedback


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_solved_lab_passes_and_the_steps_never_touch_the_client(scenario: Scenario) -> None:
    solved = json.loads((FIXTURES / LAB / "solved.json").read_text())
    assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed
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
        verdict, _ = graded(by_name(name), state)
        assert words in verdict.feedback, (name, state, verdict.feedback)
