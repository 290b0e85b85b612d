"""The bank measures knowledge, not test-wiseness: no answer cue, no near-duplicate questions, every exam
objective's pool large enough for its share of a mock exam, and a test-wise bot that fails the mock exam.

Cue shares are computed over every single-choice question of every bank, practice and graded; a rule that
finds several options at once (two equally long ones) counts as the chance of a random pick among them."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from difflib import SequenceMatcher

import pytest

from halab.course.cues import (
    RandomGuesser,
    absoluteness,
    average_score,
    cue_hits,
    cue_shares,
    longest_pick,
)
from halab.course.exam import EXAM_QUESTIONS
from halab.course.objectives import load_vocabulary
from halab.course.questions import Choice, Question, Section
from halab.course.quiz import check_catalogue, practice_questions

MAX_CUE_SHARE = 0.35
MIN_LONGEST_SHARE = 0.10  # a bank whose right answer is never the longest leaks it too: "skip the longest"
MAX_BOT_PERCENT = 40.0
POOL_PER_EXAM_SHARE = 3.5  # each objective can fill its share of a 60-question exam several times over
NEAR_DUPLICATE = 0.72


def all_questions() -> list[Question]:
    practice, graded = check_catalogue()
    return [q for bank in (*practice, *graded) for q in bank.questions]


@pytest.mark.parametrize("rule", ["longest", "shortest", "most_absolute", "least_absolute"])
def test_no_rule_of_thumb_finds_the_right_option(rule: str) -> None:
    shares = cue_shares(all_questions())
    assert shares.total >= 250
    share = shares.share(getattr(shares, rule))
    worst = sorted((q for q in all_questions() if q.kind in ("single", "choice") and cue_hits(q)[rule] == 1),
                   key=lambda q: q.id)
    assert share <= MAX_CUE_SHARE, f"{rule}: {100 * share:.0f} % of single-choice questions, e.g. " + \
        ", ".join(q.id for q in worst[:15])


def test_the_right_option_is_not_never_the_longest_either() -> None:
    shares = cue_shares(all_questions())
    assert shares.share(shares.longest) >= MIN_LONGEST_SHARE


def test_choose_questions_are_not_answered_by_their_longest_options() -> None:
    choose = [q for q in practice_questions() if q.kind == "choose"]
    hits = [q.id for q in choose
            if sorted(longest_pick(q)) == sorted(q.right_letters)]
    assert len(choose) >= 40 and len(hits) <= MAX_CUE_SHARE * len(choose), hits


def test_the_test_wise_bot_fails_the_mock_exam() -> None:
    pool, vocabulary = practice_questions(), load_vocabulary()
    bot, scores = average_score(pool, vocabulary, longest_pick, exams=20)
    chance, _ = average_score(pool, vocabulary, RandomGuesser(seed=1), exams=20)
    assert len(scores) == 20 and bot < MAX_BOT_PERCENT, f"the test-wise bot averages {bot:.1f} %"
    assert bot < chance + 15, f"the bot ({bot:.1f} %) does much better than chance ({chance:.1f} %)"


def test_the_cue_rules_themselves() -> None:
    def single(*texts: str, right: int = 0) -> Question:
        choices = tuple(Choice(t, i == right, "") for i, t in enumerate(texts))
        return Question("q", "single", "p", ("quorum",), "e", Section("n", "h"), choices=choices)

    assert cue_hits(single("a much longer right answer", "b", "c", "d")) == {
        "longest": 1.0, "shortest": 0.0, "most_absolute": 0.0, "least_absolute": 0.0}
    tied = cue_hits(single("aa", "bb", "c", "d"))
    assert tied["longest"] == 0.5 and tied["shortest"] == 0.0
    absolute = cue_hits(single("It always works", "It never works", "It works", "It fails", right=2))
    assert absolute["most_absolute"] == 0.0 and absolute["least_absolute"] == 0.0
    assert absoluteness("Only the DC, never the others") == 2 and absoluteness("a node") == 0
    assert longest_pick(single("x", "yyy", "zz", "w")) == ["b"]


def signature(question: Question) -> tuple[str, str]:
    def norm(text: str) -> str:
        return " ".join(re.findall(r"[a-z0-9_./=-]+", text.lower()))

    if question.kind == "fill":
        key = question.answers[0]
    elif question.kind == "numeric":
        key = str(question.answer)
    else:
        key = " ".join(c.text for c in question.choices if c.correct)
    return norm(question.prompt), norm(key)


def near_duplicate(a: Question, b: Question) -> bool:
    (pa, ka), (pb, kb) = signature(a), signature(b)
    key = SequenceMatcher(None, ka, kb).ratio()
    return key >= 0.9 and (key + SequenceMatcher(None, pa, pb).ratio()) / 2 >= NEAR_DUPLICATE


def test_no_two_practice_questions_ask_the_same_fact() -> None:
    """Same key and much the same prompt: one of them is a near-duplicate that a 60-question draw would ask
    twice."""
    pairs = [f"{a.id} / {b.id}" for a, b in itertools.combinations(practice_questions(), 2) if near_duplicate(a, b)]
    assert not pairs, f"near-duplicates: {pairs}"


def test_the_near_duplicate_rule_catches_a_pair_the_bank_had() -> None:
    """cfgtool-reload and cfgtool-reload-token (merged) asked for the same command in other words."""
    section = Section("03-clustering", "h")
    first = Question("a", "fill", "You changed corosync.conf identically on every node of a running cluster. Which "
                     "command tells all Corosync instances to reload it?", ("corosync-cfgtool",), "e", section,
                     answers=("corosync-cfgtool -R",))
    second = Question("b", "fill", "You changed token in corosync.conf on every node. Which corosync-cfgtool command "
                      "makes the running cluster read the file again, without a restart?", ("corosync-cfgtool",), "e",
                      section, answers=("corosync-cfgtool -R",))
    other = Question("c", "fill", "Which command shows every knet link?", ("corosync-cfgtool",), "e", section,
                     answers=("corosync-cfgtool -s",))
    assert near_duplicate(first, second) and not near_duplicate(first, other)


def test_every_exam_objective_can_fill_its_share_several_times() -> None:
    vocabulary = load_vocabulary()
    have = Counter(q.objective for q in practice_questions())
    taught = [o for o in vocabulary.objectives if not o.course_only]
    total = sum(o.weight for o in taught)
    for objective in taught:
        share = EXAM_QUESTIONS * objective.weight / total
        assert have[objective.id] >= POOL_PER_EXAM_SHARE * share, f"{objective.id}: {have[objective.id]} questions"
