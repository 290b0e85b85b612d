"""The mock exam engine: drawing by weight, answers, review, scoring and timing with a fake clock."""

from __future__ import annotations

from collections import Counter

import pytest

from halab.course.exam import PASS_PERCENT, ExamError, MockExam, allocate, scaled_score
from halab.course.objectives import load_vocabulary
from halab.course.quiz import grade, load_graded_bank, practice_questions


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def draw(count: int = 60, minutes: float = 90, seed: int = 11, clock: FakeClock | None = None) -> MockExam:
    return MockExam.draw(practice_questions(), load_vocabulary(), count=count, minutes=minutes, seed=seed,
                         clock=clock or FakeClock())


def test_sixty_questions_drawn_with_the_exam_objectives_weights() -> None:
    """Exam 306 objectives only (6, 8, 8, 6 of 28 points); virtualization, a course topic, is left out."""
    exam = draw()
    assert len(exam.slots) == 60 and len({s.question.id for s in exam.slots}) == 60
    assert Counter(s.question.objective for s in exam.slots) == {"361.1": 13, "361.2": 17, "361.3": 17,
                                                                  "362.1": 13}
    assert not any(s.question.graded for s in exam.slots)


def test_course_only_topics_come_in_when_asked_for() -> None:
    exam = MockExam.draw(practice_questions(), load_vocabulary(), seed=11, clock=FakeClock(),
                         include_course_only=True)
    assert Counter(s.question.objective for s in exam.slots) == {"361.1": 12, "361.2": 16, "361.3": 16,
                                                                  "362.1": 12, "virt": 4}


def test_the_same_seed_gives_the_same_exam_and_another_seed_another() -> None:
    first, again, other = draw(seed=5), draw(seed=5), draw(seed=6)
    assert [s.question for s in first.slots] == [s.question for s in again.slots]
    assert [s.question.id for s in first.slots] != [s.question.id for s in other.slots]


def test_allocation_respects_what_each_objective_has() -> None:
    weights = {"a": 6, "b": 8, "c": 8, "d": 6, "e": 2}
    assert allocate(weights, dict.fromkeys(weights, 100), 60) == {"a": 12, "b": 16, "c": 16, "d": 12, "e": 4}
    assert allocate(weights, {**dict.fromkeys(weights, 100), "b": 5}, 60) == {"a": 15, "b": 5, "c": 20, "d": 15,
                                                                               "e": 5}
    assert sum(allocate(weights, dict.fromkeys(weights, 100), 7).values()) == 7
    assert allocate({"a": 1, "b": 1}, {"a": 2, "b": 0}, 10) == {"a": 2, "b": 0}


def test_graded_questions_and_impossible_exams_are_refused() -> None:
    vocabulary = load_vocabulary()
    with pytest.raises(ExamError, match="graded"):
        MockExam.draw([*practice_questions(), *load_graded_bank("02-ha-concepts").questions], vocabulary)
    with pytest.raises(ExamError, match="at most"):
        MockExam.draw(practice_questions(), vocabulary, count=10_000)
    with pytest.raises(ExamError, match="minutes"):
        MockExam.draw(practice_questions(), vocabulary, minutes=0)


def test_answers_in_the_wrong_form_are_explained_and_not_stored() -> None:
    exam = draw(count=60)
    single = next(i for i, s in enumerate(exam.slots, 1) if s.question.kind == "single")
    exam.go(single)
    letters = len(exam.slot.question.choices)
    assert "is not one of the choices" in exam.answer("z")
    assert "Pick exactly one" in exam.answer("a b")
    assert not exam.slot.answered
    assert exam.answer("a") == "" and exam.slot.answer == "a" and letters >= 4
    choose = next(i for i, s in enumerate(exam.slots, 1) if s.question.kind == "choose")
    exam.go(choose)
    assert "Choose exactly" in exam.answer("a")
    fill = next((i for i, s in enumerate(exam.slots, 1) if s.question.kind == "fill"), None)
    if fill:
        exam.go(fill)
        assert "No answer yet" in exam.answer("   ")
    assert "no question 61" in exam.go(61)


def test_review_change_and_scoring() -> None:
    exam = draw(count=10)
    for slot in exam.slots:  # everything right ...
        slot.answer = slot.question.key
    exam.go(3)
    exam.toggle_mark()
    exam.answer(wrong_answer(exam.slot.question))  # ... then question 3 changed to a wrong answer
    exam.go(4)
    exam.clear()  # ... and question 4 left unanswered
    assert exam.marked() == [3] and exam.unanswered() == [4]
    result = exam.submit()
    assert result.total == 10 and result.correct == 8 and result.percent == 80.0 and result.passed
    assert [r.number for r in result.wrong] == [3, 4] and result.wrong[1].answer is None
    assert all(r.question.explanation for r in result.wrong)
    assert sum(s.total for s in result.by_objective) == 10 and sum(s.correct for s in result.by_objective) == 8
    assert exam.submit() is result  # submitting twice changes nothing
    recorded = exam.answers_for_progress()
    assert len(recorded) == 9 and sum(r["correct"] for r in recorded) == 8  # unanswered is not recorded


def wrong_answer(question):  # noqa: ANN001, ANN201 - test helper
    if question.kind == "numeric":
        return question.answer + question.tolerance + 1000
    if question.kind == "fill":
        return "certainly-not-this"
    wrong = [question.letter(i) for i, c in enumerate(question.choices) if not c.correct]
    return wrong[:1] if question.kind == "single" else wrong[: question.pick]


def test_time_runs_out_and_the_exam_is_submitted_as_it_stands() -> None:
    clock = FakeClock()
    exam = draw(count=5, minutes=1, clock=clock)
    exam.answer(exam.slot.question.key)
    clock.now += 30
    assert exam.remaining() == 30 and not exam.check_time()
    clock.now += 31
    assert exam.remaining() == 0 and exam.expired
    assert "time is up" in exam.answer(exam.slot.question.key)  # too late: not stored, exam submitted
    result = exam.result
    assert result is not None and result.timed_out and result.correct == 1 and result.seconds_used == 60
    assert exam.go(2) == "The exam is over."


def test_scaled_score_puts_500_at_the_pass_mark() -> None:
    assert scaled_score(0) == 200 and scaled_score(100) == 800 and scaled_score(PASS_PERCENT) == 500
    assert scaled_score(35) == 350 and scaled_score(85) == 650
    assert scaled_score(150) == 800 and scaled_score(-5) == 200


def test_an_all_right_exam_passes_with_800() -> None:
    exam = draw(count=20)
    for slot in exam.slots:
        assert grade(slot.question, slot.question.key).correct  # choices were shuffled; the key follows them
        slot.answer = slot.question.key
    result = exam.submit()
    assert result.percent == 100 and result.scaled == 800 and not result.wrong
    assert result.summary()["by_objective"]
