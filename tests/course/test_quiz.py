from pathlib import Path

import pytest

from halab.course.quiz import (
    QuizError,
    bank_names,
    correct,
    grade,
    graded_bank_names,
    load_bank,
    load_graded_bank,
    parse_number,
    readable,
)

BANKS = ["01-introduction", "02-ha-concepts", "03-clustering", "04-fault-tolerance", "05-ha-infrastructure",
         "05b-load-balancing", "06-virtualization", "07-exam-prep"]  # fmt: skip


def test_every_notebook_has_a_bank_and_every_bank_loads() -> None:
    assert bank_names() == BANKS
    for name in BANKS:
        bank = load_bank(name)
        assert bank.questions, name


def test_every_question_accepts_its_own_right_answer() -> None:
    """The bank's keyed answers must grade as correct: catches typos in the data files."""
    banks = [load_bank(n) for n in BANKS] + [load_graded_bank(n) for n in graded_bank_names()]
    for bank in banks:
        for q in bank.questions:
            assert grade(q, q.key).correct, f"{bank.name}/{q.id}"


def test_numeric_parallel_nodes_question() -> None:
    q = load_graded_bank("02-ha-concepts").question("parallel-two-nines-nodes")
    assert grade(q, 99.9999).correct
    assert grade(q, "99.9999 %").correct
    assert grade(q, "99,9999").correct
    series = grade(q, 99.8001)
    assert not series.correct and "series" in series.message
    assert "too low" in grade(q, 95).message


@pytest.mark.parametrize("answer", ["ninety-nine", "", None, [1, 2], {"a": 1}, True, float("nan")])
def test_numeric_answer_in_wrong_form_gets_feedback_not_an_exception(answer: object) -> None:
    q = load_graded_bank("02-ha-concepts").question("parallel-two-nines-nodes")
    feedback = grade(q, answer)
    assert not feedback.correct and not feedback.well_formed and feedback.message


def test_choice_answers() -> None:
    q = load_graded_bank("02-ha-concepts").question("quorum-split")
    assert grade(q, "a").correct and grade(q, "A)").correct and grade(q, "(a)").correct
    wrong = grade(q, "b")
    assert not wrong.correct and wrong.well_formed and "split brain" in wrong.message


@pytest.mark.parametrize("answer", ["z", "ab", 3, "maybe", [], ["a", "q"]])
def test_choice_answer_in_wrong_form(answer: object) -> None:
    q = load_graded_bank("02-ha-concepts").question("quorum-split")
    feedback = grade(q, answer)
    assert not feedback.correct and not feedback.well_formed and feedback.message


MULTI = """
[[questions]]
id = "tick-all"
kind = "multi"
terms = ["DRBD states"]
section = "States"
prompt = "p"
explanation = "e"
choices = [{ text = "a", correct = true }, { text = "b", correct = true }, { text = "c", correct = true },
           { text = "d", feedback = "not d" }]
"""


def test_multi_answers_need_all_and_only_the_right_letters(tmp_path: Path) -> None:
    """The graded banks' older "tick all that apply" kind (no bank uses it since they follow the exam's forms)."""
    (tmp_path / "graded").mkdir()
    path = tmp_path / "graded" / "04-fault-tolerance.toml"
    path.write_text(MULTI)
    q = load_bank(path).question("tick-all")
    assert grade(q, "abc").correct and grade(q, "a, b, c").correct and grade(q, ["c", "b", "a"]).correct
    partial = grade(q, "ab")
    assert not partial.correct and partial.well_formed and "1 missed" in partial.message
    extra = grade(q, "abcd")
    assert not extra.correct and "1 wrong pick" in extra.message and "not d" in extra.message


def test_graded_choose_three_needs_exactly_three_letters() -> None:
    q = load_graded_bank("04-fault-tolerance").question("proc-drbd")
    assert q.kind == "choose" and q.pick == 3 and len(q.choices) == 5
    assert grade(q, "abc").correct and grade(q, ["c", "b", "a"]).correct
    assert not grade(q, "ab").well_formed and "Choose exactly three" in grade(q, "ab").message
    wrong = grade(q, "abe")
    assert not wrong.correct and wrong.well_formed and "local role first" in wrong.message


def test_correct_and_readable_for_nbgrader_cells(capsys: pytest.CaptureFixture[str]) -> None:
    assert correct("02-ha-concepts", "quorum-split", "a")
    assert not correct("02-ha-concepts", "quorum-split", "c")
    assert readable("02-ha-concepts", "quorum-split", "c")
    assert not readable("02-ha-concepts", "quorum-split", "42")


def test_parse_number() -> None:
    assert parse_number("8.76 h", "h") == 8.76
    assert parse_number("1_000") == 1000
    assert parse_number("inf") is None
    assert parse_number(False) is None


@pytest.mark.parametrize(
    "text, words",
    [
        ("title = 'x'", "at least one"),
        ("[[questions]]\nid = 'q'\nkind = 'essay'\nprompt = 'p'\nexplanation = 'e'", "kind must be"),
        ("[[questions]]\nid = 'q'\nkind = 'numeric'\nprompt = 'p'\nexplanation = 'e'\nanswer = 1", "tolerance"),
        (
            "[[questions]]\nid = 'q'\nkind = 'single'\nprompt = 'p'\nexplanation = 'e'\n"
            "choices = [{text = 'a'}, {text = 'b'}, {text = 'c'}, {text = 'd'}]",
            "exactly one correct",
        ),
        ("[[questions]]\nid = 'q'\nkind = 'choice'\nprompt = 'p'", "explanation"),
        ("not toml = = =", "not valid TOML"),
    ],
)
def test_malformed_banks_name_file_and_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(QuizError, match=words):
        load_bank(path)


def test_missing_bank() -> None:
    with pytest.raises(QuizError, match="no such quiz"):
        load_bank("99-nothing")
