"""nbgrader hooks for the course (course/nbgrader_config.py installs them for `nbgrader autograde`; `halab grade`
puts them on nbgrader's command line too).

FlagSolvedLabs: the lab cells of a lab that halab itself solved (`halab solve`, recorded in the evidence) are
marked in nbgrader's gradebook as needing the instructor's eye ("needs manual grade" in the formgrader): the
points stay what the checks gave, and the instructor decides.

GuardGradedCells:

nbgrader on its own restores a graded test cell that a student edited and runs it as if nothing happened,
and leaves a deleted one ungraded ("needs manual grading") without a word in the feedback. Here either
scores zero and the feedback says why: a graded cell is the instructor's, and changing or removing it is
not an answer.

An edit is told from an instructor's later fix of the test by the checksum nbgrader stored in the cell when
it released the assignment: the student's cell no longer matches its own checksum only if it was changed
after release. (A student who also forges that checksum gets the instructor's test run, which is fair too.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from traitlets import Bool

from graders.evidence import EvidenceError, load_evidence
from halab.course.gradebook_export import lab_task


def zero_source(grade_id: str, what: str) -> str:
    """A test cell that prints why it scores nothing and outputs 0 (nbgrader's partial credit of zero)."""
    message = (f"This graded cell ({grade_id}) {what} in the submitted notebook, so it scores zero. "
               "The original test was not run.")
    return f"# nbgrader: {message}\nprint({message!r})\n0\n"


def _is_test(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


class GuardGradedCells(OverwriteCells):
    """OverwriteCells, with edited or deleted graded test cells scoring zero and saying why."""

    add_missing_cells = Bool(True, help="Put deleted graded cells back (scoring zero).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        self._edited: set[str] = set()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: Any, cell_index: int) -> tuple[NotebookNode, Any]:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if grade_id and _is_test(cell) and meta.get("checksum") != utils.compute_checksum(cell):
            self._edited.add(grade_id)
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if grade_id in self._edited and _is_test(cell):
            self.log.warning("Graded cell %s was edited by the student: it scores zero", grade_id)
            cell.source = zero_source(grade_id, "was edited")
        return cell, resources

    def missing_cell_transform(self, source_cell: Any, max_score: float, is_solution: bool = False,
                               is_task: bool = False) -> NotebookNode:
        cell = super().missing_cell_transform(source_cell, max_score, is_solution, is_task)
        if _is_test(cell):
            cell.source = zero_source(source_cell.name, "was deleted")
        return cell

    def add_missing_grade_cells(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        """Put each deleted graded cell back after the nearest earlier cell of the source that is still there.

        nbgrader's own version looks only at the cell just before it, and fails on the whole notebook when
        that one is gone too (or is a locked description cell)."""
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        sources = {cell.name: cell for cell in source_nb.source_cells}
        solutions = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
            if grade_cell.name in present:
                continue
            self.log.warning("Graded cell %s was deleted by the student: it scores zero", grade_cell.name)
            earlier = order[: order.index(grade_cell.name)] if grade_cell.name in order else []
            anchor = next((present.index(name) for name in reversed(earlier) if name in present), -1)
            cell = self.missing_cell_transform(sources[grade_cell.name], grade_cell.max_score,
                                               is_solution=grade_cell.name in solutions)
            nb.cells.insert(anchor + 1, cell)
        return nb, resources


def solved_labs(folder: Path) -> dict[str, tuple[str, ...]]:
    """lab -> when halab solved it, from the evidence files in a submission's folder (unusable ones: none)."""
    found = {}
    for path in sorted(folder.glob("evidence-*.json")):
        lab = path.stem.removeprefix("evidence-")
        try:
            times = load_evidence(path, lab).solved_by_halab
        except EvidenceError:
            continue
        if times:
            found[lab] = times
    return found


class FlagSolvedLabs(NbGraderPreprocessor):
    """After SaveAutoGrades: a solved lab's cells need a manual grade (see the module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        solved = solved_labs(Path(resources["metadata"]["path"]))
        if not solved:
            return nb, resources
        ids = resources["nbgrader"]
        with Gradebook(ids["db_url"]) as gradebook:
            for cell in nb.cells:
                task, grade_id = lab_task(cell.source), cell.metadata.get("nbgrader", {}).get("grade_id")
                lab = task.split(":")[0] if task else None
                if lab in solved and grade_id and utils.is_grade(cell):
                    grade = gradebook.find_grade(grade_id, ids["notebook"], ids["assignment"], ids["student"])
                    grade.needs_manual_grade = True
            gradebook.db.commit()
        for lab, times in solved.items():
            self.log.warning("%s: halab solved lab %s (`halab solve`, at %s); its cells need a manual grade",
                             ids["student"], lab, ", ".join(times))
        return nb, resources
