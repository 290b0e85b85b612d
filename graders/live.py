"""Grading a live lab: collect its facts over SSH, run the pure checks on them, then the fault checks."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from graders.collect import collect_raw
from graders.facts import LabFacts
from graders.faults import run_fault
from graders.grade import evaluate, verdicts
from graders.report import Report
from halab.lab import Lab
from halab.types import Progress


def grade_live(lab: Lab, faults: bool | Collection[str] = True,
               progress: Progress = lambda _m: None) -> tuple[Report, dict[str, Any]]:
    """Collect from the live lab, run fault checks if asked (all, or only those whose ids ``faults`` names: a
    checkpoint of one task breaks nothing else), and return (report, raw evidence)."""
    spec = lab.spec
    progress("collecting facts from the nodes")
    raw = collect_raw(lab)
    facts = LabFacts.from_raw(spec, raw)  # built once: the pure checks and the fault checks share it
    checked = verdicts(spec, facts)
    wanted = faults if not isinstance(faults, bool) else ()
    fault_checks = [c for c in spec.checks if c.fault and (faults is True or c.id in wanted)]
    if faults and fault_checks:
        passed = {check_id: verdict.passed for check_id, verdict in checked.items()}
        raw["faults"] = {}
        for check in fault_checks:
            outcome = run_fault(spec.kind_def, check.id, lab, facts, passed, progress)
            raw["faults"][check.id] = {"passed": outcome.verdict.passed, "feedback": outcome.verdict.feedback,
                                       "hint": outcome.verdict.hint, "measurements": outcome.measurements}
    return evaluate(spec, raw, unrun_faults_count=faults is True, checked=checked), raw

