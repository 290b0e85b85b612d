"""The infrastructure break-fix scenarios' root-cause checks on states recorded from real nodes
(tests/fixtures/infrastructure/break/, recorded by `tests/fixtures/scenarios_break.py --lab infrastructure` on the
nspawn lab): each fails on the broken lab, fails on the masked one (the symptom hidden, the cause left), and
passes once the documented repair is done; and none fails on the solved lab."""

from __future__ import annotations

import json

import pytest

from graders.clustering import scenarios as clustering_scenarios
from graders.facts import LabFacts
from graders.infrastructure.scenarios import SCENARIOS
from graders.scenario import Scenario
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES
from tests.support.recorded_break import RecordedBreak

LAB = "infrastructure"
STATES_OF = RecordedBreak(LAB)
recorded, graded = STATES_OF.recorded, STATES_OF.failing
SPEC = load_spec(LAB)
MASKED = [s for s in SCENARIOS if s.masks(SPEC)]
OWN = [s for s in SCENARIOS if type(s).__module__ == "graders.infrastructure.scenarios"]





def test_six_of_the_labs_own_kind_besides_the_shared_ones() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) and len(SCENARIOS) >= 6
    shared = [s for s in SCENARIOS if s not in OWN]
    assert shared and all(type(s) in vars(clustering_scenarios).values() for s in shared)  # reused, not copied
    assert len(OWN) >= 5


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_broken_lab_fails_the_expected_checks_and_the_root_cause(scenario: Scenario) -> None:
    STATES_OF.assert_state(scenario, "broken")


@pytest.mark.parametrize("scenario", MASKED, ids=lambda s: s.name)
def test_masking_the_symptom_passes_the_lab_checks_but_not_the_root_cause(scenario: Scenario) -> None:
    STATES_OF.assert_state(scenario, "masked")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_documented_repair_gives_full_marks(scenario: Scenario) -> None:
    STATES_OF.assert_state(scenario, "repaired")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_no_scenarios_root_cause_check_fails_on_the_solved_lab(scenario: Scenario) -> None:
    solved = json.loads((FIXTURES / LAB / "solved.json").read_text())
    assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_steps_touch_only_the_labs_members(scenario: Scenario) -> None:
    assert touched_nodes(scenario, SPEC) <= set(SPEC.member_names)


def by_name(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_a_ping_that_also_pings_the_floating_ip_is_named() -> None:
    """The ping-wrong-host half-repair: the client added, the floating IP kept; the node holding the IP answers that
    ping itself, so pingd never drops to 0 there. The lab's check passed it before; now it names it."""
    _, failing, feedback = graded(by_name("ping-wrong-host"), "masked")
    assert "link-monitoring" in failing
    assert f"ping-client also pings {SPEC.settings['floating_ip']} (the floating IP)" in feedback


def test_a_random_fence_delay_leaves_the_race_to_chance() -> None:
    _, _, feedback = graded(by_name("fence-priority-lost"), "masked")
    assert "pcmk_delay_max on fence-lab" in feedback


def test_the_standby_link_is_down_while_the_cluster_runs_on_link_0() -> None:
    """Redundancy lost without an outage: both nodes are members (over link 0), link 1 is not connected."""
    _, failing, feedback = graded(by_name("standby-link-wrong-address"), "broken")
    assert "membership" not in failing and "links-connected" in failing
    assert "node2 has ring1_addr '10.42.42.112'" in feedback


def test_a_ping_without_a_monitor_operation_is_named() -> None:
    """The lab's link-monitoring check passed this before: the clone runs, the rule is right, but pingd is never
    measured again after the start."""
    _, failing, feedback = graded(by_name("ping-not-monitored"), "broken")
    assert "link-monitoring" in failing and "ping-client has no recurring monitor operation" in feedback
