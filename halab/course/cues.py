"""Answer cues: how far a candidate who knows nothing gets on the bank by test-wiseness alone.

A bank leaks its answers when the right option is usually the longest one (authors qualify the truth and
leave distractors short), the shortest one, or the one worded most absolutely ("always", "only", "never") or
least so. cue_shares measures, over single-choice questions, how often each rule would find the right answer;
a fair bank keeps each near chance (one in four or five). TestWiseBot takes whole mock exams on such rules
(the longest option; for "choose N" the N longest; nothing for a fill-in or a number), RandomGuesser is the
baseline of pure chance. tests/course/test_answer_cues.py and benchmarks/testwise_bot.py use them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from halab.course.exam import MockExam
from halab.course.objectives import Vocabulary
from halab.course.questions import Question

ABSOLUTE = re.compile(r"\b(always|never|only|all|none|every|everything|nothing|any|must|cannot|can't|no|"
                      r"completely|entirely|impossible|guaranteed?|guarantees)\b", re.I)  # fmt: skip
SINGLE_KINDS = ("single", "choice")


def absoluteness(text: str) -> int:
    return len(ABSOLUTE.findall(text))


@dataclass(frozen=True)
class CueShares:
    """How many single-choice questions each rule answers right, of `total`. A rule that finds several options
    (two equally long ones) counts as the chance of picking the right one among them: 1/2, 1/3..., the score
    of a bot that breaks ties at random; options of equal length give no cue."""

    total: int
    longest: float  # the right option is the longest one
    shortest: float
    most_absolute: float  # the right option has the most absolute words, and has some
    least_absolute: float  # the right option is the only one with no absolute word (rule: "avoid absolutes")

    def share(self, count: float) -> float:
        return count / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {name: round(100 * self.share(getattr(self, name)), 1)
                for name in ("longest", "shortest", "most_absolute", "least_absolute")}


def right_index(question: Question) -> int:
    return next(i for i, c in enumerate(question.choices) if c.correct)


def _chance(values: Sequence[int], right: int, best: int) -> float:
    """The chance that picking at random among the options whose value is `best` picks the right one."""
    return 1 / values.count(best) if values[right] == best else 0.0


def cue_hits(question: Question) -> dict[str, float]:
    """How well each rule finds the right option of one single-choice question (1 = surely, 0 = never)."""
    lengths = [len(c.text) for c in question.choices]
    words = [absoluteness(c.text) for c in question.choices]
    right = right_index(question)
    return {
        "longest": _chance(lengths, right, max(lengths)),
        "shortest": _chance(lengths, right, min(lengths)),
        "most_absolute": _chance(words, right, max(words)) if max(words) else 0.0,
        "least_absolute": float(words[right] == 0 and words.count(0) == 1),
    }


def cue_shares(questions: Iterable[Question]) -> CueShares:
    singles = [q for q in questions if q.kind in SINGLE_KINDS]
    hits = [cue_hits(q) for q in singles]
    return CueShares(len(singles), *(sum(h[rule] for h in hits)
                                     for rule in ("longest", "shortest", "most_absolute", "least_absolute")))


Answerer = Callable[[Question], Any]


def longest_pick(question: Question) -> Any:
    """The longest option (the first of equals, as shown); for "choose N" the N longest; nothing otherwise."""
    if not question.choices:
        return ""
    order = sorted(range(len(question.choices)), key=lambda i: (-len(question.choices[i].text), i))
    wanted = question.pick if question.kind == "choose" else 1
    return [question.letter(i) for i in sorted(order[:wanted])]


class RandomGuesser:
    """Chance: a random option (or N of them); nothing for a fill-in or a number."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, question: Question) -> Any:
        if not question.choices:
            return ""
        wanted = question.pick if question.kind == "choose" else 1
        return [question.letter(i) for i in sorted(self.rng.sample(range(len(question.choices)), wanted))]


def take_exam(exam: MockExam, answerer: Answerer) -> float:
    """Answer every question of a mock exam with answerer, submit, and return the percentage right."""
    for number in range(1, len(exam.slots) + 1):
        exam.go(number)
        answer = answerer(exam.slot.question)
        if answer not in ("", None, []):
            exam.answer(answer)
    return exam.submit().percent


def average_score(pool: Sequence[Question], vocabulary: Vocabulary, answerer: Answerer, exams: int = 20,
                  count: int = 60, include_course_only: bool = False) -> tuple[float, list[float]]:
    """The mean percentage over `exams` mock exams drawn with seeds 1..exams, and each exam's score."""
    scores = []
    for seed in range(1, exams + 1):
        exam = MockExam.draw(pool, vocabulary, count=count, seed=seed, clock=lambda: 0.0,
                             include_course_only=include_course_only)
        scores.append(take_exam(exam, answerer))
    return sum(scores) / len(scores), scores
