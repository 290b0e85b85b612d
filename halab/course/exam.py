"""The mock LPIC-3 exam: a pure engine that the notebook widget and `halab exam` drive.

60 questions in 90 minutes by default, the format of LPIC-3 exams. Questions are drawn from the practice banks
(never the graded ones) with the objectives' weights (course/quizzes/objectives.toml), in random order with
their choices shuffled, reproducibly for a given seed. Course-only topics (virtualization, not an objective of
exam 306) are left out unless asked for. A spaced review (halab.course.review) runs the same engine on the
questions that are due. The candidate sees one question at a time, may answer,
change or clear answers, mark questions for review and move freely, then submits; when the time is up the exam
is submitted as it stands (check_time, or any action after the deadline). The clock is a function returning
seconds (time.monotonic by default), so tests drive time with a fake one.

Scoring: one point per question, all or nothing (LPI gives no partial credit for multiple answers). LPI
reports a scaled score from 200 to 800 with 500 to pass and does not publish which share of right answers
that is: it varies by exam form. Candidates and trainers commonly put it around 65-70 %. The mock exam uses
the stricter end, PASS_PERCENT = 70, so that passing it leaves a margin, and shows a scaled score that is
linear from 200 (0 %) to 500 (70 %) and from 500 to 800 (100 %): a reading aid, not LPI's formula.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from halab.course.objectives import Vocabulary
from halab.course.quiz import Question, grade
from halab.course.quizbank import shuffled
from halab.errors import HalabError

EXAM_QUESTIONS = 60
EXAM_MINUTES = 90
PASS_PERCENT = 70.0
MAX_MINUTES = 600
Clock = Callable[[], float]


class ExamError(HalabError):
    """The exam cannot be set up as asked (too few questions, a bad count or time)."""


@dataclass
class Slot:
    question: Question
    answer: Any = None
    marked: bool = False

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class ObjectiveScore:
    objective: str
    title: str
    total: int
    correct: int

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class Review:
    """A question answered wrongly (or not at all), for the result page."""

    number: int
    question: Question
    answer: Any
    feedback: str


@dataclass(frozen=True)
class ExamResult:
    total: int
    correct: int
    seconds_used: float
    timed_out: bool
    seed: int
    by_objective: tuple[ObjectiveScore, ...]
    wrong: tuple[Review, ...]
    graded: tuple[tuple[Question, bool], ...] = field(repr=False, default=())

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.percent >= PASS_PERCENT

    @property
    def scaled(self) -> int:
        return scaled_score(self.percent)

    def summary(self) -> dict[str, Any]:
        """What the progress file keeps of an exam (JSON-ready)."""
        return {
            "questions": self.total, "correct": self.correct, "percent": round(self.percent, 1),
            "scaled": self.scaled, "passed": self.passed, "pass_percent": PASS_PERCENT, "timed_out": self.timed_out,
            "seconds_used": round(self.seconds_used), "seed": self.seed,
            "by_objective": {s.objective: {"total": s.total, "correct": s.correct} for s in self.by_objective},
        }  # fmt: skip


def scaled_score(percent: float) -> int:
    """LPI's 200-800 scale with 500 at the pass mark; linear on each side (see the module docstring)."""
    percent = min(max(percent, 0.0), 100.0)
    if percent <= PASS_PERCENT:
        return round(200 + 300 * percent / PASS_PERCENT)
    return round(500 + 300 * (percent - PASS_PERCENT) / (100 - PASS_PERCENT))


def allocate(weights: dict[str, int], available: dict[str, int], count: int) -> dict[str, int]:
    """How many questions each objective gets: proportional to its weight, never more than it has. Objectives
    whose share exceeds what they have get all they have, and the rest is shared again among the others by
    weight; the final shares are rounded by largest remainder (ties: higher weight, then id)."""
    active = {o for o in weights if available.get(o, 0) > 0}
    remaining = min(count, sum(available.get(o, 0) for o in active))
    counts = dict.fromkeys(weights, 0)
    shares: dict[str, float] = {}
    while active:
        total = sum(weights[o] for o in active)
        shares = {o: remaining * weights[o] / total for o in active}
        full = {o for o in active if shares[o] >= available[o]}
        if not full:
            break
        for objective in full:
            counts[objective] = available[objective]
            remaining -= available[objective]
        active -= full
    floors = {o: int(shares[o]) for o in active}
    left = remaining - sum(floors.values())
    for objective in sorted(active, key=lambda o: (-(shares[o] - floors[o]), -weights[o], o))[:left]:
        floors[objective] += 1
    counts.update(floors)
    return counts


