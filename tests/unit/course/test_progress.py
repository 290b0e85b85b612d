"""The progress file: records, concurrent writers in real processes, damage set aside, and mastery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from halab.course import progress
from halab.course.mastery import overview
from halab.course.objectives import load_vocabulary
from halab.course.quiz import practice_questions
from tests.support.paths import REPO

WRITER = """
import sys
from halab.course import progress
from pathlib import Path
path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(count):
    progress.record_answers([{"id": f"{name}-{i}", "correct": i % 2 == 0, "terms": ["quorum"]}], "practice", path)
"""


def test_records_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "progress.json"
    assert progress.load(path) == (progress.empty(), [])
    assert progress.record_answers([{"id": "quorum-six-threshold", "correct": True, "terms": ["quorum"]}],
                                   "practice", path) == []
    data, notices = progress.load(path)
    assert notices == [] and data["answers"][0]["id"] == "quorum-six-threshold"
    assert data["answers"][0]["mode"] == "practice" and data["answers"][0]["correct"] is True
    # Written atomically: no temporary files are left beside it.
    assert sorted(p.name for p in path.parent.iterdir()) == ["progress.json", "progress.json.lock"]


def test_the_environment_chooses_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_PROGRESS_FILE", str(tmp_path / "mine.json"))
    assert progress.progress_path() == tmp_path / "mine.json"
    monkeypatch.delenv("HALAB_PROGRESS_FILE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert progress.progress_path() == tmp_path / "xdg" / "halab" / "progress.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert progress.progress_path() == tmp_path / "home" / ".local" / "share" / "halab" / "progress.json"


def test_concurrent_writers_in_real_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    writers, each = 6, 30
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}", str(each)], env=env)
             for n in range(writers)]
    assert [p.wait(timeout=120) for p in procs] == [0] * writers
    data, notices = progress.load(path)
    assert notices == []
    ids = [a["id"] for a in data["answers"]]
    assert len(ids) == writers * each and len(set(ids)) == writers * each
    # Each writer's own entries are in the order it wrote them.
    for n in range(writers):
        assert [i for i in ids if i.startswith(f"w{n}-")] == [f"w{n}-{i}" for i in range(each)]


@pytest.mark.parametrize("content, why", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "does not hold a JSON object"),
    ('{"version": 1, "answers": "many", "exams": [], "labs": []}', "'answers' is not a list"),
    ('{"version": 1, "answers": [{"id": 3}], "exams": [], "labs": []}', "no id"),
    ('{"answers": []}', "format version"),
    (b"\xff\xfe\x00", "not UTF-8"),
])  # fmt: skip
def test_a_damaged_file_is_set_aside_with_a_message(tmp_path: Path, content: str | bytes, why: str) -> None:
    path = tmp_path / "progress.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    notices = progress.record_answers([{"id": "x", "correct": False}], "practice", path)
    assert len(notices) == 1 and why in notices[0] and "kept as progress.json.damaged-" in notices[0]
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("progress.json.damaged-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == (content if isinstance(content, bytes) else content.encode())  # nothing lost
    data, notices = progress.load(path)
    assert notices == [] and [a["id"] for a in data["answers"]] == ["x"]


def test_a_file_from_a_newer_halab_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    newer = json.dumps({"version": progress.VERSION + 1, "answers": [], "something": "new"})
    path.write_text(newer)
    with pytest.raises(progress.ProgressError, match="newer halab"):
        progress.record_answers([{"id": "x", "correct": True}], "practice", path)
    assert path.read_text() == newer


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(progress.ProgressError, match="cannot create"):
        progress.record_answers([{"id": "x", "correct": True}], "practice", blocker / "sub" / "progress.json")


def test_lab_checks_are_recorded_per_task_and_for_the_lab(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    report = {"lab": "clustering", "score": 15, "max_score": 20, "checks": [
        {"id": "stonith", "task": "fencing", "passed": True},
        {"id": "floating-ip", "task": "web", "passed": True},
        {"id": "web-server", "task": "web", "passed": False},
    ]}  # fmt: skip
    progress.record_lab_check(report, path)
    labs = {(r["lab"], r["task"]): r["passed"] for r in progress.load(path)[0]["labs"]}
    assert labs == {("clustering", "fencing"): True, ("clustering", "web"): False, ("clustering", ""): False}
    with pytest.raises(progress.ProgressError, match="not a lab report"):
        progress.record_lab_check({"lab": "clustering", "checks": "all good"}, path)


def test_mastery_counts_the_latest_answer_per_question_and_passed_labs() -> None:
    vocabulary = load_vocabulary()
    questions = practice_questions()
    quorum = [q for q in questions if q.terms[0] == "quorum"][:5]
    answers = [{"id": q.id, "correct": False, "terms": list(q.terms)} for q in quorum]
    answers += [{"id": q.id, "correct": True, "terms": list(q.terms)} for q in quorum]  # all right the 2nd time
    fencing = [q for q in questions if "fencing (node level)" in q.terms][:2]
    answers += [{"id": q.id, "correct": False, "terms": list(q.terms)} for q in fencing]
    data = {"answers": answers, "exams": [], "labs": [{"lab": "clustering", "task": "fencing", "passed": True}]}
    view = overview(data, questions, vocabulary)
    terms = {t.term: t for t in view.terms}
    assert terms["quorum"].seen == 5 and terms["quorum"].right == 5 and terms["quorum"].level == "mastered"
    assert terms["quorum"].attempts == 10
    node_fencing = terms["fencing (node level)"]
    assert node_fencing.level == "weak" and node_fencing.lab_passed
    assert terms["SBD"].level == "not started" and terms["SBD"].study is not None
    suggested = view.suggestions(vocabulary, limit=100)
    levels = [t.level for t in suggested]
    assert levels == sorted(levels, key=["weak", "not started", "learning"].index)  # weak first, mastered never
    weak = [t.term for t in suggested if t.level == "weak"]
    assert "fencing (node level)" in weak and "quorum" not in [t.term for t in suggested]
