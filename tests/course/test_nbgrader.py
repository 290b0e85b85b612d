"""The course folder is a valid nbgrader course: every assignment generates a student version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.course.helpers import COURSE_DIR, NOTEBOOKS

GENERATE = """
import sys
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader
# The course's own nbgrader_config.py, as the nbgrader command line would load it.
api = NbGraderAPI(config=PyFileConfigLoader("nbgrader_config.py", path=".").load_config())
failed = [name for name in sys.argv[1:] if not api.generate_assignment(name, force=True)["success"]]
sys.exit(f"failed: {failed}" if failed else 0)
"""


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    # A copy, so nbgrader's release/ folder and gradebook.db never land in the working tree.
    copy = tmp_path / "course"
    shutil.copytree(COURSE_DIR, copy, ignore=shutil.ignore_patterns("release", "gradebook.db", ".ipynb_checkpoints"))
    return copy


def test_generate_assignment_for_every_notebook(course_copy: Path, tmp_path: Path) -> None:
    names = [p.parent.name for p in NOTEBOOKS]
    env = dict(os.environ, HALAB_EXCHANGE_DIR=str(tmp_path / "exchange"))
    # nbgrader runs `alembic` for its database by name: the venv's bin/ must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", GENERATE, *names], cwd=course_copy, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in names:
        released = nbformat.read(course_copy / "release" / name / f"{name}.ipynb", as_version=4)
        text = "\n".join(cell.source for cell in released.cells)
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text, name
        answers = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("solution")]
        graded = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert answers and graded, name
        assert all("YOUR ANSWER HERE" in c.source and "= None" in c.source for c in answers), name


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
