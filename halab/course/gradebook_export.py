"""The class's scores as one CSV table, for `halab grade ASSIGNMENT --csv FILE` (an nbgrader export plugin:
`nbgrader export --exporter=halab.course.gradebook_export.LabTaskExport --to FILE` does the same).

One row per student, as learning management systems import grades (Moodle, Canvas: a column per grade
item): the student's id, names and email from nbgrader's gradebook, then per assignment its score (after
nbgrader's late penalty) and the score of each of its lab tasks, each lab test cell of the notebook
(`lab_score("clustering", points=35, task="corosync")`) being one task. A missing submission scores 0, as in
nbgrader's own CSV export. The second row, ``max_score`` in the student_id column, holds each column's
maximum (as Canvas's "Points Possible" row does; remove it for an LMS that takes students' rows only).
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

STUDENT_COLUMNS = ("student_id", "last_name", "first_name", "email")
MAX_ROW = "max_score"


@dataclass(frozen=True)
class Column:
    title: str
    assignment: str
    max_score: float
    notebook: str = ""  # with cell: one lab task's test cell; without: the whole assignment
    cell: str = ""


def lab_task(source: str) -> str | None:
    """The lab task a test cell grades ("clustering: corosync"; "drbd: all tasks"), None if it grades none."""
    try:
        tree = ast.parse(source or "")
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "lab_score":
            lab = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            task = next((k.value.value for k in node.keywords if k.arg == "task" and isinstance(k.value, ast.Constant)),
                        None)
            if isinstance(lab, str):
                return f"{lab}: {task if isinstance(task, str) and task else 'all tasks'}"
    return None


def columns(gradebook: Gradebook, only: list[str]) -> list[Column]:
    found = []
    for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
        if only and assignment.name not in only:
            continue
        found.append(Column(assignment.name, assignment.name, float(assignment.max_score)))
        for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
            graded = {cell.name: cell for cell in notebook.grade_cells}
            for source in notebook.source_cells:  # in the notebook's order
                task = lab_task(source.source) if source.name in graded else None
                if task:
                    found.append(Column(f"{assignment.name} lab {task}", assignment.name,
                                        float(graded[source.name].max_score), notebook.name, source.name))
    return found


def score(gradebook: Gradebook, column: Column, student: str) -> float:
    try:
        if column.cell:
            return float(gradebook.find_grade(column.cell, column.notebook, column.assignment, student).score)
        submission = gradebook.find_submission(column.assignment, student)
    except MissingEntry:
        return 0.0
    return max(0.0, float(submission.score) - float(submission.late_submission_penalty or 0.0))


def rows(gradebook: Gradebook, only_assignments: list[str], only_students: list[str]) -> list[list[Any]]:
    """The table: a header, the maxima, then one row per student (sorted by id)."""
    table_columns = columns(gradebook, only_assignments)
    table: list[list[Any]] = [[*STUDENT_COLUMNS, *(c.title for c in table_columns)],
                              [MAX_ROW, "", "", "", *(f"{c.max_score:g}" for c in table_columns)]]
    for student in sorted(gradebook.students, key=lambda s: s.id):
        if only_students and student.id not in only_students:
            continue
        names = [student.id, student.last_name or "", student.first_name or "", student.email or ""]
        table.append([*names, *(f"{score(gradebook, c, student.id):g}" for c in table_columns)])
    return table


class LabTaskExport(ExportPlugin):
    """nbgrader's export with a column per lab task (see the module docstring)."""

    def export(self, gradebook: Gradebook) -> None:
        destination = self.to or "grades.csv"
        table = rows(gradebook, [str(a) for a in self.assignment], [str(s) for s in self.student])
        self.log.info("Exporting %d students' grades to %s", len(table) - 2, destination)
        try:
            with open(destination, "w", newline="") as handle:
                csv.writer(handle).writerows(table)
        except OSError as exc:
            raise SystemExit(f"cannot write {destination}: {exc.strerror}") from None
