"""Grading a live lab: collect its facts over SSH, run the pure checks on them, then the fault checks."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from graders.collect import collect_raw
from graders.facts import LabFacts
from graders.faults import run_fault
from graders.grade import evaluate
from graders.report import Report
from halab.lab import Lab

Progress = Callable[[str], None]


def grade_live(lab: Lab, faults: bool | Collection[str] = True,
               progress: Progress = lambda _m: None) -> tuple[Report, dict[str, Any]]:
    """Collect from the live lab, run fault checks if asked (all, or only those whose ids ``faults`` names: a
    checkpoint of one task breaks nothing else), and return (report, raw evidence)."""
    spec = lab.spec
    progress("collecting facts from the nodes")
    raw = collect_raw(lab)
    report = evaluate(spec, raw, unrun_faults_count=False)
    fault_checks = [c for c in spec.checks if c.fault and (faults is True or (faults is not False and c.id in faults))]
    if faults and fault_checks:
        passed = {c.id: c.passed for c in report.checks}
        facts = LabFacts.from_raw(spec, raw)
        raw["faults"] = {}
        for check in fault_checks:
            outcome = run_fault(spec.kind, check.id, lab, facts, passed, progress)
            raw["faults"][check.id] = {"passed": outcome.verdict.passed, "feedback": outcome.verdict.feedback,
                                       "hint": outcome.verdict.hint, "measurements": outcome.measurements}
        report = evaluate(spec, raw, unrun_faults_count=faults is True)
    return report, raw


def run_checks(lab_name: str, faults: bool = True, progress: Progress = lambda _m: None) -> dict[str, Any]:
    """The report of a live lab as a dict (the JSON `halab check --json` prints)."""
    lab = Lab(lab_name)
    try:
        report, _ = grade_live(lab, faults, progress)
    finally:
        lab.close()
    return report.to_dict()
