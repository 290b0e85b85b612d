"""Lab items of the notebooks: lab_score shows the checks of a task and returns its points, from evidence.

nbgrader takes a test cell's numeric output as its score and any stderr output as a zero: both are tested."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from graders.evidence import evidence_name, save_evidence
from graders.grade import evaluate
from halab.course import labgrade
from halab.spec import load_spec
from tests.course.helpers import FIXTURES, NOTEBOOKS, FabricatedLab, recorded_raw, write_evidence

SPEC = load_spec("clustering")
TASK_POINTS = {t.id: sum(c.points for c in SPEC.checks if c.task == t.id) for t in SPEC.tasks}


@pytest.fixture(autouse=True)
def in_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kernel's working directory is the notebook's folder; no lab is up; nothing cached."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "no-labs"))
    monkeypatch.delenv(labgrade.LIVE_ENV, raising=False)
    labgrade._cache.clear()
    return tmp_path


def shown(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.err == "", "nbgrader scores a test cell that writes to stderr zero"
    return captured.out


def test_each_task_of_a_solved_lab_scores_its_points(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_evidence(in_folder, recorded_raw("solved", failover_passed=True))
    for task, points in TASK_POINTS.items():
        assert labgrade.lab_score("clustering", points, task) == points
        assert "Graded from the evidence from lab 'clustering'" in shown(capsys)


def test_failed_checks_give_partial_credit_with_feedback_and_hints(in_folder: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    raw = recorded_raw("broken-config", failover_passed=False)
    write_evidence(in_folder, raw)
    report = labgrade.grade_lab("clustering").report
    assert report is not None
    failed = [c for c in report.checks if not c.passed]
    assert failed
    total = 0.0
    for task, points in TASK_POINTS.items():
        earned = labgrade.lab_score("clustering", points, task)
        text = shown(capsys)
        task_checks = [c for c in report.checks if c.task == task]
        assert earned == sum(c.points for c in task_checks)
        for check in task_checks:
            assert check.title in text
            if not check.passed:
                assert check.hint in text and "Hint:" in text
        total += earned
    assert total == report.score < report.max_score


def test_points_are_scaled_to_the_cell(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_evidence(in_folder, recorded_raw("solved"))  # no fault check recorded: the failover scores 0
    assert labgrade.lab_score("clustering", 100) == round(100 * 100 / 120, 2)
    assert labgrade.lab_score("clustering", 20, "failover") == 0
    assert "not run" in shown(capsys)


@pytest.mark.parametrize("content", [None, b"{not json", b"[]"])
def test_no_usable_evidence_scores_zero_and_says_why(in_folder: Path, capsys: pytest.CaptureFixture[str],
                                                      content: bytes | None) -> None:
    if content is not None:
        (in_folder / "evidence-clustering.json").write_bytes(content)
    assert labgrade.lab_score("clustering", 35, "corosync") == 0
    text = shown(capsys)
    assert "Not graded:" in text and "This item scores zero." in text
    assert "halab check clustering --evidence evidence-clustering.json" in text


def test_a_lab_without_checks_or_spec_scores_zero(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    labs = tmp_path / "labs"
    labs.mkdir()
    spec = (Path(load_spec("clustering").path)).read_text()
    # A lab spec with no checks yet, as the drbd lab was when notebook 4 got its lab cell.
    (labs / "nochecks.toml").write_text(spec.split("# ---- What the student does")[0].replace(
        'name = "clustering"', 'name = "nochecks"\nkind = "clustering"'))
    monkeypatch.setenv("HALAB_LABS_DIR", str(labs))
    assert labgrade.lab_score("nochecks", 100) == 0
    assert "has no checks in this version of halab yet" in shown(capsys)
    assert labgrade.lab_score("no-such-lab", 10) == 0
    assert "cannot grade lab 'no-such-lab'" in shown(capsys)


def test_a_task_the_lab_does_not_have(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_evidence(in_folder, recorded_raw("solved"))
    assert labgrade.lab_score("clustering", 5, "no-such-task") == 0
    assert "has no task 'no-such-task'" in shown(capsys)
    assert labgrade.lab_score("clustering", 5, ["corosync", "no-such-task"]) == 0
    assert "has no task 'no-such-task'" in shown(capsys)


def test_several_tasks_in_one_cell_score_their_share(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_evidence(in_folder, recorded_raw("broken-config", failover_passed=False))
    report = labgrade.grade_lab("clustering").report
    assert report is not None
    tasks = ["corosync", "fencing"]
    checks = [c for c in report.checks if c.task in tasks]
    earned = labgrade.lab_score("clustering", 10, tasks)
    text = shown(capsys)
    assert earned == round(10 * sum(c.points for c in checks if c.passed) / sum(c.max_points for c in checks), 2)
    assert earned < 10 and all(c.title in text for c in checks) and "tasks:" in text


def test_live_grading_without_a_lab_falls_back_to_the_evidence(in_folder: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    write_evidence(in_folder, recorded_raw("solved", failover_passed=True))
    monkeypatch.setenv(labgrade.LIVE_ENV, "1")
    assert labgrade.lab_score("clustering", 35, "corosync") == 35
    text = shown(capsys)
    assert "Live grading was asked for (HALAB_GRADE_LIVE), but lab 'clustering' is not up" in text
    assert "Graded from the evidence" in text


def test_a_new_evidence_file_is_graded_again(in_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_evidence(in_folder, recorded_raw("fresh"))
    assert labgrade.lab_score("clustering", 35, "corosync") < 35
    write_evidence(in_folder, recorded_raw("solved"))
    assert labgrade.lab_score("clustering", 35, "corosync") == 35


def lab_cells() -> list[tuple[str, nbformat.NotebookNode]]:
    return [(path.stem, cell) for path in NOTEBOOKS for cell in nbformat.read(path, as_version=4).cells
            if "lab_score(" in cell.source]


def test_lab_cells_are_graded_with_the_points_they_pass() -> None:
    cells = lab_cells()
    assert {name for name, _ in cells} == {"03-clustering", "04-fault-tolerance", "05-ha-infrastructure",
                                           "05b-load-balancing", "06-virtualization",
                                           "08-disaster-recovery"}
    for name, cell in cells:
        meta = cell.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and not meta["solution"], name
        call = re.search(r'lab_score\("([\w-]+)", points=(\d+)(?:, task=(?:"[\w-]+"|\[[^\]]*\]))?\)', cell.source)
        assert call, cell.source
        assert float(call.group(2)) == meta["points"], f"{name}: {meta['grade_id']} passes other points"


def test_the_clustering_notebook_grades_every_task_at_its_points() -> None:
    graded = {}
    for _, cell in lab_cells():
        call = re.search(r'lab_score\("clustering", points=(\d+), task="([\w-]+)"\)', cell.source)
        if call:
            graded[call.group(2)] = int(call.group(1))
    assert graded == TASK_POINTS


def task_points(lab: str) -> dict[str, int]:
    """Each task of the lab with the points of its checks."""
    spec = load_spec(lab)
    return {t.id: sum(c.points for c in spec.checks if c.task == t.id) for t in spec.tasks}


def graded_tasks(lab: str) -> dict[str, int]:
    """Each task a lab cell of the notebooks grades (one task per cell) with the points it gives."""
    graded = {}
    for _, cell in lab_cells():
        call = re.search(rf'lab_score\("{lab}", points=(\d+), task="([\w-]+)"\)', cell.source)
        if call:
            graded[call.group(2)] = int(call.group(1))
    return graded


@pytest.mark.parametrize("lab", ["infrastructure", "loadbalancing"])
def test_a_lab_notebook_grades_every_task_at_its_points(lab: str) -> None:
    assert graded_tasks(lab) == task_points(lab)


def test_the_load_balancing_notebook_grades_every_task_at_its_points(in_folder: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_spec("loadbalancing")
    points_of = task_points("loadbalancing")
    assert sum(graded_tasks("loadbalancing").values()) == 100
    # Recorded on real nodes; the fault checks' outcomes are FABRICATED (the fixtures were recorded without them).
    raw = json.loads((FIXTURES / "loadbalancing" / "solved.json").read_text())
    raw["faults"] = {c.id: {"passed": True, "feedback": "fabricated for a test", "hint": "", "measurements": {}}
                     for c in spec.checks if c.fault}
    lab = FabricatedLab("loadbalancing")
    save_evidence(in_folder / evidence_name("loadbalancing"), lab, raw, evaluate(spec, raw))  # type: ignore[arg-type]
    for task, points in points_of.items():
        assert labgrade.lab_score("loadbalancing", points, task) == points
        assert "Graded from the evidence from lab 'loadbalancing'" in shown(capsys)


def test_the_drbd_notebook_grades_every_task_once_scaled_to_100() -> None:
    spec = load_spec("drbd")
    total = sum(c.points for c in spec.checks)
    graded: dict[str, int] = {}
    for name, cell in lab_cells():
        if name != "04-fault-tolerance":
            continue
        call = re.search(r'lab_score\("drbd", points=(\d+), task=("[\w-]+"|\[[^\]]*\])\)', cell.source)
        assert call, f"each drbd lab cell names its tasks: {cell.source}"
        tasks = re.findall(r'"([\w-]+)"', call.group(2))
        assert not set(tasks) & set(graded), f"a task graded twice: {tasks}"
        share = sum(c.points for c in spec.checks if c.task in tasks)
        assert int(call.group(1)) == round(100 * share / total), f"{tasks}: not scaled to the lab's 100 points"
        graded.update(dict.fromkeys(tasks, int(call.group(1))))
    assert set(graded) == {t.id for t in spec.tasks}
