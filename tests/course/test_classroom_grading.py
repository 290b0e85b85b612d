"""Grading a classroom course: the roster's slots against the evidence, and the class's scores as CSV, with the
real nbgrader CLI and `halab grade`.

No lab and no Unix users here (tests/integration/test_classroom.py has both): the evidence is built from facts
recorded on real nodes and moved into each student's slot (tests/course/helpers.py, recorded_raw_in_slot),
with a FABRICATED lab identity. ann hands in her own lab's evidence; ben hands in ann's; cid's lab is his own
but its corosync.conf and CIB carry ann's cluster name.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from graders.evidence import evidence_name, write_evidence
from graders.grade import evaluate
from graders.provenance import ROSTER_FILE, Roster
from halab.spec import load_spec, load_spec_file
from tests.course.helpers import recorded_raw_in_slot
from tests.course.nbgrader_flow import CourseFlow, answer_quiz

ASSIGNMENT = "03-clustering"
ROSTER = Roster({"ann": 3, "ben": 4, "cid": 5})
LAB_TASKS = {"corosync": 35, "authkey": 10, "services": 20, "fencing": 10, "web": 15, "tidy": 10, "failover": 20}


def save(folder: Path, slot: int, raw: dict[str, Any], instance: str) -> Path:
    """Evidence as the lab-check cell saves it for a lab in `slot` (identity FABRICATED, facts recorded)."""
    identity = {"lab": "clustering", "lab_instance": instance, "lab_created": "2026-12-01T10:00:00",
                "host_keys": {"node1": "ssh-ed25519 FABRICATED1", "node2": "ssh-ed25519 FABRICATED2"}, "slot": slot}
    spec = load_spec_file(load_spec("clustering").path, slot)
    path = folder / evidence_name("clustering")
    write_evidence(path, identity, raw, evaluate(spec, raw))
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[CourseFlow, str, Path]:
    flow = CourseFlow(tmp_path_factory.mktemp("classroom-grading"))
    ROSTER.write(flow.course / ROSTER_FILE)
    flow.release(ASSIGNMENT)
    folders = {student: flow.fetch(ASSIGNMENT, student) for student in ROSTER.slots}
    for folder in folders.values():
        answer_quiz(flow, folder)
    ann = save(folders["ann"], 3, recorded_raw_in_slot("solved", 3, failover_passed=True), "ann-instance-0001")
    (folders["ben"] / ann.name).write_bytes(ann.read_bytes())  # ben hands in ann's file
    save(folders["cid"], 5, recorded_raw_in_slot("solved", 5, cluster_slot=3, failover_passed=True),
         "cid-instance-0001")
    for student in ROSTER.slots:
        flow.submit(ASSIGNMENT, student)
    table = flow.root / "grades.csv"
    summary = flow.halab_grade(ASSIGNMENT, "--csv", str(table))
    return flow, summary, table


def lab_points(flow: CourseFlow, student: str) -> dict[str, float]:
    return {k.removeprefix("lab-clustering-"): s for k, (s, _) in flow.scores(ASSIGNMENT, student).items()
            if k.startswith("lab-clustering-")}


def test_a_students_own_lab_gets_full_marks(graded: tuple[CourseFlow, str, Path]) -> None:
    flow, _, _ = graded
    assert lab_points(flow, "ann") == LAB_TASKS
    feedback = flow.feedback(ASSIGNMENT, "ann")
    assert "ann-instance" in feedback and "not on your own lab" not in feedback and "work copied" not in feedback


def test_evidence_of_a_classmates_lab_scores_zero_and_names_them(graded: tuple[CourseFlow, str, Path]) -> None:
    flow, summary, _ = graded
    assert lab_points(flow, "ben") == dict.fromkeys(LAB_TASKS, 0)
    feedback = flow.feedback(ASSIGNMENT, "ben")
    assert "This evidence was made on ann's lab (slot 3), not on your own lab (slot 4)" in feedback
    assert "ben's evidence was made on ann's lab (slot 3), not on ben's own (slot 4)" in summary
    assert "ann, ben handed in evidence from the same lab instance" in summary


def test_a_classmates_values_in_ones_own_lab_are_named(graded: tuple[CourseFlow, str, Path]) -> None:
    flow, summary, _ = graded
    assert "cid's lab holds values of ann's lab (halab-u3)" in summary
    feedback = flow.feedback(ASSIGNMENT, "cid")
    assert "holds values of ann's lab (halab-u3), not of yours" in feedback
    points = lab_points(flow, "cid")
    assert points["corosync"] < LAB_TASKS["corosync"] and points["authkey"] == LAB_TASKS["authkey"]


def test_the_class_scores_go_to_csv_per_assignment_and_lab_task(graded: tuple[CourseFlow, str, Path]) -> None:
    flow, summary, table = graded
    rows = list(csv.reader(table.open()))
    header, maxima, *students = rows
    tasks = [f"{ASSIGNMENT} lab clustering: {task}" for task in LAB_TASKS]
    assert header[:4] == ["student_id", "last_name", "first_name", "email"] and set(tasks) <= set(header)
    assert header.count(ASSIGNMENT) == 1 and maxima[0] == "max_score" and maxima[header.index(ASSIGNMENT)] == "125"
    by_student = {row[0]: dict(zip(header, row, strict=True)) for row in students}
    assert sorted(by_student) == ["ann", "ben", "cid"]
    for task, points in LAB_TASKS.items():
        assert float(by_student["ann"][f"{ASSIGNMENT} lab clustering: {task}"]) == points
        assert float(by_student["ben"][f"{ASSIGNMENT} lab clustering: {task}"]) == 0
    assert float(by_student["ann"][ASSIGNMENT]) == 122  # the quiz (2) and the lab (120); the diagnosis (3) by hand
    assert float(by_student["ben"][ASSIGNMENT]) == 2
    assert str(table) in summary
