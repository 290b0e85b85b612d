"""Evidence: the raw facts and verdicts of a live check, saved so the lab can be graded again without it.

A student's lab runs on their machine; the instructor's autograder cannot reach it. So the lab-check cell
(or `halab check LAB --evidence FILE`) saves what the graders collected to a file in the assignment folder,
nbgrader collects it with the notebook, and at autograde time the same checks run on those facts.

The file carries the lab's identity (name, the instance id of that `halab up`, its host keys) and a SHA-256
digest of its content. The digest is not a signature: it catches damaged files and hand edits, not a student
who recomputes it. README.md ("Evidence") says what it does and does not protect against.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from graders.grade import evaluate
from graders.report import Report
from halab.spec import LabSpec, load_spec_file
from halab.spec.instances import MAX_SLOT

FORMAT = "halab-evidence/1"
# Real evidence is ~50-100 kB per node; a file far larger than that is not ours, and reading it would slow
# the autograder down for nothing.
MAX_BYTES = 20 * 1024 * 1024
RETRY_HINT = ("Bring your lab up, run the lab check of the notebook again (or `halab check {lab} --evidence {file}` "
              "in the assignment folder), and submit the new evidence file with the notebook.")


def evidence_name(lab: str) -> str:
    """The evidence file of a lab, as the notebooks and the nbgrader flow expect it in the assignment folder."""
    return f"evidence-{lab}.json"


def retry_hint(lab: str) -> str:
    return RETRY_HINT.format(lab=lab, file=evidence_name(lab))


def digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class LabInstance(Protocol):
    """What evidence needs of a live lab (halab.lab.Lab is one), named here so that grading from evidence never
    imports the lab runtime (and paramiko)."""

    name: str

    def state(self) -> Any: ...  # halab.runtime.state.LabState: instance, created, nodes, slot


def lab_identity(lab: LabInstance) -> dict[str, Any]:
    """Which lab instance the facts come from: the lab as the student calls it, the id of its `halab up`, when
    that was, its nodes' host keys, and the owner's slot (0 for root's labs: halab/spec/instances.py)."""
    state = lab.state()
    return {"lab": getattr(lab, "base", lab.name), "lab_instance": state.instance, "lab_created": state.created,
            "host_keys": {n.name: n.host_key for n in state.nodes}, "slot": state.slot}


def save_evidence(path: str | Path, lab: LabInstance, raw: dict[str, Any], report: Report) -> None:
    write_evidence(path, lab_identity(lab), raw, report)


def write_evidence(path: str | Path, identity: dict[str, Any], raw: dict[str, Any], report: Report) -> None:
    payload = {"format": FORMAT, **identity, "raw": raw, "report": report.to_dict()}
    document = {"payload": payload, "sha256": digest(payload)}
    target = Path(path)
    # Written aside and renamed: a check interrupted while saving must not leave half a file to submit.
    temporary = target.with_suffix(target.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=1))
    os.replace(temporary, target)


class EvidenceError(Exception):
    """The evidence cannot be used. `kind` says why, for tests and summaries; the message is for the student."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # missing, unreadable, corrupt, format, edited, other-lab


@dataclass(frozen=True)
class Evidence:
    lab: str
    lab_instance: str
    lab_created: str
    host_keys: dict[str, str]
    raw: dict[str, Any]
    recorded: dict[str, Any] = field(default_factory=dict)  # the report as the student saw it
    slot: int = 0  # the owner's slot (halab/spec/instances.py): which values the lab was given

    def describe(self) -> str:
        collected = self.raw.get("collected_at") or "an unknown time"
        return f"evidence from lab '{self.lab}' (instance {self.lab_instance[:12]}, up since {self.lab_created}), " \
               f"collected at {collected}"


def load_evidence(path: str | Path, expected_lab: str) -> Evidence:
    """Read and verify an evidence file; EvidenceError with a sentence for the student if it is not usable."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise EvidenceError("missing", f"There is no evidence file {path.name} in the submission.") from None
    except OSError as exc:
        raise EvidenceError("unreadable", f"The evidence file {path.name} cannot be read ({exc.strerror}).") from None
    if size > MAX_BYTES:
        raise EvidenceError("corrupt", f"The evidence file {path.name} is far too large ({size} bytes) to be one.")
    try:
        document = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvidenceError("corrupt", f"The evidence file {path.name} is damaged: it is not valid JSON ({exc}).") \
            from None
    payload = document.get("payload") if isinstance(document, dict) else None
    if not isinstance(payload, dict) or not isinstance(document.get("sha256"), str):
        raise EvidenceError("format", f"{path.name} is not a halab evidence file (no payload and digest).")
    if payload.get("format") != FORMAT:
        raise EvidenceError("format", f"{path.name} is in format {payload.get('format')!r}, not {FORMAT!r}: it was "
                                      "not made by this version of halab.")
    # Edited before anything else is believed: a file changed by hand may claim any lab or result.
    if digest(payload) != document["sha256"]:
        raise EvidenceError("edited", f"The evidence file {path.name} was changed after the lab check saved it "
                                      "(its digest does not match its content), so it cannot be trusted.")
    if payload.get("lab") != expected_lab:
        raise EvidenceError("other-lab", f"The evidence file {path.name} comes from another lab "
                                         f"({payload.get('lab')!r}); this item grades lab {expected_lab!r}.")
    raw, host_keys = payload.get("raw"), payload.get("host_keys")
    if not isinstance(raw, dict) or not isinstance(host_keys, dict):
        raise EvidenceError("format", f"The evidence file {path.name} has no facts in it.")
    report = payload.get("report")
    recorded: dict[str, Any] = report if isinstance(report, dict) else {}
    slot = payload.get("slot", 0)
    if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot <= MAX_SLOT:
        raise EvidenceError("format", f"The evidence file {path.name} names no valid lab slot ({slot!r}).")
    return Evidence(str(payload["lab"]), str(payload.get("lab_instance", "")), str(payload.get("lab_created", "")),
                    {str(k): str(v) for k, v in host_keys.items()}, raw, recorded, slot)


def failed_report(spec: LabSpec, reason: str, hint: str) -> Report:
    """Every check of the lab failed for one reason (no usable evidence): zero points, and the reason on each."""
    titled = evaluate(spec, {})  # the checks with their titles and points, all failed
    return Report(spec.name, [replace(c, passed=False, points=0, feedback=reason, hint=hint) for c in titled.checks])


@dataclass(frozen=True)
class EvidenceGrade:
    report: Report
    evidence: Evidence | None
    problem: EvidenceError | None = None


def grade_evidence(path: str | Path, spec: LabSpec) -> EvidenceGrade:
    """Grade a lab from its evidence file with the current checks; never raises on a bad file.

    The verdicts saved in the file are not trusted: the report is computed again from the raw facts, so a
    grader fix applies to old evidence too. Fault checks keep their recorded outcome (they cannot be re-run
    without the lab)."""
    try:
        evidence = load_evidence(path, spec.name)
    except EvidenceError as problem:
        return EvidenceGrade(failed_report(spec, str(problem), retry_hint(spec.name)), None, problem)
    # A user's lab had values of its own (addresses, cluster name): its facts are graded against those.
    own = load_spec_file(spec.path, evidence.slot) if evidence.slot else spec
    return EvidenceGrade(evaluate(own, evidence.raw), evidence)
