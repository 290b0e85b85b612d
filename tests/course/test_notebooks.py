"""Execute every course notebook top to bottom, as CI and nbgrader's autograder do.

They must pass whether or not a lab is up on this machine; one run forces the no-lab case (an empty
HALAB_STATE_DIR) and checks that the lab cells say so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.course.helpers import NOTEBOOKS

CELL_TIMEOUT_S = 120  # a lab cell may wait on an unresponsive node for its own (shorter) timeouts


def execute(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed:\n{exc}")
    return notebook


def test_the_notebooks_are_in_course_order() -> None:
    assert [p.parent.name for p in NOTEBOOKS] == [
        "01-introduction", "02-ha-concepts", "03-clustering", "04-fault-tolerance", "05-ha-infrastructure",
        "05b-load-balancing", "06-virtualization", "07-exam-prep", "08-disaster-recovery",
    ]  # fmt: skip
    assert all(p.stem == p.parent.name for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_source_notebooks_are_committed_without_outputs(path: Path) -> None:
    # Every cell has its id (nbformat 4.5): nbformat would add random ones on each read, and nbgrader's student
    # copies would differ from run to run.
    missing = [i for i, cell in enumerate(json.loads(path.read_text())["cells"]) if "id" not in cell]
    assert not missing, f"{path.name}: cells {missing} have no id"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [c.id for c in notebook.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    started = time.monotonic()
    notebook = execute(path)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # Every widget cell produced a widget, every diagram an SVG: nothing silently rendered empty.
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.strip().endswith(")") and "import" not in cell.source:
            kinds = {key for output in cell.outputs for key in output.get("data", {})}
            assert kinds & {"application/vnd.jupyter.widget-view+json", "image/svg+xml", "text/html"}, cell.source
    assert time.monotonic() - started < 100, f"{path.name} is too slow for the course's 2-minute budget"


def test_lab_cells_say_that_no_lab_is_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))  # no lab state: no lab is up, whatever runs here
    started = time.monotonic()
    notebook = execute(next(p for p in NOTEBOOKS if p.stem == "03-clustering"))
    state = json.dumps(notebook.metadata.get("widgets", {}))
    assert "No lab is up" in state and "halab up clustering" in state
    assert time.monotonic() - started < 30, "lab cells must answer within seconds when no lab is up"
