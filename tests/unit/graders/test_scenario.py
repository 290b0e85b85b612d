"""The break-fix contract's pure parts (graders/scenario.py, issue 24): seeds to scenarios, classroom seeds, and
the root-cause check the grader adds from a recorded seed without ever naming the scenario."""

from __future__ import annotations

import copy
import json

import pytest

from graders.clustering.scenarios import SCENARIOS
from graders.grade import broken_by, evaluate
from graders.scenario import (
    MAX_SEED,
    ROOT_CAUSE_ID,
    applicable,
    classroom_seed,
    recorded_seed,
    scenario_for,
    seed_for,
)
from halab.spec import load_spec
from halab.spec.kinds import get_kind
from tests.support.paths import FIXTURES

SOLVED = json.loads((FIXTURES / "clustering" / "solved.json").read_text())


def test_consecutive_seeds_give_different_scenarios_so_classroom_neighbours_differ() -> None:
    for slot in range(1, 30):
        first = scenario_for(SCENARIOS, "clustering", classroom_seed("03-clustering", slot))
        second = scenario_for(SCENARIOS, "clustering", classroom_seed("03-clustering", slot + 1))
        assert first is not second


def test_every_scenario_is_drawn_and_the_lab_shifts_the_order() -> None:
    drawn = [scenario_for(SCENARIOS, "clustering", seed).name for seed in range(len(SCENARIOS))]
    assert sorted(drawn) == sorted(s.name for s in SCENARIOS)
    other = [scenario_for(SCENARIOS, "clustering3", seed).name for seed in range(len(SCENARIOS))]
    assert other != drawn


def test_seed_for_a_named_scenario_gives_that_scenario() -> None:
    for scenario in SCENARIOS:
        seed = seed_for(SCENARIOS, "clustering", scenario.name, 12345)
        assert 12345 <= seed < 12345 + len(SCENARIOS)
        assert scenario_for(SCENARIOS, "clustering", seed) is scenario
    with pytest.raises(ValueError, match="no scenario 'nope'"):
        seed_for(SCENARIOS, "clustering", "nope", 0)


@pytest.mark.parametrize("record", [None, "3", {"seed": "3"}, {"seed": True}, {"seed": -1}, {"seed": MAX_SEED}, {}])
def test_a_damaged_break_record_is_no_break(record: object) -> None:
    assert recorded_seed(record) is None
    raw = {**copy.deepcopy(SOLVED), "break": record}
    assert ROOT_CAUSE_ID not in {c.id for c in evaluate(load_spec("clustering"), raw).checks}


def test_the_report_adds_the_root_cause_check_and_never_names_the_scenario() -> None:
    spec = load_spec("clustering")
    for seed in range(len(SCENARIOS)):
        raw = {**copy.deepcopy(SOLVED), "break": {"seed": seed}}
        report = evaluate(spec, raw, unrun_faults_count=False)
        root = next(c for c in report.checks if c.id == ROOT_CAUSE_ID)
        assert root.passed and root.points == root.max_points  # the solved lab has no cause left
        text = json.dumps(report.to_dict())
        scenario = broken_by(spec, raw)
        assert scenario is not None
        assert scenario.name not in text and scenario.summary not in text


def test_two_node_scenarios_are_left_out_of_a_three_node_lab() -> None:
    three = load_spec("clustering3")
    names = [s.name for s in applicable(SCENARIOS, three)]
    assert "two-node-missing" not in names and len(names) == len(SCENARIOS) - 1


def test_derived_kinds_do_not_inherit_the_scenarios() -> None:
    assert get_kind("clustering").scenario_list() == SCENARIOS
    assert get_kind("clustering").derive("derived").scenario_list() == []
    assert {type(s).__module__ for s in get_kind("drbd").scenario_list()} == {"graders.drbd.scenarios"}  # its own
