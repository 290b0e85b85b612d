"""Spaced review of what a student keeps missing, scheduled by FSRS (the `fsrs` package's Scheduler).

Two kinds of cards, kept in the user's progress file under "review" (a section with its own version):

- a question card ("q:<id>") for every practice question the student has once got wrong;
- a term card ("t:<term>") for every objective term on which a question was missed, or whose lab task failed a
  check (a failed fencing check puts "fencing (node level)" up for review; objectives.toml's [[lab_terms]] and
  [[demonstrations]] say which terms each lab task exercises).

Every later answer to a carded question or term is a review: right is Rating.Good, wrong is Rating.Again; a lab
task that passes rates its term cards Good. FSRS then says when each card is due again: a miss comes back
within minutes, then a day, then at growing intervals while the answers stay right. Questions answered right
from the start never get a card: the review is about what goes wrong, not a second copy of the bank.

`draw` picks what is due: the due questions themselves, and for each due term a question on it (one not yet
right, where there is one). A progress file written before spaced review existed has no "review" section: it
is built by replaying the file's answers and lab checks in order (replay), so history counts from the start.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fsrs import Card, Rating, Scheduler, State

from halab.course.questions import Question

VERSION = 1
# FSRS-6 defaults (90 % retention); no fuzz, so that the same history gives the same dates.
SCHEDULER = Scheduler(enable_fuzzing=False)
QUESTIONS_PER_TERM = 2
Data = dict[str, Any]
TermsForLab = Callable[[str, str], Sequence[str]]


@dataclass(frozen=True)
class DueCard:
    key: str
    kind: str  # "question" or "term"
    name: str  # the question id or the term
    due: dt.datetime
    state: str
    reviews: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "due": self.due.isoformat(timespec="seconds"),
                "state": self.state, "reviews": self.reviews}


def empty() -> Data:
    return {"version": VERSION, "cards": {}, "reviews": {}}


def problem(section: Any) -> str:
    """What is wrong with a review section ("" when nothing is); a newer version is not a problem here."""
    if not isinstance(section, dict):
        return "it is not a JSON object"
    if not isinstance(section.get("version"), int) or isinstance(section.get("version"), bool):
        return "it has no version"
    if section["version"] > VERSION:
        return ""
    if not isinstance(section.get("cards"), dict) or not isinstance(section.get("reviews", {}), dict):
        return "its cards are not a mapping"
    for key, card in section["cards"].items():
        try:
            Card.from_dict(card)
        except (KeyError, TypeError, ValueError):
            return f"card {key!r} cannot be read"
    return ""


def writable(data: Mapping[str, Any]) -> bool:
    """False when a newer halab wrote the review section: it is then left as it is."""
    section = data.get("review")
    return not isinstance(section, dict) or not isinstance(section.get("version"), int) or \
        section["version"] <= VERSION


def card_id(key: str) -> int:
    # fsrs makes ids from the clock (and sleeps 1 ms per card to keep them apart); a hash of the key is stable.
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


def parse_time(text: Any, fallback: dt.datetime) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError:
        return fallback
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _rate(section: Data, key: str, right: bool, at: dt.datetime, create: bool) -> None:
    cards = section["cards"]
    if key not in cards and not create:
        return
    card = Card.from_dict(cards[key]) if key in cards else Card(card_id=card_id(key), due=at)
    if card.last_review is not None and at < card.last_review:
        at = card.last_review  # a clock that went back must not make FSRS count negative days
    card, _ = SCHEDULER.review_card(card, Rating.Good if right else Rating.Again, at)
    cards[key] = card.to_dict()
    section["reviews"][key] = section["reviews"].get(key, 0) + 1


def apply_answers(data: Data, rows: Iterable[Mapping[str, Any]]) -> None:
    """Review the cards of answered questions (each row: id, correct, terms, at); a miss creates cards."""
    if not writable(data):
        return
    section = data.setdefault("review", empty())
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        at, right = parse_time(row.get("at"), now), bool(row["correct"])
        _rate(section, f"q:{row['id']}", right, at, create=not right)
        for term in row.get("terms", ()):
            _rate(section, f"t:{term}", right, at, create=not right)


def apply_labs(data: Data, rows: Iterable[Mapping[str, Any]], terms_for_lab: TermsForLab) -> None:
    """Review the term cards of checked lab tasks (each row: lab, task, passed, at); a failure creates them."""
    if not writable(data):
        return
    section = data.setdefault("review", empty())
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        if not row.get("task"):
            continue  # the whole-lab summary row: its tasks are reviewed one by one
        at, passed = parse_time(row.get("at"), now), bool(row["passed"])
        for term in terms_for_lab(str(row["lab"]), str(row["task"])):
            _rate(section, f"t:{term}", passed, at, create=not passed)


def replay(data: Data, terms_for_lab: TermsForLab) -> None:
    """Build the review section from the file's history (answers and lab checks, oldest first)."""
    data["review"] = empty()
    events = [(str(r.get("at", "")), 0, r) for r in data.get("answers", [])]
    events += [(str(r.get("at", "")), 1, r) for r in data.get("labs", [])]
    for _, kind, row in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            apply_answers(data, [row])
        else:
            apply_labs(data, [row], terms_for_lab)


def cards(data: Mapping[str, Any]) -> list[DueCard]:
    """Every card, soonest due first."""
    section = data.get("review")
    if not isinstance(section, dict) or problem(section) or section.get("version", 0) > VERSION:
        return []
    out = []
    for key, raw in section["cards"].items():
        card = Card.from_dict(raw)
        kind, _, name = key.partition(":")
        out.append(DueCard(key, "question" if kind == "q" else "term", name, card.due, State(card.state).name.lower(),
                           int(section.get("reviews", {}).get(key, 0))))
    return sorted(out, key=lambda c: (c.due, c.key))


def due(data: Mapping[str, Any], now: dt.datetime | None = None) -> list[DueCard]:
    now = now or dt.datetime.now(dt.UTC)
    return [c for c in cards(data) if c.due <= now]


def next_due(data: Mapping[str, Any], now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or dt.datetime.now(dt.UTC)
    later = [c.due for c in cards(data) if c.due > now]
    return min(later) if later else None


def draw(data: Mapping[str, Any], pool: Sequence[Question], limit: int = 20, now: dt.datetime | None = None,
         seed: int = 0) -> list[Question]:
    """The questions to review now: due questions first (most overdue first), then for each due term up to
    QUESTIONS_PER_TERM questions on it, preferring ones whose latest answer was wrong or that were never
    answered. Questions no longer in the bank are skipped."""
    by_id = {q.id: q for q in pool}
    latest = {str(r["id"]): bool(r["correct"]) for r in data.get("answers", [])}
    rng = random.Random(seed)
    chosen: dict[str, Question] = {}
    due_cards = due(data, now)
    for card in due_cards:
        if card.kind == "question" and card.name in by_id:
            chosen.setdefault(card.name, by_id[card.name])
    for card in due_cards:
        if card.kind != "term":
            continue
        on_term = [q for q in pool if card.name in q.terms and q.id not in chosen]
        rng.shuffle(on_term)
        on_term.sort(key=lambda q: (latest.get(q.id) is True, q.id not in latest))  # missed, unseen, then right
        for question in on_term[:QUESTIONS_PER_TERM]:
            chosen[question.id] = question
    return list(chosen.values())[:limit]
