"""The drbd break-fix scenarios (graders/drbd/scenarios.py) on states recorded from the drbd lab's VMs
(tests/fixtures/drbd/break/<scenario>-<state>.json, recorded by `tests.fixtures.scenarios_break drbd`): each broken
lab fails its expected checks and the root cause, a masked one the root cause (and only what the masking cannot
hide), the documented repair passes everything; and no root-cause check fails on the solved lab."""

from __future__ import annotations

import json
from typing import Any

import pytest

from graders.drbd.scenarios import SCENARIOS
from graders.facts import LabFacts
from graders.grade import evaluate
from graders.scenario import ROOT_CAUSE_ID, Inject, Scenario, seed_for
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES

LAB = "drbd"
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


def test_at_least_six_of_the_labs_own() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6
    assert all(type(s).__module__ == "graders.drbd.scenarios" for s in SCENARIOS)
    assert all(s.expected_failures for s in SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_broken_lab_fails_the_expected_checks_and_the_root_cause(scenario: Scenario) -> None:
    passed, failing, feedback = graded(scenario, "broken")
    assert not passed and feedback
    assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= failing, failing


@pytest.mark.parametrize("scenario", MASKED, ids=lambda s: s.name)
def test_masking_the_symptom_fails_the_root_cause(scenario: Scenario) -> None:
    passed, failing, _ = graded(scenario, "masked")
    assert not passed
    assert failing == {ROOT_CAUSE_ID, *scenario.masked_failures}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_documented_repair_gives_full_marks(scenario: Scenario) -> None:
    passed, failing, feedback = graded(scenario, "repaired")
    assert passed and failing == set(), (feedback, failing)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_no_root_cause_check_fails_on_the_solved_lab(scenario: Scenario) -> None:
    solved = json.loads((FIXTURES / LAB / "solved.json").read_text())
    assert scenario.root_cause(LabFacts.from_raw(SPEC, solved)).passed


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_steps_touch_only_the_labs_members(scenario: Scenario) -> None:
    assert touched_nodes(scenario, SPEC) <= set(SPEC.member_names)


def test_the_split_brain_is_the_kinds_own_injection() -> None:
    """`halab fault drbd split-brain` records the files each side wrote, so split-brain-resolved judges the new
    split brain, not the one the solution resolved."""
    steps = by_name("split-brain-standalone").breaks(SPEC)
    assert steps == [Inject("split-brain", SPEC.member_names[-1])]
    assert "split-brain" in SPEC.kind_def.injections


def test_a_split_brain_left_standalone_says_so() -> None:
    _, failing, feedback = graded(by_name("split-brain-standalone"), "broken")
    assert "StandAlone" in feedback and "split-brain-resolved" in failing


def test_drbd_9_handlers_are_named_with_the_script_to_use() -> None:
    _, _, feedback = graded(by_name("fence-handlers-drbd9"), "broken")
    assert "crm-fence-peer.9.sh, which is for DRBD 9" in feedback


def test_a_clone_without_notify_is_named_even_where_pacemaker_runs_it_again() -> None:
    raw = json.loads((FIXTURES / LAB / "solved.json").read_text())
    scenario = by_name("clone-notify-off")
    facts = LabFacts.from_raw(SPEC, raw)
    assert scenario.root_cause(facts).passed
    for node in raw["nodes"].values():  # the CIB says notify=false, the cluster state is still the solved one
        cib = node["commands"]["cib"]
        cib["stdout"] = cib["stdout"].replace('name="notify" value="true"', 'name="notify" value="false"')
    verdict = scenario.root_cause(LabFacts.from_raw(SPEC, raw))
    assert not verdict.passed and "notify=false" in verdict.feedback


def test_the_filesystem_on_the_backing_disk_is_named() -> None:
    _, failing, feedback = graded(by_name("filesystem-on-backing-disk"), "broken")
    assert f"mounts {SPEC.settings['drbd_disk']}, DRBD's backing disk" in feedback
    assert "pacemaker-data" in failing


def test_identical_files_with_another_port_are_still_wrong() -> None:
    """The masking repair copies the wrong file to the other node: connected again, but not on the lab's port."""
    _, _, feedback = graded(by_name("resource-files-differ"), "masked")
    assert f":{SPEC.settings['drbd_port'] + 1}" in feedback and "address" in feedback
