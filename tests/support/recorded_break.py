"""A lab kind's break-fix scenarios graded on states recorded from a real lab (tests/fixtures/<lab>/break/
<scenario>-<state>.json, made by tests/fixtures/scenarios_break.py or test_break's HALAB_RECORD_BREAK): the one
way every kind's unit tests read and grade them, as `halab check` grades a broken lab (its seed recorded)."""

from __future__ import annotations

import json
from typing import Any

from graders.checks import Verdict
from graders.facts import LabFacts
from graders.grade import evaluate
from graders.report import Report
from graders.scenario import ROOT_CAUSE_ID, Scenario, seed_for
from halab.spec import load_spec
from tests.support.paths import FIXTURES


class RecordedBreak:
    """The recorded states of one lab's scenarios."""

    def __init__(self, lab: str) -> None:
        self.lab, self.spec = lab, load_spec(lab)
        self.scenarios: list[Scenario] = self.spec.kind_def.scenario_list()

    def recorded(self, name: str, state: str) -> dict[str, Any]:
        return json.loads((FIXTURES / self.lab / "break" / f"{name}-{state}.json").read_text())

    def graded(self, scenario: Scenario, state: str) -> tuple[Verdict, Report]:
        """The scenario's root-cause verdict on the recorded state, and the lab's report on it."""
        raw = self.recorded(scenario.name, state)
        verdict = scenario.root_cause(LabFacts.from_raw(self.spec, raw))
        raw = {**raw, "break": {"seed": seed_for(self.scenarios, self.lab, scenario.name, 0)}}
        return verdict, evaluate(self.spec, raw, unrun_faults_count=False)

    def failing(self, scenario: Scenario, state: str) -> tuple[bool, set[str], str]:
        """(root cause passed, the ids of the checks the lab fails, the root-cause feedback)."""
        verdict, report = self.graded(scenario, state)
        return verdict.passed, {c.id for c in report.checks if not c.passed}, verdict.feedback

    def assert_state(self, scenario: Scenario, state: str) -> None:
        """What each recorded state must grade as. Broken: the expected checks and the root cause fail; masked:
        the root cause and what the masking cannot hide, nothing else; repaired by the documented repair: nothing."""
        passed, failing, feedback = self.failing(scenario, state)
        if state == "repaired":
            assert passed and failing == set(), (feedback, failing)
        elif state == "masked":
            assert not passed and failing == {ROOT_CAUSE_ID, *scenario.masked_failures}, failing
        else:
            assert not passed and feedback
            assert set(scenario.expected_failures) | {ROOT_CAUSE_ID} <= failing, failing
