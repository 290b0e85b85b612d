"""Grading a live lab (graders/live.py), read once: a live check builds the lab's facts once and evaluates each
check once (the fault checks share the facts and see the verdicts of the checks they need)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from graders import grade, live
from graders.checks import FaultOutcome, Verdict
from graders.facts import LabFacts
from halab.spec import LabSpec, load_spec
from tests.support.paths import FIXTURES


class RecordedLab:
    """What grade_live asks of a lab, with the facts recorded from a solved clustering lab."""

    name = "clustering"

    def __init__(self) -> None:
        self.spec = load_spec("clustering")


def test_a_live_check_builds_the_facts_once_and_runs_each_check_once(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = json.loads((FIXTURES / "clustering" / "solved.json").read_text())
    monkeypatch.setattr(live, "collect_raw", lambda _lab: json.loads(json.dumps(raw)))
    faults_run: list[str] = []

    def fault(_kind: Any, check_id: str, _lab: Any, facts: LabFacts, passed: dict[str, bool], _p: Any) -> FaultOutcome:
        assert all(passed.values()), passed  # the fault check sees the verdicts of the checks it needs
        faults_run.append(check_id)
        return FaultOutcome(Verdict(True, "recovered"), {"failover_seconds": 3.0})

    monkeypatch.setattr(live, "run_fault", fault)
    built, evaluated = Counter[str](), Counter[str]()
    real_from_raw, real_verdict = LabFacts.from_raw.__func__, grade._verdict  # type: ignore[attr-defined]

    def from_raw(cls: type[LabFacts], spec: LabSpec, raw: Any) -> LabFacts:
        built["facts"] += 1
        return real_from_raw(cls, spec, raw)

    def verdict(function: Any, facts: LabFacts) -> Verdict:
        evaluated[function.__name__] += 1
        return real_verdict(function, facts)

    monkeypatch.setattr(LabFacts, "from_raw", classmethod(from_raw))
    monkeypatch.setattr(grade, "_verdict", verdict)
    report, saved = live.grade_live(RecordedLab(), faults=True)  # type: ignore[arg-type]
    assert built["facts"] == 1
    pure = [c for c in report.checks if not c.fault]
    assert pure and set(evaluated.values()) == {1} and sum(evaluated.values()) == len(pure)
    assert faults_run == [c.id for c in report.checks if c.fault] and saved["faults"]["failover"]["passed"]
    assert report.score == report.max_score
