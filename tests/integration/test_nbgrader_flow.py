"""The instructor's nbgrader flow end to end, with a lab solved on live nodes.

generate_assignment and release_assignment; three students fetch the assignment into their workspaces:
alice answers the quiz, solves the lab and presses the lab-check button in her notebook (executed with
nbclient, as JupyterLab would); carol presses it on the fresh lab without doing anything; bob touches
nothing. The lab is graded live once (the instructor's HALAB_GRADE_LIVE switch), then goes down before
grading: collect, autograde and generate_feedback, the real nbgrader commands, must need no lab. Alice gets
full marks, bob zero, and the feedback shows the grader's per-check feedback (and, for carol, its hints).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from graders.evidence import grade_evidence, load_evidence
from halab.course import labgrade
from halab.lab import Lab
from halab.spec import load_spec
from solutions import solve
from tests.course.nbgrader_flow import CourseFlow, answer_quiz, grade_id, graded_tests, written_answers
from tests.integration.conftest import halab, leftovers, slow_misses

pytestmark = pytest.mark.integration
ASSIGNMENT = "03-clustering"
CELL_TIMEOUT_S = 900  # the lab check runs the fault check: a node powered off, failover measured, powered on
# What pressing the lab-check button does (its on_click handler), run in the student's kernel right after
# the lab-check cell: `_` is the widget that cell displayed.
PRESS_BUTTON = """
view = _
assert view.lab == "clustering" and view.evidence is not None, "not the lab-check widget"
view.run(wait=True)
print(view.out.value)
"""


def work_in_notebook(folder: Path) -> tuple[str, list[str]]:
    """Run the student's notebook top to bottom in their assignment folder, pressing the lab-check button
    when it appears; return what the button showed, and the cells that failed (unanswered questions)."""
    path = folder / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    shown = ""
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
            if grade_id(cell) == "lab-check-clustering":
                press = nbformat.v4.new_code_cell(PRESS_BUTTON)  # not kept in the notebook
                client.execute_cell(press, index)
                shown = "".join(o.get("text", "") or o.get("evalue", "") for o in press.outputs)
    nbformat.write(notebook, path)
    return shown, [grade_id(c) or c.source[:40] for c in notebook.cells
                   if any(o.output_type == "error" for o in c.get("outputs", []))]


def test_release_solve_submit_autograde_and_feedback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = Lab("clustering")
    if lab.is_up():
        pytest.fail("a clustering lab is already up; this test brings up its own (take yours down first)")
    flow = CourseFlow(tmp_path)
    flow.release(ASSIGNMENT)
    alice, bob, carol = (flow.fetch(ASSIGNMENT, student) for student in ("alice", "bob", "carol"))
    answer_quiz(flow, alice)
    try:
        lab.up()
        instance = lab.state().instance
        carol_saw, _ = work_in_notebook(carol)
        solve(lab)
        # The terminal way to the same file (into a scratch folder: alice uses the button).
        cli = halab("check", "clustering", "--no-faults", "--evidence", str(tmp_path / "cli-evidence.json"))
        alice_saw, alice_failed = work_in_notebook(alice)
        # The instructor's switch: grade on the live lab (the same instance as alice's evidence: no note).
        monkeypatch.setenv(labgrade.LIVE_ENV, "1")
        live = labgrade.grade_lab("clustering", alice)
        monkeypatch.delenv(labgrade.LIVE_ENV)
    finally:
        lab.down()
        assert leftovers("clustering") == [], "the lab left things behind"

    # Full marks, but for a failover slower than its objective, which this machine cannot promise (measured,
    # explained and scored by the grader; never a failed test).
    alice_report = grade_evidence(alice / "evidence-clustering.json", load_spec("clustering")).report
    assert alice_report is not None
    alice_slow = slow_misses(alice_report.to_dict())
    assert "Saved in evidence-clustering.json" in alice_saw, alice_saw
    assert f"{120 - sum(alice_slow.values())} / 120 points" in alice_saw, alice_saw
    assert alice_failed == [], "every cell of a solved notebook runs"
    assert live.source == f"Graded live on lab 'clustering' (instance {instance[:12]})." and not live.notes
    assert live.report is not None and live.report.faults_run
    assert live.report.score == 120 - sum(slow_misses(live.report.to_dict()).values())
    assert "Saved in evidence-clustering.json" in carol_saw, carol_saw
    assert cli.returncode == 0 and "Traceback" not in cli.stderr, cli.stderr  # full score without faults
    assert load_evidence(tmp_path / "cli-evidence.json", "clustering").lab_instance == instance
    for folder in (alice, carol):
        assert load_evidence(folder / "evidence-clustering.json", "clustering").lab_instance == instance
    for student in ("alice", "bob", "carol"):
        flow.submit(ASSIGNMENT, student)

    flow.grade(ASSIGNMENT)  # nbgrader collect, autograde, generate_feedback: no lab up now

    expected = graded_tests(flow.source_notebook(ASSIGNMENT))
    assert sum(expected.values()) == 122
    if alice_slow:  # the failover task's cell (worth its task's points) earns what its checks earned
        expected["lab-clustering-failover"] = float(sum(c.points for c in alice_report.checks if c.task == "failover"))
    written = written_answers(flow.source_notebook(ASSIGNMENT))  # graded by hand: 0 until the instructor does
    assert {k: s for k, (s, _) in flow.scores(ASSIGNMENT, "alice").items()} == expected | dict.fromkeys(written, 0.0)
    assert all(score == 0 for score, _ in flow.scores(ASSIGNMENT, "bob").values())
    carol_scores = flow.scores(ASSIGNMENT, "carol")
    assert 0 <= sum(s for s, _ in carol_scores.values()) < 30 and carol_scores["lab-clustering-failover"][0] == 0

    alice_feedback = flow.feedback(ASSIGNMENT, "alice")
    assert f"instance {instance[:12]}" in alice_feedback
    assert "failover_seconds" in alice_feedback and "answered" in alice_feedback  # the fault check's own words
    assert "Hint:" not in alice_feedback
    carol_feedback = flow.feedback(ASSIGNMENT, "carol")
    assert carol_feedback.count("Hint:") >= 10 and "✘ failed" in carol_feedback
    assert "There is no evidence file" in flow.feedback(ASSIGNMENT, "bob")
