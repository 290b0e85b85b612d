"""Release, submit, collect, autograde and feedback with the real nbgrader CLI, for notebook 3 and its lab.

No lab here: the evidence is built from facts recorded on real nodes with a FABRICATED lab identity
(tests/course/helpers.py). The end-to-end run on a live lab is tests/integration/test_nbgrader_flow.py.
Each submission is one of the bad inputs a grader must survive: autograde must finish, the affected items
score zero, and the feedback must say why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from tests.course.helpers import recorded_raw, write_evidence
from tests.course.nbgrader_flow import CourseFlow, answer_quiz, grade_id, graded_tests, written_answers

ASSIGNMENT = "03-clustering"
QUIZ_TESTS = {"test-two-node-votes", "test-daemons"}
DIAGNOSIS = "diagnosis-clustering"  # the break-fix written diagnosis: graded by hand
BREAK_SEED = 4242


def solved(folder: Path) -> None:
    write_evidence(folder, recorded_raw("solved", failover_passed=True))


def corrupt(folder: Path) -> None:
    solved(folder)
    path = folder / "evidence-clustering.json"
    path.write_bytes(path.read_bytes()[: 5000])  # cut off, as by a full disk or an interrupted copy


def edited(folder: Path) -> None:
    path = write_evidence(folder, recorded_raw("fresh", failover_passed=False))
    document = json.loads(path.read_text())
    for node in document["payload"]["raw"]["nodes"].values():  # claim the daemons run
        node["commands"]["is_active"].update(stdout="active\nactive\n", exit=0)
    path.write_text(json.dumps(document))


def other_lab(folder: Path) -> None:
    write_evidence(folder, recorded_raw("solved-3node", failover_passed=True), lab="clustering3")


def repaired(folder: Path) -> None:
    """A lab `halab break` broke (its evidence records the seed) and the student repaired."""
    raw = recorded_raw("solved", failover_passed=True)
    raw["break"] = {"seed": BREAK_SEED}
    write_evidence(folder, raw)


def tampered(folder: Path) -> None:
    """Solved evidence and the right answers, but a quiz test edited and a lab test cell deleted."""
    solved(folder)
    path = folder / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if grade_id(cell) == "test-daemons":
            cell.source = "pass  # nothing to see"
    notebook.cells = [c for c in notebook.cells if grade_id(c) != "lab-clustering-authkey"]
    nbformat.write(notebook, path)


SUBMISSIONS: dict[str, tuple[bool, Callable[[Path], None] | None]] = {
    # student: (answers the quiz, what they do to the lab evidence)
    "solved": (True, solved),
    "untouched": (False, None),
    "corrupt": (True, corrupt),
    "edited": (True, edited),
    "otherlab": (True, other_lab),
    "tampered": (True, tampered),
    "repaired": (True, repaired),
}


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> CourseFlow:
    return CourseFlow(tmp_path_factory.mktemp("nbgrader"))


@pytest.fixture(scope="module")
def summary(flow: CourseFlow) -> str:
    """What `halab grade` printed; it ran nbgrader collect, autograde and generate_feedback."""
    flow.release(ASSIGNMENT)
    for student, (answers, lab_work) in SUBMISSIONS.items():
        folder = flow.fetch(ASSIGNMENT, student)
        if answers:
            answer_quiz(flow, folder)
        if lab_work:
            lab_work(folder)
        flow.submit(ASSIGNMENT, student)
    return flow.halab_grade(ASSIGNMENT)


@pytest.fixture(scope="module")
def graded(flow: CourseFlow, summary: str) -> CourseFlow:
    return flow


def lab_items(flow: CourseFlow) -> dict[str, float]:
    return {k: v for k, v in graded_tests(flow.source_notebook(ASSIGNMENT)).items() if k not in QUIZ_TESTS}


def autograded(scores: dict[str, tuple[float, float]]) -> dict[str, float]:
    return {k: s for k, (s, _) in scores.items() if k != DIAGNOSIS}


def test_the_student_copy_has_no_solutions_and_the_lab_cells(graded: CourseFlow) -> None:
    released = nbformat.read(graded.course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    assert 'lab_check("clustering")' in text and len(lab_items(graded)) == 7
    assert not list((graded.course / "release" / ASSIGNMENT).glob("evidence-*"))


def test_solved_submission_gets_full_marks(graded: CourseFlow) -> None:
    scores = graded.scores(ASSIGNMENT, "solved")
    assert autograded(scores) == graded_tests(graded.source_notebook(ASSIGNMENT))
    assert sum(s for s, _ in scores.values()) == 122
    assert written_answers(graded.source_notebook(ASSIGNMENT)) == {DIAGNOSIS: 3}
    assert scores[DIAGNOSIS] == (0, 3)  # written: it waits for the instructor
    html = graded.feedback(ASSIGNMENT, "solved")
    assert "Graded from the evidence from lab" in html and "fabricated-instance-0001"[:12] in html


def test_untouched_submission_gets_zero_and_is_told_to_save_evidence(graded: CourseFlow) -> None:
    scores = graded.scores(ASSIGNMENT, "untouched")
    assert all(score == 0 for score, _ in scores.values()), scores
    html = graded.feedback(ASSIGNMENT, "untouched")
    assert html.count("There is no evidence file evidence-clustering.json in the submission.") >= 7
    assert "halab check clustering --evidence evidence-clustering.json" in html


@pytest.mark.parametrize(
    ("student", "reason"),
    [
        ("corrupt", "is damaged: it is not valid JSON"),
        ("edited", "was changed after the lab check saved it"),
        ("otherlab", "comes from another lab ('clustering3'); this item grades lab 'clustering'"),
    ],
)
def test_bad_evidence_scores_zero_on_the_lab_and_says_why(graded: CourseFlow, student: str, reason: str) -> None:
    scores = graded.scores(ASSIGNMENT, student)
    assert all(scores[item][0] == 0 for item in lab_items(graded)), scores
    assert all(scores[item][0] == scores[item][1] for item in QUIZ_TESTS), "the quiz is not affected"
    html = graded.feedback(ASSIGNMENT, student)
    assert reason in html and "This item scores zero." in html


def test_edited_and_deleted_graded_cells_score_zero_and_say_why(graded: CourseFlow) -> None:
    scores = graded.scores(ASSIGNMENT, "tampered")
    # The answer is right, but the test was edited: zero (nbgrader alone would restore the test and run it).
    assert scores["test-daemons"] == (0, 1)
    assert scores["lab-clustering-authkey"] == (0, 10)
    assert scores["test-two-node-votes"] == (1, 1)
    others = {k: v for k, v in lab_items(graded).items() if k != "lab-clustering-authkey"}
    assert all(scores[item][0] == points for item, points in others.items()), "the other lab items still count"
    html = graded.feedback(ASSIGNMENT, "tampered")
    assert "This graded cell (test-daemons) was edited in the submitted notebook, so it scores zero." in html
    assert "This graded cell (lab-clustering-authkey) was deleted in the submitted notebook" in html


def test_feedback_shows_each_checks_feedback_and_hint(graded: CourseFlow) -> None:
    html = graded.feedback(ASSIGNMENT, "solved")
    for title in ("Corosync", "authkey", "floating"):
        assert title.lower() in html.lower()
    assert "fabricated for a test: the page answered from node2 after 7.1 s" in html


def test_halab_grade_summarises_scores_and_evidence(summary: str) -> None:
    assert "$ nbgrader collect 03-clustering" in summary and "$ nbgrader autograde 03-clustering" in summary
    rows = {line.split("│")[1].strip(): line for line in summary.splitlines() if line.count("│") >= 3}
    assert set(SUBMISSIONS) <= set(rows)
    # The written diagnosis is not graded yet: the score says it is not final; an untouched answer cell is 0.
    assert "122 / 125 (not final)" in rows["solved"] and "0 / 125" in rows["untouched"]
    assert "(not final)" not in rows["untouched"]
    assert "Not final: " in summary and "formgrader" in summary
    assert "ok, lab instance fabricated-i" in rows["solved"] and "none" in rows["untouched"]
    # "solved" and "tampered" handed in evidence of one lab instance (the same fabricated identity).
    assert "solved, tampered handed in evidence from the same lab instance" in " ".join(summary.split())


def test_the_instructor_sees_which_fault_a_seed_gave_and_grades_the_diagnosis(flow: CourseFlow,
                                                                             summary: str) -> None:
    from graders.grade import broken_by
    from halab.spec import load_spec

    scenario = broken_by(load_spec("clustering"), {"break": {"seed": BREAK_SEED}})
    assert scenario is not None
    said = " ".join(summary.split())
    assert f"Break-fix: repaired's lab was broken by `halab break`, seed {BREAK_SEED}: {scenario.name}" in said
    assert "Break-fix: solved's" not in said  # a lab nobody broke has no such line
    scores = flow.scores(ASSIGNMENT, "repaired")
    assert sum(s for s, _ in scores.values()) == 122, scores  # the repair earns the lab's points
    html = flow.feedback(ASSIGNMENT, "repaired")
    assert scenario.name not in html and scenario.summary not in html  # the student never reads it
    assert flow.manual_grade(ASSIGNMENT, "repaired", DIAGNOSIS, 3) == 125
