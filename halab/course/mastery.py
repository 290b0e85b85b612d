"""Mastery per objective term, computed from a user's progress data: what `halab progress` and the progress
widget show, and what to study next.

For each term: how many of the bank's practice questions on it the user has answered, how many of those
their LATEST answer got right (so a question answered wrong and then right counts as right), and whether a
lab check that demonstrates the term has passed. The levels:

- not started: no question on the term answered yet;
- weak: fewer than 60 % of the latest answers right;
- learning: in between;
- mastered: at least MASTERED_SHARE of the latest answers right, over at least MIN_SEEN questions (or all of
  them when the bank has fewer).

Suggestions put weak terms first, then terms not started, then those being learnt, heavier objectives first,
each with the notebook section most of its questions point to and the lab that shows it live.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from halab.course.objectives import Demonstration, Vocabulary
from halab.course.quizbank import Question, Section

MASTERED_SHARE = 0.8
WEAK_SHARE = 0.6
MIN_SEEN = 5
LEVELS = ("weak", "not started", "learning", "mastered")  # the order suggestions are made in


@dataclass(frozen=True)
class TermMastery:
    term: str
    objective: str
    questions: int
    seen: int
    right: int
    attempts: int
    lab_passed: bool
    study: Section | None
    demonstrations: tuple[Demonstration, ...]

    @property
    def accuracy(self) -> float:
        return self.right / self.seen if self.seen else 0.0

    @property
    def level(self) -> str:
        if not self.seen:
            return "not started"
        if self.accuracy < WEAK_SHARE:
            return "weak"
        if self.accuracy >= MASTERED_SHARE and self.seen >= min(MIN_SEEN, self.questions):
            return "mastered"
        return "learning"


@dataclass(frozen=True)
class Overview:
    terms: tuple[TermMastery, ...]
    exams: tuple[Mapping[str, Any], ...]
    answers: int

    def by_objective(self, objective: str) -> tuple[TermMastery, ...]:
        return tuple(t for t in self.terms if t.objective == objective)

    def suggestions(self, vocabulary: Vocabulary, limit: int = 5) -> list[TermMastery]:
        weight = {o.id: o.weight for o in vocabulary.objectives}
        open_terms = [t for t in self.terms if t.level != "mastered" and t.questions]
        open_terms.sort(key=lambda t: (LEVELS.index(t.level), -weight.get(t.objective, 0), t.accuracy, t.term))
        return open_terms[:limit]


def overview(data: Mapping[str, Any], questions: Sequence[Question], vocabulary: Vocabulary) -> Overview:
    latest: dict[str, bool] = {}
    attempts: Counter[str] = Counter()
    history_terms: dict[str, tuple[str, ...]] = {}
    answers = data.get("answers", [])
    for row in answers:  # oldest first: the last answer to a question wins
        latest[row["id"]] = bool(row["correct"])
        history_terms[row["id"]] = tuple(row.get("terms", ()))
    current = {q.id: q.terms for q in questions}
    terms_of = {**history_terms, **current}  # the bank's tagging wins over what was recorded at the time
    for row in answers:
        for term in terms_of.get(row["id"], ()):
            attempts[term] += 1
    passed = _passed_labs(data.get("labs", []))
    rows = []
    for objective in vocabulary.objectives:
        for term in objective.vocabulary:
            tagged = [q for q in questions if term in q.terms]
            seen_ids = [i for i, ts in terms_of.items() if term in ts and i in latest]
            demos = vocabulary.demonstrated(term)
            rows.append(TermMastery(
                term=term, objective=objective.id, questions=len(tagged), seen=len(seen_ids),
                right=sum(latest[i] for i in seen_ids), attempts=attempts[term],
                lab_passed=any((d.lab, d.task) in passed for d in demos if d.lab),
                study=_study(tagged), demonstrations=demos,
            ))  # fmt: skip
    return Overview(tuple(rows), tuple(data.get("exams", [])), len(answers))


def _passed_labs(rows: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {(str(r.get("lab")), str(r.get("task") or "")) for r in rows if r.get("passed")}


def _study(questions: Sequence[Question]) -> Section | None:
    """The section most of the term's questions point to: the best single place to read up on it."""
    if not questions:
        return None
    counts = Counter(q.section for q in questions)
    return max(counts, key=lambda s: (counts[s], -[q.section for q in questions].index(s)))
