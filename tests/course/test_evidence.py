"""Evidence files: saved, verified and graded without a lab, from facts recorded on real nodes.

Every bad file (missing, damaged, edited, from another lab, not ours) must give zero points with a reason,
never an exception; a good one must give exactly what the checks give on its facts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graders.evidence import FORMAT, EvidenceError, digest, evidence_name, grade_evidence, load_evidence
from graders.grade import evaluate
from halab.spec import load_spec
from tests.course.helpers import recorded_raw, write_evidence

SPEC = load_spec("clustering")


def rewrite(path: Path, change: Callable[[dict[str, Any]], Any], keep_digest: bool = True) -> None:
    """Change the payload; keep_digest=True leaves the old digest (a hand edit), False recomputes it."""
    document = json.loads(path.read_text())
    change(document["payload"])
    if not keep_digest:
        document["sha256"] = digest(document["payload"])
    path.write_text(json.dumps(document))


def test_solved_evidence_grades_full_marks_with_its_identity(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("solved", failover_passed=True), instance="fabricated-abc")
    assert path.name == evidence_name("clustering") == "evidence-clustering.json"
    result = grade_evidence(path, SPEC)
    assert result.problem is None and result.evidence is not None
    assert result.report.score == result.report.max_score == 120
    assert result.evidence.lab_instance == "fabricated-abc"
    assert set(result.evidence.host_keys) == {"node1", "node2"}
    assert "instance fabricated-a" in result.evidence.describe()
    assert result.report.measurements == {"failover_seconds": 7.1}


@pytest.mark.parametrize("scenario", ["fresh", "broken-config", "resource-failed", "node2-off"])
def test_evidence_grades_as_the_checks_do_on_the_same_facts(tmp_path: Path, scenario: str) -> None:
    raw = recorded_raw(scenario)
    result = grade_evidence(write_evidence(tmp_path, raw), SPEC)
    assert result.problem is None
    assert result.report.to_dict() == evaluate(SPEC, raw).to_dict()
    assert result.report.score < result.report.max_score
    assert all(c.feedback for c in result.report.checks)


def test_the_saved_verdicts_are_not_believed(tmp_path: Path) -> None:
    # A valid digest over a report claiming full marks, on the facts of a fresh lab: the facts decide.
    path = write_evidence(tmp_path, recorded_raw("fresh"))

    def claim_full_marks(payload: dict) -> None:
        payload["report"]["score"] = 120
        for check in payload["report"]["checks"]:
            check.update(passed=True, points=check["max_points"])

    rewrite(path, claim_full_marks, keep_digest=False)
    result = grade_evidence(path, SPEC)
    assert result.problem is None and result.report.score < 20


def test_a_missing_file(tmp_path: Path) -> None:
    result = grade_evidence(tmp_path / "evidence-clustering.json", SPEC)
    assert result.problem is not None and result.problem.kind == "missing" and result.evidence is None
    assert result.report.score == 0 and result.report.max_score == 120
    assert all("no evidence file evidence-clustering.json" in c.feedback.lower() for c in result.report.checks)
    assert all("halab check clustering --evidence evidence-clustering.json" in c.hint for c in result.report.checks)
    # The titles are the checks' own, so the feedback table still reads as the lab's checks.
    assert {c.title for c in result.report.checks} == {c.title for c in evaluate(SPEC, {}).checks}


@pytest.mark.parametrize(
    ("content", "kind", "words"),
    [
        (b'{"payload": {"format": "halab-evidence/1", "lab": "clus', "corrupt", "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "corrupt", "not valid JSON"),
        (b"", "corrupt", "not valid JSON"),
        (b"[1, 2, 3]", "format", "not a halab evidence file"),
        (b'{"payload": {"format": "halab-evidence/1"}}', "format", "not a halab evidence file"),
        (b'{"payload": {"format": "halab-evidence/9"}, "sha256": "00"}', "format", "not made by this version"),
    ],
)
def test_damaged_or_foreign_files(tmp_path: Path, content: bytes, kind: str, words: str) -> None:
    path = tmp_path / "evidence-clustering.json"
    path.write_bytes(content)
    result = grade_evidence(path, SPEC)
    assert result.problem is not None and result.problem.kind == kind and words in str(result.problem)
    assert result.report.score == 0


def test_an_edited_file(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("broken-config"))

    def turn_stonith_on(payload: dict) -> None:
        for node in payload["raw"]["nodes"].values():
            crm = node["commands"]["crm_mon"]
            crm["stdout"] = crm["stdout"].replace('stonith-enabled="false"', 'stonith-enabled="true"')

    rewrite(path, turn_stonith_on)
    with pytest.raises(EvidenceError, match="changed after the lab check saved it") as caught:
        load_evidence(path, "clustering")
    assert caught.value.kind == "edited"
    assert grade_evidence(path, SPEC).report.score == 0


def test_an_edit_that_changes_nothing_that_matters_is_still_an_edit(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("solved"))
    rewrite(path, lambda payload: payload.update(lab_created="2026-01-01 00:00:00"))
    assert grade_evidence(path, SPEC).problem.kind == "edited"  # type: ignore[union-attr]


def test_evidence_from_another_lab(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, json.loads(json.dumps(recorded_raw("solved"))), lab="clustering3")
    result = grade_evidence(path, SPEC)
    assert result.problem is not None and result.problem.kind == "other-lab"
    assert "another lab ('clustering3')" in str(result.problem) and result.report.score == 0


def test_a_file_far_too_large_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import graders.evidence

    path = write_evidence(tmp_path, recorded_raw("solved"))
    monkeypatch.setattr(graders.evidence, "MAX_BYTES", path.stat().st_size - 1)
    assert grade_evidence(path, SPEC).problem.kind == "corrupt"  # type: ignore[union-attr]


def test_garbage_facts_with_a_valid_digest_fail_the_checks_not_the_grader(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("solved"))
    rewrite(path, lambda payload: payload["raw"].update(nodes={"node1": "garbage", "node2": [1, 2]}),
            keep_digest=False)
    result = grade_evidence(path, SPEC)
    assert result.problem is None and result.report.score == 0
    assert all(c.feedback for c in result.report.checks)


def test_the_format_is_what_the_loader_expects(tmp_path: Path) -> None:
    document = json.loads(write_evidence(tmp_path, recorded_raw("fresh")).read_text())
    assert document["payload"]["format"] == FORMAT
    assert document["sha256"] == digest(document["payload"])
    assert set(document["payload"]) == {"format", "lab", "lab_instance", "lab_created", "host_keys", "slot", "events",
                                        "raw", "report"}


def test_evidence_says_when_halab_solved_the_lab(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("solved", failover_passed=True), solved_at="2026-12-06T10:00:00+0000")
    evidence = load_evidence(path, "clustering")
    assert evidence.solved_by_halab == ("2026-12-06T10:00:00+0000",) and evidence.solve_recorded
    assert grade_evidence(path, SPEC).report.score == 120  # flagged, not marked down: the instructor decides
    assert load_evidence(write_evidence(tmp_path, recorded_raw("solved")), "clustering").solved_by_halab == ()


def test_evidence_of_format_1_still_loads_and_says_it_cannot_tell(tmp_path: Path) -> None:
    path = write_evidence(tmp_path, recorded_raw("solved", failover_passed=True))

    def as_format_1(payload: dict) -> None:
        payload["format"] = "halab-evidence/1"
        del payload["events"]

    rewrite(path, as_format_1, keep_digest=False)
    evidence = load_evidence(path, "clustering")
    assert evidence.solved_by_halab == () and not evidence.solve_recorded
    assert grade_evidence(path, SPEC).report.score == 120


def test_deeply_nested_evidence_is_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "evidence-clustering.json"
    path.write_text('{"payload": ' + "[" * 200_000 + "]" * 200_000 + ', "sha256": "00"}')
    with pytest.raises(EvidenceError, match="nests arrays and objects 200001 levels deep") as caught:
        load_evidence(path, "clustering")
    assert caught.value.kind == "corrupt"
    assert grade_evidence(path, SPEC).report.score == 0
