"""The graded lab-check cell: a button that checks the live lab and saves evidence next to the notebook,
and a view that opens on what the grader will make of the saved evidence."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from halab.course import labaccess, labgrade
from halab.course.widgets import lab_check
from tests.course.helpers import recorded_raw, write_evidence

# Imported by name: the package exports a function called report_view that hides the module.
report_view = importlib.import_module("halab.course.widgets.report_view")


@pytest.fixture(autouse=True)
def notebook_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "03-clustering"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv(labgrade.LIVE_ENV, raising=False)
    labgrade._cache.clear()
    return folder


def test_without_evidence_it_says_what_the_button_does(notebook_folder: Path) -> None:
    view = lab_check("clustering")
    assert view.evidence == notebook_folder / "evidence-clustering.json"
    assert "No evidence saved yet" in view.out.value and "powered off" in view.out.value
    assert view.button.description == "Check lab clustering and save evidence"


def test_it_opens_on_the_saved_evidence(notebook_folder: Path) -> None:
    write_evidence(notebook_folder, recorded_raw("solved", failover_passed=True))
    view = lab_check("clustering")
    assert "Saved in evidence-clustering.json" in view.out.value and "120 / 120 points" in view.out.value


def test_edited_evidence_is_flagged(notebook_folder: Path) -> None:
    path = write_evidence(notebook_folder, recorded_raw("solved"))
    document = json.loads(path.read_text())
    document["payload"]["lab_instance"] = "someone-else"
    path.write_text(json.dumps(document))
    view = lab_check("clustering")
    assert "changed after the lab check saved it" in view.out.value and "points" not in view.out.value


def test_without_the_lab_up_the_saved_evidence_is_kept(notebook_folder: Path, no_lab: None) -> None:
    path = write_evidence(notebook_folder, recorded_raw("solved"))
    before = path.read_bytes()
    view = lab_check("clustering")
    view.run(wait=True)
    assert "not up" in view.out.value and "Your saved evidence-clustering.json is kept" in view.out.value
    assert path.read_bytes() == before


def test_the_button_checks_saves_and_shows_what_is_graded(notebook_folder: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labaccess, "up_labs", lambda: (["clustering"], None))
    progress_seen: list[str] = []

    def fake_check(lab: str, evidence: Path, progress: Any) -> dict[str, Any]:
        # What check_and_save does on a live lab, with recorded facts instead of live ones.
        progress("collecting facts from the nodes")
        progress_seen.append(view.out.value)
        write_evidence(evidence.parent, recorded_raw("broken-config", failover_passed=False))
        return {}

    monkeypatch.setattr(report_view, "check_and_save", fake_check)
    view = lab_check("clustering")
    view.run(wait=True)
    assert "collecting facts from the nodes" in progress_seen[0]
    assert "Saved in evidence-clustering.json" in view.out.value and "Hint" in view.out.value
    assert not view.button.disabled


def test_a_failed_check_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labaccess, "up_labs", lambda: (["clustering"], None))

    def broken(lab: str, evidence: Path, progress: Any) -> dict[str, Any]:
        raise PermissionError("cannot write evidence-clustering.json")

    monkeypatch.setattr(report_view, "check_and_save", broken)
    view = lab_check("clustering")
    view.run(wait=True)
    assert "The checks could not run: cannot write evidence-clustering.json" in view.out.value


def test_the_instructors_source_notebook_saves_no_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Evidence in source/ would be released to every student and replace theirs at autograde.
    folder = tmp_path / "course" / "source" / "03-clustering"
    folder.mkdir(parents=True)
    (tmp_path / "course" / "nbgrader_config.py").write_text("")
    monkeypatch.chdir(folder)
    view = lab_check("clustering")
    assert view.evidence is None and "saves no evidence here" in view.out.value
    assert view.button.description == "Check lab clustering"
