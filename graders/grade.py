"""Grade a lab: collect raw facts (or take saved evidence), run the lab's checks, then its fault checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graders.checks import Verdict, checks_for
from graders.collect import collect_raw
from graders.facts import FactMissing, LabFacts
from graders.faults import FAULT_CHECKS, run_fault
from graders.report import CheckResult, Report
from halab.errors import HalabError
from halab.lab import Lab
from halab.spec import LabSpec

Progress = Callable[[str], None]


def _verdict(function: Callable[[LabFacts], Verdict], facts: LabFacts) -> Verdict:
    try:
        return function(facts)
    except FactMissing as exc:
        return Verdict(False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a grader bug must cost the student nothing but this check
        return Verdict(False, f"the grader could not evaluate this check ({type(exc).__name__}: {exc}); "
                              "please report it to your instructor")


def evaluate(spec: LabSpec, raw: Any, unrun_faults_count: bool = True) -> Report:
    """The report from raw facts alone (pure: the same evidence always gives the same report). Fault checks
    take their recorded outcome from ``raw["faults"]``; one that was never run scores zero, or, with
    ``unrun_faults_count=False`` (`halab check --no-faults`), is left out of the report."""
    raw = raw if isinstance(raw, dict) else {}
    facts = LabFacts.from_raw(spec, raw)
    definitions = checks_for(spec.kind)
    faults_known = FAULT_CHECKS.get(spec.kind, {})
    results, measurements = [], {}
    for check in spec.checks:
        if check.fault:
            title = faults_known[check.id].title if check.id in faults_known else check.id
            recorded_faults = raw.get("faults") if isinstance(raw.get("faults"), dict) else {}
            recorded = recorded_faults.get(check.id)
            if recorded is not None and not (isinstance(recorded, dict) and isinstance(recorded.get("passed"), bool)):
                recorded = {"passed": False, "feedback": "the recorded result of this fault check is damaged"}
            if recorded is None and not unrun_faults_count:
                continue
            if recorded is None:
                verdict = Verdict(False, "not run (faults were skipped: run the check without --no-faults)")
                hint = "halab check LAB runs the fault checks too."
            else:
                verdict = Verdict(bool(recorded["passed"]), str(recorded.get("feedback", "(no feedback recorded)")),
                                  str(recorded.get("hint", "")))
                if isinstance(recorded.get("measurements"), dict):
                    measurements.update(recorded["measurements"])
                hint = faults_known[check.id].hint if check.id in faults_known else ""
        elif check.id in definitions:
            definition = definitions[check.id]
            title, hint = definition.title, definition.hint
            verdict = _verdict(definition.function, facts)
        else:
            title, hint = check.id, ""
            verdict = Verdict(False, f"no grader implements check '{check.id}'")
        results.append(CheckResult(
            id=check.id, title=title, passed=verdict.passed, points=check.points if verdict.passed else 0,
            max_points=check.points, feedback=verdict.feedback, hint="" if verdict.passed else verdict.hint or hint,
            task=check.task, fault=check.fault,
        ))
    return Report(spec.name, results, measurements, str(raw.get("collected_at", "")), bool(raw.get("faults")))


def grade_live(lab: Lab, faults: bool = True, progress: Progress = lambda _m: None) -> tuple[Report, dict[str, Any]]:
    """Collect from the live lab, run fault checks if asked, and return (report, raw evidence)."""
    spec = lab.spec
    progress("collecting facts from the nodes")
    raw = collect_raw(lab)
    report = evaluate(spec, raw, unrun_faults_count=False)
    fault_checks = [c for c in spec.checks if c.fault]
    if faults and fault_checks:
        passed = {c.id: c.passed for c in report.checks}
        facts = LabFacts.from_raw(spec, raw)
        raw["faults"] = {}
        for check in fault_checks:
            outcome = run_fault(spec.kind, check.id, lab, facts, passed, progress)
            raw["faults"][check.id] = {"passed": outcome.verdict.passed, "feedback": outcome.verdict.feedback,
                                       "hint": outcome.verdict.hint, "measurements": outcome.measurements}
        report = evaluate(spec, raw)
    return report, raw


def run_checks(lab_name: str, faults: bool = True, progress: Progress = lambda _m: None) -> dict[str, Any]:
    """The report of a live lab as a dict (the JSON `halab check --json` prints)."""
    lab = Lab(lab_name)
    try:
        report, _ = grade_live(lab, faults, progress)
    finally:
        lab.close()
    return report.to_dict()


__all__ = ["HalabError", "evaluate", "grade_live", "run_checks"]
