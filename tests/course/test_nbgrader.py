"""The course folder is a valid nbgrader course, and students get nbgrader's student copy of it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from halab.course import workspace
from halab.errors import HalabError
from tests.course.helpers import COURSE_DIR, NOTEBOOKS


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student's workspace as `halab course` makes it: nbgrader generate_assignment of every notebook."""
    folder = tmp_path_factory.mktemp("workspace") / "halab-course"
    before = sorted(p.name for p in COURSE_DIR.iterdir())
    added = workspace.prepare(COURSE_DIR, folder)
    assert added == [p.parent.name for p in NOTEBOOKS]
    # nbgrader ran in a scratch copy: no release/ or gradebook.db in the course folder.
    assert sorted(p.name for p in COURSE_DIR.iterdir()) == before
    return folder


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_assignment_has_a_student_version_without_solutions(student_copy: Path, path: Path) -> None:
    name = path.parent.name
    released = nbformat.read(student_copy / name / f"{name}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in released.cells)
    assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
    answers = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("solution")]
    graded = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert answers and graded
    # A code answer is a variable to set; a written answer (markdown, graded by hand) is free text.
    assert all("YOUR ANSWER HERE" in c.source and ("= None" in c.source or c.cell_type == "markdown")
               for c in answers)
    # Graded test cells are locked in the student's copy, with the checksums autograde compares them to; a
    # written answer is graded too, and stays the student's to edit.
    assert all(c.metadata["nbgrader"]["checksum"] for c in graded)
    assert all(c.metadata.get("editable") is False for c in graded if not c.metadata["nbgrader"].get("solution"))


def test_the_workspace_can_submit_to_the_course(student_copy: Path) -> None:
    config = (student_copy / "nbgrader_config.py").read_text()
    assert 'course_id = "halab"' in config and "HALAB_EXCHANGE_DIR" in config


def test_a_students_work_is_never_overwritten(student_copy: Path) -> None:
    mine = student_copy / "01-introduction" / "01-introduction.ipynb"
    notebook = nbformat.read(mine, as_version=4)
    notebook.cells[0].source = "my notes"
    nbformat.write(notebook, mine)
    assert workspace.prepare(COURSE_DIR, student_copy) == []
    assert nbformat.read(mine, as_version=4).cells[0].source == "my notes"


def test_a_deleted_assignment_comes_back(student_copy: Path) -> None:
    (student_copy / "06-virtualization" / "06-virtualization.ipynb").unlink()
    assert workspace.prepare(COURSE_DIR, student_copy) == ["06-virtualization"]
    assert (student_copy / "06-virtualization" / "06-virtualization.ipynb").exists()


def test_a_workspace_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(HalabError, match="cannot make the course workspace"):
        workspace.prepare(COURSE_DIR, tmp_path / "file" / "workspace")


def test_graded_cells_have_unique_ids_and_points() -> None:
    for path in NOTEBOOKS:
        ids = []
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader")
            if meta:
                ids.append(meta["grade_id"])
                if meta.get("grade"):
                    assert meta["points"] > 0, f"{path.name}: {meta['grade_id']} has no points"
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate nbgrader grade_ids"
