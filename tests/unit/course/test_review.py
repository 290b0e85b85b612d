"""Spaced review (halab.course.review): FSRS cards for missed questions and terms, fed by answers, mock exams
and lab checks, kept in the progress file's versioned "review" section; old and damaged files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fsrs import Card, State

from halab.course import progress, review
from halab.course.objectives import load_vocabulary
from halab.course.quiz import practice_questions

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")


def answer(question_id: str, right: bool, minutes: float, terms: tuple[str, ...] = ("quorum",)) -> dict[str, object]:
    return {"id": question_id, "correct": right, "terms": list(terms), "mode": "practice", "at": at(minutes)}


def test_a_miss_makes_cards_and_a_right_first_answer_does_not() -> None:
    data = progress.empty()
    review.apply_answers(data, [answer("quorum-why", True, 0), answer("quorum-even-nodes", False, 1)])
    assert set(data["review"]["cards"]) == {"q:quorum-even-nodes", "t:quorum"}
    card = Card.from_dict(data["review"]["cards"]["q:quorum-even-nodes"])
    assert card.state == State.Learning and card.due == T0 + dt.timedelta(minutes=2)  # FSRS: again in a minute


def test_intervals_grow_while_the_answers_stay_right_and_shrink_after_a_miss() -> None:
    data = progress.empty()
    review.apply_answers(data, [answer("q1", False, 0)])
    dues, minutes = [], 0.0
    for _ in range(4):
        card = Card.from_dict(data["review"]["cards"]["q:q1"])
        minutes = (card.due - T0).total_seconds() / 60
        review.apply_answers(data, [answer("q1", True, minutes)])
        dues.append(Card.from_dict(data["review"]["cards"]["q:q1"]).due - (T0 + dt.timedelta(minutes=minutes)))
    assert dues == sorted(dues) and dues[-1] >= dt.timedelta(days=1), dues
    review.apply_answers(data, [answer("q1", False, minutes + 10)])
    lapsed = Card.from_dict(data["review"]["cards"]["q:q1"])
    assert lapsed.state == State.Relearning and lapsed.due - lapsed.last_review < dt.timedelta(hours=1)
    assert data["review"]["reviews"]["q:q1"] == 6


def test_a_failed_lab_task_puts_its_terms_up_for_review() -> None:
    """A failed fencing check: the fencing questions come up, through the term cards."""
    vocabulary = load_vocabulary()
    data = progress.empty()
    rows = [{"lab": "clustering", "task": "fencing", "passed": False, "at": at(0)},
            {"lab": "clustering", "task": "web", "passed": True, "at": at(0)},
            {"lab": "clustering", "task": "", "passed": False, "at": at(0)}]
    review.apply_labs(data, rows, vocabulary.terms_for_lab)
    cards = set(data["review"]["cards"])
    assert "t:fencing (node level)" in cards and "t:stonith_admin" in cards
    assert not any(term in cards for term in ("t:cluster resources", "t:groups and clones"))  # web passed
    drawn = review.draw(data, practice_questions(), now=T0 + dt.timedelta(hours=1))
    assert any("fencing (node level)" in q.terms for q in drawn) and any("stonith_admin" in q.terms for q in drawn)


def test_draw_takes_due_questions_first_then_questions_on_due_terms() -> None:
    pool = practice_questions()
    data = progress.empty()
    data["answers"] = [answer("quorum-why", False, 0), answer("split-brain-def", True, 0, ("split brain",))]
    review.apply_answers(data, data["answers"])
    assert review.draw(data, pool, now=T0) == []  # nothing is due yet
    drawn = review.draw(data, pool, now=T0 + dt.timedelta(minutes=5), limit=10)
    assert drawn[0].id == "quorum-why" and len(drawn) == 1 + review.QUESTIONS_PER_TERM
    assert all("quorum" in q.terms for q in drawn)
    assert len(review.draw(data, pool, now=T0 + dt.timedelta(minutes=5), limit=2)) == 2
    gone = progress.empty()
    review.apply_answers(gone, [answer("no-longer-in-the-bank", False, 0, ("nonexistent term",))])
    assert review.draw(gone, pool, now=T0 + dt.timedelta(days=1)) == []  # removed questions are skipped


def test_due_and_next_due() -> None:
    data = progress.empty()
    review.apply_answers(data, [answer("q1", False, 0)])
    assert review.due(data, T0) == [] and review.next_due(data, T0) == T0 + dt.timedelta(minutes=1)
    due = review.due(data, T0 + dt.timedelta(minutes=1))
    assert [(c.kind, c.name) for c in due] == [("question", "q1"), ("term", "quorum")]
    assert due[0].as_dict()["state"] == "learning" and review.next_due(data, T0 + dt.timedelta(days=9)) is None


def test_an_old_progress_file_gets_its_review_built_from_its_history(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    old = {"version": 1, "answers": [answer("quorum-why", False, 0)], "exams": [],
           "labs": [{"lab": "drbd", "task": "split-brain", "passed": False, "checks": 2, "at": at(5)}]}
    path.write_text(json.dumps(old))
    data, notices = progress.load(path)
    assert notices == [] and data["answers"] == old["answers"] and data["labs"] == old["labs"]
    assert {"q:quorum-why", "t:quorum", "t:split brain", "t:DRBD split-brain recovery"} <= set(data["review"]["cards"])
    progress.record_answers([{"id": "x", "correct": True, "terms": []}], "practice", path)
    written = json.loads(path.read_text())
    assert written["version"] == 1 and written["review"]["version"] == review.VERSION  # the file stays format 1
    assert set(written) == {"version", "answers", "exams", "labs", "review"}


def test_a_damaged_review_section_is_rebuilt_and_the_answers_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"version": 1, "answers": [answer("q1", False, 0)], "exams": [], "labs": [],
                                "review": {"version": 1, "cards": {"q:q1": {"due": "never"}}}}))
    data, notices = progress.load(path)
    assert notices and "rebuilt" in notices[0] and "q:q1" in data["review"]["cards"]
    assert Card.from_dict(data["review"]["cards"]["q:q1"]).state == State.Learning
    assert not list(tmp_path.glob("progress.json.damaged-*"))  # the file itself was fine


def test_a_review_section_from_a_newer_halab_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    future = {"version": 9, "cards": {"whatever": {}}}
    path.write_text(json.dumps({"version": 1, "answers": [], "exams": [], "labs": [], "review": future}))
    progress.record_answers([{"id": "q1", "correct": False, "terms": ["quorum"]}], "practice", path)
    written = json.loads(path.read_text())
    assert written["review"] == future and written["answers"][0]["id"] == "q1"
    assert review.cards(written) == [] and review.due(written) == []


def test_recording_feeds_the_schedule(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress.record_exam({"questions": 1, "correct": 0}, [{"id": "drbd9-quorum", "correct": False,
                                                            "terms": ["DRBD 9"]}], path)
    progress.record_lab_check({"lab": "loadbalancing", "checks": [{"id": "vrrp", "task": "keepalived",
                                                                   "passed": False}]}, path)
    cards = json.loads(path.read_text())["review"]["cards"]
    assert {"q:drbd9-quorum", "t:DRBD 9", "t:keepalived", "t:VRRP"} <= set(cards)
