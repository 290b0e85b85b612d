"""The virtualization break-fix scenarios' root-cause checks on states recorded from real hypervisors
(tests/fixtures/virtualization/break/, recorded by `tests/fixtures/scenarios_break.py virtualization` on the nspawn
lab, whose hypervisors run the guest under QEMU TCG): each fails on the broken lab, fails on the masked one (the
symptom hidden, the cause left), and passes once the documented repair is done; and none fails on the solved lab."""

from __future__ import annotations

import json

import pytest

from graders.clustering import scenarios as clustering_scenarios
from graders.facts import LabFacts
from graders.scenario import ROOT_CAUSE_ID, Scenario
from graders.virtualization.scenarios import SCENARIOS
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES
from tests.support.recorded_break import RecordedBreak

LAB = "virtualization"
STATES_OF = RecordedBreak(LAB)
recorded, graded = STATES_OF.recorded, STATES_OF.failing
SPEC = load_spec(LAB)
MASKED = [s for s in SCENARIOS if s.masks(SPEC)]
OWN = [s for s in SCENARIOS if type(s).__module__ == "graders.virtualization.scenarios"]





def by_name(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_six_of_the_labs_own_besides_the_shared_one() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) and len(SCENARIOS) >= 6
    shared = [s for s in SCENARIOS if s not in OWN]
    assert shared and all(type(s) in vars(clustering_scenarios).values() for s in shared)  # reused, not copied
    assert len(OWN) >= 6
    assert SPEC.kind_def.scenario_list() == SCENARIOS


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
    for state in ("solved", "migrated"):
        solved = json.loads((FIXTURES / LAB / f"{state}.json").read_text())
        assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed, state


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_steps_touch_only_the_labs_members(scenario: Scenario) -> None:
    assert touched_nodes(scenario, SPEC) <= set(SPEC.member_names)


def test_the_network_started_by_hand_still_does_not_autostart() -> None:
    """The masking repair: virsh net-start on hv2 brings the guest's network back until hv2's next boot."""
    _, failing, feedback = graded(by_name("network-not-autostarted"), "masked")
    assert failing == {ROOT_CAUSE_ID, "network-active"}
    assert "vmnet does not autostart on hv2" in feedback and "not started" not in feedback


def test_a_missing_migration_key_is_named_by_direction() -> None:
    """hv2 still reaches hv1; only hv1 -> hv2 fails, which the check and the root cause say."""
    _, _, feedback = graded(by_name("migration-key-missing"), "broken")
    assert "root on hv1 cannot log in to hv2 over ssh" in feedback
    assert "root on hv2 cannot log in" not in feedback


def test_the_ban_renamed_still_keeps_the_guest_off_a_hypervisor() -> None:
    _, _, feedback = graded(by_name("guest-leftover-ban"), "masked")
    assert "keep-off" in feedback
