"""The drbd break-fix scenarios (graders/drbd/scenarios.py) on states recorded from the drbd lab's VMs
(tests/fixtures/drbd/break/<scenario>-<state>.json, recorded by `tests.fixtures.scenarios_break drbd`): each broken
lab fails its expected checks and the root cause, a masked one the root cause (and only what the masking cannot
hide), the documented repair passes everything; and no root-cause check fails on the solved lab."""

from __future__ import annotations

import json

import pytest

from graders.drbd.scenarios import SCENARIOS
from graders.facts import LabFacts
from graders.scenario import Inject, Scenario
from halab.spec import load_spec
from tests.support.breakwalk import touched_nodes
from tests.support.paths import FIXTURES
from tests.support.recorded_break import RecordedBreak

LAB = "drbd"
STATES_OF = RecordedBreak(LAB)
recorded, graded = STATES_OF.recorded, STATES_OF.failing
SPEC = load_spec(LAB)
MASKED = [s for s in SCENARIOS if s.masks(SPEC)]





def by_name(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def test_at_least_six_of_the_labs_own() -> None:
    assert len({s.name for s in SCENARIOS}) == len(SCENARIOS) >= 6
    assert all(type(s).__module__ == "graders.drbd.scenarios" for s in SCENARIOS)
    assert all(s.expected_failures for s in SCENARIOS)


STATES = [(s, state) for s in SCENARIOS for state in ("broken", *(("masked",) if s.masks(SPEC) else ()), "repaired")]


@pytest.mark.parametrize(("scenario", "state"), STATES, ids=[f"{s.name}-{state}" for s, state in STATES])
def test_each_recorded_state_fails_what_it_should(scenario: Scenario, state: str) -> None:
    STATES_OF.assert_state(scenario, state)  # tests/support/recorded_break.py says what each state must grade as


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


def altered(command: str, old: str, new: str) -> LabFacts:
    """The solved lab's recorded facts with ``old`` replaced by ``new`` in one command's output on both nodes (what
    a scenario changes there; the rest of the lab as recorded)."""
    raw = json.loads((FIXTURES / LAB / "solved.json").read_text())
    for node in raw["nodes"].values():
        out = node["commands"][command]
        assert old in out["stdout"], (command, old)
        out["stdout"] = out["stdout"].replace(old, new)
    return LabFacts.from_raw(SPEC, raw)


def test_the_filesystem_on_the_backing_disk_is_named() -> None:
    disk, device = SPEC.settings["drbd_disk"], SPEC.settings["drbd_device"]
    facts = altered("cib", f'name="device" value="{device}"', f'name="device" value="{disk}"')
    verdict = by_name("filesystem-on-backing-disk").root_cause(facts)
    assert not verdict.passed and f"mounts {disk}, DRBD's backing disk" in verdict.feedback


def test_identical_files_with_another_port_are_still_wrong() -> None:
    """The masking repair copies the wrong file to the other node: identical, connected again, not the lab's port."""
    port = SPEC.settings["drbd_port"]
    facts = altered("drbd_dump", f":{port};", f":{port + 1};")
    verdict = by_name("resource-files-differ").root_cause(facts)
    assert not verdict.passed and f":{port + 1}" in verdict.feedback and "address" in verdict.feedback


def test_a_lost_colocation_is_named() -> None:
    line = ('<rsc_colocation id="data-with-promoted" score="INFINITY" rsc="data" with-rsc="drbd-r0-clone" '
            'with-rsc-role="Promoted"/>')
    facts = altered("cib", line, "")  # crm configure delete data-with-promoted
    verdict = by_name("colocation-lost").root_cause(facts)
    assert not verdict.passed and "colocation with the Promoted role" in verdict.feedback