class MockExam:
    def __init__(self, questions: Sequence[Question], minutes: float, vocabulary: Vocabulary, seed: int = 0,
                 clock: Clock = time.monotonic) -> None:
        if not questions:
            raise ExamError("an exam needs at least one question")
        if not 0 < minutes <= MAX_MINUTES:
            raise ExamError(f"the time must be more than 0 and at most {MAX_MINUTES} minutes")
        self.slots = [Slot(q) for q in questions]
        self.vocabulary = vocabulary
        self.seed = seed
        self.clock = clock
        self.minutes = minutes
        self.started = clock()
        self.deadline = self.started + minutes * 60
        self.current = 0
        self.result: ExamResult | None = None

    @classmethod
    def draw(cls, pool: Sequence[Question], vocabulary: Vocabulary, count: int = EXAM_QUESTIONS,
             minutes: float = EXAM_MINUTES, seed: int | None = None, clock: Clock = time.monotonic,
             include_course_only: bool = False) -> MockExam:
        """Draw `count` questions from the pool with the objectives' weights; the same seed gives the same exam.
        Questions of course-only objectives are drawn only with include_course_only."""
        if any(q.graded for q in pool):
            raise ExamError("graded questions must not appear in a mock exam")
        if count < 1:
            raise ExamError("an exam needs at least one question")
        if not include_course_only:
            pool = [q for q in pool if q.objective not in vocabulary.course_only]
        if count > len(pool):
            raise ExamError(f"the bank has {len(pool)} practice questions for this exam; ask for at most that many")
        seed = random.SystemRandom().randrange(1, 10**6) if seed is None else seed
        rng = random.Random(seed)
        by_objective: dict[str, list[Question]] = {}
        for question in pool:
            by_objective.setdefault(question.objective, []).append(question)
        weights = {o.id: o.weight for o in vocabulary.objectives
                   if include_course_only or o.id not in vocabulary.course_only}
        counts = allocate(weights, {o: len(qs) for o, qs in by_objective.items()}, count)
        drawn = [q for o in weights for q in rng.sample(by_objective.get(o, []), counts[o])]
        rng.shuffle(drawn)
        return cls([shuffled(q, rng) for q in drawn], minutes, vocabulary, seed, clock)

    # ---- time ----
    def remaining(self) -> float:
        return max(0.0, self.deadline - self.clock())

    @property
    def expired(self) -> bool:
        return self.clock() >= self.deadline

    @property
    def finished(self) -> bool:
        return self.result is not None

    def check_time(self) -> bool:
        """Submit the exam as it stands if the time is up; True when it is over (for whatever reason)."""
        if self.result is None and self.expired:
            self.submit(timed_out=True)
        return self.result is not None

    # ---- navigation and answers ----
    @property
    def slot(self) -> Slot:
        return self.slots[self.current]

    def go(self, number: int) -> str:
        """Go to question `number` (1-based); returns a problem, or "" when done."""
        if self.check_time():
            return "The exam is over."
        if not 1 <= number <= len(self.slots):
            return f"There is no question {number}; the exam has questions 1 to {len(self.slots)}."
        self.current = number - 1
        return ""

    def step(self, delta: int) -> str:
        return self.go(min(max(self.current + 1 + delta, 1), len(self.slots)))

    def answer(self, value: Any) -> str:
        """Set the current question's answer. Returns "" when it was accepted, else what is wrong with its form
        (a letter that is not offered, three letters where two are asked for, an empty fill-in): the answer is
        then not stored. Never says whether it is right."""
        if self.check_time():
            return "The time is up: the exam was submitted as it stood, without this answer."
        feedback = grade(self.slot.question, value)
        if not feedback.well_formed:
            return feedback.message
        self.slot.answer = value
        return ""

    def clear(self) -> None:
        if not self.check_time():
            self.slot.answer = None

    def toggle_mark(self) -> None:
        if not self.check_time():
            self.slot.marked = not self.slot.marked

    def unanswered(self) -> list[int]:
        return [i + 1 for i, s in enumerate(self.slots) if not s.answered]

    def marked(self) -> list[int]:
        return [i + 1 for i, s in enumerate(self.slots) if s.marked]

    # ---- the end ----
    def submit(self, timed_out: bool = False) -> ExamResult:
        if self.result is not None:
            return self.result
        graded, wrong = [], []
        tally: dict[str, list[int]] = {o.id: [0, 0] for o in self.vocabulary.objectives}
        for number, slot in enumerate(self.slots, 1):
            feedback = grade(slot.question, slot.answer)
            graded.append((slot.question, feedback.correct))
            counts = tally.setdefault(slot.question.objective, [0, 0])
            counts[0] += 1
            counts[1] += feedback.correct
            if not feedback.correct:
                wrong.append(Review(number, slot.question, slot.answer, feedback.message))
        scores = tuple(ObjectiveScore(o.id, o.title, *tally[o.id]) for o in self.vocabulary.objectives
                       if tally[o.id][0])
        used = min(self.clock(), self.deadline) - self.started
        self.result = ExamResult(len(self.slots), sum(c for _, c in graded), used, timed_out, self.seed, scores,
                                 tuple(wrong), tuple(graded))
        return self.result

    def answers_for_progress(self) -> list[dict[str, Any]]:
        """The answered questions, graded, in the form halab.course.progress.record_exam takes (after submit).
        Unanswered questions count as wrong in the score but say nothing about what the candidate knows."""
        result = self.result or self.submit()
        return [{"id": q.id, "correct": ok, "terms": list(q.terms)}
                for (q, ok), slot in zip(result.graded, self.slots, strict=True) if slot.answered]
