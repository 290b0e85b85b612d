"""The instructor's and students' nbgrader steps with the real nbgrader command line, in a scratch course.

An instructor's course folder (a copy of course/), an exchange folder, and one folder per student with the
nbgrader_config.py that `halab course` writes into a student's workspace. Shared by the grading tests
without a lab (tests/course/test_grading_flow.py) and the end-to-end test on a live lab
(tests/integration/test_nbgrader_flow.py).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from halab.course.workspace import NOT_COPIED, STUDENT_CONFIG, venv_env
from tests.course.helpers import COURSE_DIR

NBGRADER = str(Path(sys.executable).parent / "nbgrader")
STEP_TIMEOUT_S = 600
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION\n?", re.S)


class CourseFlow:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.course = root / "course"
        self.exchange = root / "exchange"
        shutil.copytree(COURSE_DIR, self.course, ignore=shutil.ignore_patterns(*NOT_COPIED, "evidence-*.json"))
        self.exchange.mkdir()
        self.env = venv_env()
        self.env["HALAB_EXCHANGE_DIR"] = str(self.exchange)  # both course/ and the students' configs read it
        # The notebooks' lab panels must not talk to labs that happen to be up on this machine.
        self.env["HALAB_STATE_DIR"] = str(root / "no-labs")
        self.env.pop("HALAB_GRADE_LIVE", None)
        self.log: list[str] = []

    def nbgrader(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """One nbgrader command; a failure raises with the end of its log."""
        result = subprocess.run([NBGRADER, *args], cwd=cwd or self.course, env=self.env, capture_output=True,
                                text=True, timeout=STEP_TIMEOUT_S, stdin=subprocess.DEVNULL)
        self.log.append(f"$ nbgrader {' '.join(args)}\n{result.stderr[-4000:]}")
        if result.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
        return result

    # -- instructor -------------------------------------------------------------------------------------
    def release(self, assignment: str) -> None:
        self.nbgrader("generate_assignment", assignment, "--force")
        self.nbgrader("release_assignment", assignment, "--force")

    def grade(self, assignment: str) -> None:
        self.nbgrader("collect", assignment)
        self.nbgrader("autograde", assignment, "--force")
        self.nbgrader("generate_feedback", assignment, "--force")

    def halab_grade(self, assignment: str, *options: str) -> str:
        """`halab grade`: the same nbgrader steps as grade(), and its summary (what it prints)."""
        command = [sys.executable, "-m", "halab", "grade", assignment, "--course-dir", str(self.course), *options]
        result = subprocess.run(command, env=dict(self.env, COLUMNS="200"), capture_output=True, text=True,
                                timeout=STEP_TIMEOUT_S, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout + result.stderr

    def scores(self, assignment: str, student: str) -> dict[str, tuple[float, float]]:
        """grade_id -> (score, max score) of a student's notebook (named like its assignment)."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}", "halab") as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            # A written answer scores None until the instructor grades it (manual_grade): 0 here.
            return {g.name: (float(g.score or 0), float(g.max_score)) for g in notebook.grades}

    def manual_grade(self, assignment: str, student: str, grade: str, points: float) -> float:
        """The instructor grades a written answer, as the formgrader does; the submission's new total."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}", "halab") as gradebook:
            found = gradebook.find_grade(grade, assignment, assignment, student)
            found.manual_score = points
            found.needs_manual_grade = False
            gradebook.db.commit()
            return float(gradebook.find_submission(assignment, student).score)

    def feedback(self, assignment: str, student: str) -> str:
        """The feedback HTML nbgrader made for the student, with entities unescaped (nbconvert may escape
        quotes or not)."""
        return html.unescape((self.course / "feedback" / student / assignment / f"{assignment}.html").read_text())

    # -- students ---------------------------------------------------------------------------------------
    def fetch(self, assignment: str, student: str) -> Path:
        """The student's copy of the assignment, fetched from the exchange into their workspace."""
        workspace = self.root / "students" / student
        workspace.mkdir(parents=True, exist_ok=True)
        (workspace / "nbgrader_config.py").write_text(STUDENT_CONFIG.format(course_id="halab"))
        self.nbgrader("fetch_assignment", assignment, cwd=workspace)
        return workspace / assignment

    def submit(self, assignment: str, student: str) -> None:
        self.nbgrader("submit", assignment, f"--student={student}", cwd=self.root / "students" / student)

    def source_notebook(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.course / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def grade_id(cell: nbformat.NotebookNode) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def answer_quiz(flow: CourseFlow, folder: Path) -> dict[str, str]:
    """Type the right answers into the answer cells, as a student would (taken from the source's solutions; a
    written answer, a markdown cell, gets the source's example answer)."""
    assignment = folder.name
    source = flow.source_notebook(assignment).cells
    solutions = {grade_id(c): SOLUTION.search(c.source) for c in source if c.cell_type == "code"}
    written = {grade_id(c): c.source for c in source if c.cell_type == "markdown"}
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    answered = {}
    for cell in notebook.cells:
        found = solutions.get(grade_id(cell))
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        if found or grade_id(cell) in written:
            cell.source = found.group(1).strip() if found else written[grade_id(cell)]
            answered[grade_id(cell)] = cell.source
    nbformat.write(notebook, path)
    return answered


def written_answers(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of every answer the instructor grades by hand (a markdown answer cell)."""
    return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")}


def graded_tests(notebook: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of every autograded test cell."""
    return {grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")}
