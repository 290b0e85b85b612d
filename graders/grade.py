"""The pure grading core: a report from raw facts (collected live a moment ago, or saved as evidence).

Nothing here talks to a lab: no SSH, no provider, no terminal output (tests/unit/graders/test_pure_core.py holds it to
that), so that nbgrader's autograder grades evidence files fast and anywhere. The live side, which collects
the facts and runs the fault checks, is graders/live.py.
"""

from __future__ import annotations

from typing import Any

from graders import timeline
from graders.checks import CheckFunction, Verdict
from graders.facts import FactMissing, LabFacts
from graders.report import CheckResult, Report
from graders.scenario import (
    RECORD,
    ROOT_CAUSE_ID,
    ROOT_CAUSE_POINTS,
    ROOT_CAUSE_TITLE,
    Scenario,
    applicable,
    recorded_seed,
    scenario_for,
)
from halab.spec import CheckSpec, LabSpec
from halab.spec.kinds import Kind


def _verdict(function: CheckFunction, facts: LabFacts) -> Verdict:
    """The check's verdict; one that does not pass after the check met an incomplete answer (even one it caught
    and judged as missing) is unreadable: the failure may be the broken answer's, not the student's."""
    before = len(facts.unread)
    verdict = _judge(function, facts)
    met = list(dict.fromkeys(facts.unread[before:]))
    if met and not verdict.passed:
        return Verdict(False, "; ".join(met), unreadable=True)
    return verdict


def _judge(function: CheckFunction, facts: LabFacts) -> Verdict:
    try:
        return function(facts)
    except FactMissing as exc:
        return Verdict(False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a grader bug must cost the student nothing but this check
        return Verdict(False, f"the grader could not evaluate this check ({type(exc).__name__}: {exc}); "
                              "please report it to your instructor")


def _recorded_fault(kind: Kind, check: CheckSpec, raw: dict[str, Any], unrun_faults_count: bool,
                    measurements: dict[str, Any]) -> tuple[Verdict, str, list[dict[str, Any]]] | None:
    """A fault check's verdict as recorded when it ran; None to leave it out of the report."""
    faults = raw.get("faults")
    recorded_faults: dict[str, Any] = faults if isinstance(faults, dict) else {}
    recorded = recorded_faults.get(check.id)
    if recorded is not None and not (isinstance(recorded, dict) and isinstance(recorded.get("passed"), bool)):
        recorded = {"passed": False, "feedback": "the recorded result of this fault check is damaged"}
    if recorded is None and not unrun_faults_count:
        return None
    if recorded is None:
        return (Verdict(False, "not run (faults were skipped: run the check without --no-faults)"),
                "halab check LAB runs the fault checks too.", [])
    if isinstance(recorded.get("measurements"), dict):
        measurements.update(recorded["measurements"])
    verdict = Verdict(bool(recorded["passed"]), str(recorded.get("feedback", "(no feedback recorded)")),
                      str(recorded.get("hint", "")))
    hint = kind.faults[check.id].hint if check.id in kind.faults else ""
    return verdict, hint, timeline.recorded(recorded.get("timeline"))


def verdicts(spec: LabSpec, facts: LabFacts) -> dict[str, Verdict]:
    """Every pure check the lab counts, each evaluated once on the facts, by check id."""
    kind = spec.kind_def
    return {check.id: _verdict(kind.checks[check.id].function, facts)
            for check in spec.checks if not check.fault and check.id in kind.checks}


def evaluate(spec: LabSpec, raw: Any, unrun_faults_count: bool = True,
             checked: dict[str, Verdict] | None = None) -> Report:
    """The report from raw facts alone (pure: the same evidence always gives the same report). Fault checks
    take their recorded outcome from ``raw["faults"]``; one that was never run scores zero, or, with
    ``unrun_faults_count=False`` (`halab check --no-faults`), is left out of the report. ``checked``: the pure
    checks' verdicts when the caller has them already (the live check evaluated them before the fault
    checks), so that no check runs twice."""
    raw = raw if isinstance(raw, dict) else {}
    kind = spec.kind_def
    if checked is None:
        checked = verdicts(spec, LabFacts.from_raw(spec, raw))
    results: list[CheckResult] = []
    measurements: dict[str, Any] = {}
    # What titles and hints may name: the lab's settings, and its cluster's nodes ("pcmk_host_list={cluster_nodes}"
    # reads "hv1 hv2" in the virtualization lab, not another lab's names).
    values = {**spec.settings, "cluster_nodes": " ".join(spec.member_names)}
    for check in spec.checks:
        if check.fault:
            title = kind.faults[check.id].title if check.id in kind.faults else check.id
            found = _recorded_fault(kind, check, raw, unrun_faults_count, measurements)
            if found is None:
                continue
            verdict, hint, events = found
        elif check.id in kind.checks:
            events = []
            definition = kind.checks[check.id]
            title, hint = definition.title, definition.hint
            verdict = checked[check.id]
        else:  # the spec loader refuses such a lab; evidence graded by an older spec may still name one
            title, hint, events = check.id, "", []
            verdict = Verdict(False, f"no grader implements check '{check.id}'")
        results.append(CheckResult(
            id=check.id, title=kind.describe(title, values), passed=verdict.passed,
            points=check.points if verdict.passed else 0, max_points=check.points, feedback=verdict.feedback,
            hint="" if verdict.passed or verdict.unreadable else verdict.hint or kind.describe(hint, values),
            task=check.task, fault=check.fault, unreadable=verdict.unreadable, timeline=events,
        ))
    root_cause = _root_cause(spec, raw)
    if root_cause is not None:
        results.append(root_cause)
    return Report(spec.name, results, measurements, str(raw.get("collected_at", "")), bool(raw.get("faults")))


def broken_by(spec: LabSpec, raw: dict[str, Any]) -> Scenario | None:
    """The scenario `halab break` put the lab in, derived from the seed the facts recorded; None when the lab was
    not broken on purpose (or the record is damaged, or the kind has no scenarios any more)."""
    seed = recorded_seed(raw.get(RECORD))
    scenarios = applicable(spec.kind_def.scenario_list(), spec) if seed is not None else []
    return scenario_for(scenarios, spec.path.stem, seed) if scenarios and seed is not None else None


def _root_cause(spec: LabSpec, raw: dict[str, Any]) -> CheckResult | None:
    """The broken lab's extra check: its cause repaired, not masked. Its feedback never says what the cause was
    (the student diagnoses it; the lab's own checks show the symptoms)."""
    scenario = broken_by(spec, raw)
    if scenario is None:
        return None
    verdict = _verdict(scenario.root_cause, LabFacts.from_raw(spec, raw))
    if verdict.unreadable:
        feedback = verdict.feedback
    elif verdict.passed:
        feedback = "repaired: the cause is gone, not only its symptom"
    else:
        feedback = "not yet: the cause of the breakage is still there, or only its symptom is hidden"
    return CheckResult(id=ROOT_CAUSE_ID, title=ROOT_CAUSE_TITLE, passed=verdict.passed,
                       points=ROOT_CAUSE_POINTS if verdict.passed else 0, max_points=ROOT_CAUSE_POINTS,
                       feedback=feedback, hint="" if verdict.passed or verdict.unreadable else scenario.hint,
                       task="diagnosis", unreadable=verdict.unreadable)
