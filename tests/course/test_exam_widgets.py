"""The exam, progress and practice widgets: driven as a student would, with a fake clock for the exam."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halab.course import progress
from halab.course.quiz import load_bank
from halab.course.widgets.exam import ExamWidget
from halab.course.widgets.progress_view import ProgressView
from halab.course.widgets.quiz import QuizWidget
from halab.course.widgets.report_view import record_progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "progress.json"
    monkeypatch.setenv("HALAB_PROGRESS_FILE", str(path))
    return path


def test_exam_widget_from_start_to_result(progress_file: Path) -> None:
    clock = FakeClock()
    widget = ExamWidget(clock=clock, live_timer=False)
    widget.count.value, widget.minutes.value, widget.seed.value = 4, 10, "3"
    widget.start()
    exam = widget.exam
    assert exam is not None and len(exam.slots) == 4 and "Question 1 of 4" in widget.header.value
    widget.set_answer(exam.slot.question.key)
    widget.move(1)
    assert exam.slots[0].answered and exam.current == 1
    widget.toggle_mark()
    assert "⚑" in widget.navigator.options[1][0] and "✓" in widget.navigator.options[0][0]
    widget.go(3)
    widget.set_answer(exam.slot.question.key)
    widget.submit()
    assert "Result:" in widget.result.value and "By objective" in widget.result.value
    assert "Wrong or unanswered" in widget.result.value and "Study:" in widget.result.value
    data = json.loads(progress_file.read_text())
    assert data["exams"][0]["questions"] == 4 and data["exams"][0]["seed"] == 3
    assert {a["mode"] for a in data["answers"]} == {"exam"}


def test_exam_widget_submits_when_the_time_is_up(progress_file: Path) -> None:
    clock = FakeClock()
    widget = ExamWidget(clock=clock, live_timer=False)
    widget.count.value, widget.minutes.value = 3, 1
    widget.start()
    clock.now = 30
    widget.tick()
    assert "time left <b>00:30</b>" in widget.header.value and not widget.result.value
    clock.now = 61
    widget.tick()
    assert "time ran out" in widget.result.value and widget.exam is not None and widget.exam.result.timed_out
    widget.submit()  # too late: nothing changes, no error
    assert json.loads(progress_file.read_text())["exams"][0]["timed_out"] is True


def test_exam_widget_bad_setup_is_a_message() -> None:
    widget = ExamWidget(clock=FakeClock(), live_timer=False)
    widget.seed.value = "abc"
    widget.start()
    assert "whole number" in widget.message.value and widget.exam is None
    widget.seed.value = ""
    widget.count.value = 500
    widget.start()
    assert "at most" in widget.message.value and widget.exam is None


def test_wrong_form_answer_keeps_the_candidate_on_the_question() -> None:
    widget = ExamWidget(clock=FakeClock(), live_timer=False)
    widget.count.value, widget.seed.value = 60, "8"
    widget.start()
    exam = widget.exam
    assert exam is not None
    number = next(i for i, s in enumerate(exam.slots, 1) if s.question.kind == "choose")
    widget.go(number)
    widget.set_answer(["a"])  # one letter where two or three are asked for
    widget.move(1)
    assert exam.current == number - 1 and "Choose exactly" in widget.message.value


def test_progress_view_shows_terms_exams_and_what_next(progress_file: Path) -> None:
    progress.record_answers([{"id": "quorum-six-threshold", "correct": False, "terms": ["quorum"]}], "practice")
    progress.record_lab_check({"lab": "clustering", "checks": [{"id": "stonith", "task": "fencing", "passed": True}]})
    view = ProgressView()
    html = view.out.value
    assert "1 answers recorded" in html and "Study next" in html and "quorum" in html and "weak" in html
    assert "✔ passed" in html  # fencing (node level), demonstrated by the passed fencing task
    progress_file.write_text("{broken")
    view.refresh()
    assert "was damaged" in view.out.value and list(progress_file.parent.glob("progress.json.damaged-*"))


def test_practice_quiz_pages_filters_and_records(progress_file: Path) -> None:
    quiz = QuizWidget(load_bank("02-ha-concepts"), page_size=10)
    assert len(quiz.shown.children) == 10 and f"1-10 of {len(quiz.cards)}" in quiz.position.value
    quiz.next.click()
    assert quiz.page == 1
    quiz.term.value = "session handling"
    assert quiz.page == 0 and all("session handling" in c.question.terms for c in quiz.filtered)
    card = quiz.filtered[0]
    card.set_answer(card.question.key)
    card.check()
    assert card.correct
    answers = json.loads(progress_file.read_text())["answers"]
    assert answers == [{**answers[0], "id": card.question.id, "correct": True, "mode": "practice"}]
    card.show_answer()
    assert "Answer:" in card.feedback.value and "Taught in" in card.feedback.value


def test_practice_never_shows_graded_questions() -> None:
    from halab.course.quiz import graded_bank_names, load_graded_bank

    graded = {q.id for n in graded_bank_names() for q in load_graded_bank(n).questions}
    for name in ("01-introduction", "02-ha-concepts", "03-clustering", "04-fault-tolerance"):
        assert not graded & {c.question.id for c in QuizWidget(load_bank(name)).cards}


def test_lab_checks_are_recorded_from_the_report_view(progress_file: Path) -> None:
    report = {"lab": "drbd", "score": 10, "max_score": 10, "checks": [{"id": "c", "task": "configure", "passed": True}]}
    assert record_progress(report) == ""
    assert ("drbd", "configure") in {(r["lab"], r["task"]) for r in json.loads(progress_file.read_text())["labs"]}
    assert "could not be saved" in record_progress({"lab": 3})


def test_the_timer_thread_submits_on_time(progress_file: Path) -> None:
    import time

    clock = FakeClock()
    widget = ExamWidget(clock=clock, live_timer=True)
    widget.count.value, widget.minutes.value = 2, 1
    widget.start()
    clock.now = 61  # the thread ticks once a second and finds the time up
    deadline = time.monotonic() + 10
    while not widget.result.value and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "time ran out" in widget.result.value


def test_exam_widget_leaves_course_only_topics_out_unless_ticked(progress_file: Path) -> None:
    widget = ExamWidget(clock=FakeClock(), live_timer=False)
    assert "361.1, 361.2, 361.3, 362.1: 28 of 60 weight points, 47 %" in widget.coverage.value
    widget.seed.value = "5"
    widget.start()
    assert widget.exam is not None and not any(s.question.objective == "virt" for s in widget.exam.slots)
    ticked = ExamWidget(clock=FakeClock(), live_timer=False)
    ticked.seed.value, ticked.course_only.value = "5", True
    ticked.start()
    assert ticked.exam is not None and any(s.question.objective == "virt" for s in ticked.exam.slots)


def test_coverage_view_reads_the_objectives_file() -> None:
    from halab.course.widgets.exam_prep import CoverageView

    html = CoverageView().out.value
    assert "28 of the exam's 60 weight points" in html and "47 %" in html
    assert "Ceph Storage Clusters" in html and "course topic, not in exam 306" in html


def test_review_widget_draws_what_is_due_and_records_review_answers(progress_file: Path) -> None:
    import datetime as dt

    from halab.course.widgets.exam_prep import ReviewWidget

    now = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
    empty = ReviewWidget(clock=FakeClock(), live_timer=False, now=now)
    assert "Nothing is scheduled yet" in empty.due_info.value
    empty.start()
    assert empty.exam is None and "Nothing is due" in empty.message.value
    progress_file.write_text(json.dumps({"version": 1, "exams": [], "labs": [], "answers": [
        {"id": "quorum-why", "correct": False, "terms": ["quorum"], "mode": "practice",
         "at": "2026-02-01T10:00:00+00:00"},
    ]}))
    widget = ReviewWidget(clock=FakeClock(), live_timer=False, now=now)
    assert "due for review" in widget.due_info.value and "quorum-why" in widget.due_info.value
    widget.start()
    exam = widget.exam
    assert exam is not None and exam.slots[0].question.id == "quorum-why"
    for number in range(1, len(exam.slots) + 1):
        widget.go(number)
        widget.set_answer(exam.slot.question.key)
    widget.submit()
    assert f"Review: {len(exam.slots)} of {len(exam.slots)} right" in widget.result.value
    assert "PASSED" not in widget.result.value
    data = json.loads(progress_file.read_text())
    assert data["exams"] == [] and {a["mode"] for a in data["answers"][1:]} == {"review"}
    assert "Nothing is due" in widget.due_info.value  # refreshed: the cards moved into the future


def test_progress_view_shows_what_is_due(progress_file: Path) -> None:
    progress_file.write_text(json.dumps({"version": 1, "exams": [], "answers": [], "labs": [
        {"lab": "clustering", "task": "fencing", "passed": False, "checks": 3, "at": "2026-01-01T10:00:00+00:00"}]}))
    html = ProgressView().out.value
    assert "Spaced review" in html and "fencing (node level)" in html and "due for review" in html
