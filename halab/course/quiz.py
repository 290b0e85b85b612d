"""Grading quiz answers, and the entry points the notebooks' nbgrader test cells call.

The banks (course/quizzes/, validated by halab.course.quizbank) hold single-choice, "choose N", fill-in and
numeric questions; graded banks also the older "choice" and "multi" kinds. Grading never raises on a
student's answer: an answer in the wrong form (text where a number is due, a letter that is not offered,
three letters where two are asked for, an empty fill-in) gets Feedback that says what form is expected,
with well_formed=False. Only a malformed bank raises, as QuizError naming the file and the question,
because that is the course author's mistake.

Notebooks use it two ways: the quiz widget (halab.course.widgets.quiz) for practice, and nbgrader test
cells `assert correct("02-ha-concepts", "question-id", answer)`, which grade against the GRADED bank
(course/quizzes/graded/), show the feedback and fail the cell when the answer is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from halab.course import fillin
from halab.course.hamath import InputError
from halab.course.quizbank import (
    GRADED_KINDS,
    LETTERS,
    MAX_ANSWER_CHARS,
    NUMBER_WORDS,
    PRACTICE_KINDS,
    Choice,
    Question,
    QuizBank,
    QuizError,
    Section,
    WrongAnswer,
    bank_names,
    check_catalogue,
    graded_bank_names,
    load_bank,
    load_graded_bank,
    normalise_text,
    practice_questions,
    quizzes_dir,
)

KINDS = GRADED_KINDS
__all__ = [
    "GRADED_KINDS", "KINDS", "LETTERS", "PRACTICE_KINDS", "Choice", "Feedback", "Question", "QuizBank", "QuizError",
    "Section", "WrongAnswer", "bank_names", "check_catalogue", "correct", "grade", "graded_bank_names", "load_bank",
    "load_graded_bank", "parse_number", "practice_questions", "quizzes_dir", "readable",
]  # fmt: skip


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str
    # False when the answer could not be read at all (wrong form); the widget shows it as a hint.
    well_formed: bool = True


def grade(question: Question, answer: Any) -> Feedback:
    """Grade one answer. Choices are letters ("b", or "a, c" / ["a", "c"]); fill-ins text; numbers as numbers
    or text ("99.99", "99.99 %"). Never raises for any answer."""
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return Feedback(False, "No answer yet.", well_formed=False)
    if question.kind == "numeric":
        return _grade_numeric(question, answer)
    if question.kind == "fill":
        return _grade_fill(question, answer)
    try:
        picked = _letters(question, answer)
    except InputError as exc:
        return Feedback(False, str(exc), well_formed=False)
    if question.kind in ("choice", "single"):
        if len(picked) != 1:
            return Feedback(False, "Pick exactly one answer.", well_formed=False)
        choice = question.choices[picked[0]]
        explanation = question.explanation if choice.correct else ""
        return Feedback(choice.correct, _join(_verdict(choice.correct), choice.feedback, explanation))
    if question.kind == "choose" and len(picked) != question.pick:
        wanted = NUMBER_WORDS.get(question.pick, str(question.pick))
        return Feedback(False, f"Choose exactly {wanted} answers; you picked {len(picked)}.", well_formed=False)
    right = {i for i, c in enumerate(question.choices) if c.correct}
    wrong_picks = [i for i in picked if i not in right]
    missed = sorted(right - set(picked))
    notes = [f"({question.letter(i)}) is not right: {question.choices[i].feedback}" for i in wrong_picks]
    notes += [f"You missed ({question.letter(i)}): {question.choices[i].feedback}" for i in missed]
    is_correct = not wrong_picks and not missed
    summary = "" if is_correct else f"{len(wrong_picks)} wrong pick(s), {len(missed)} missed."
    explanation = question.explanation if is_correct else ""
    return Feedback(is_correct, _join(_verdict(is_correct), summary, *notes, explanation))


def _letters(question: Question, answer: Any) -> list[int]:
    """Turn "b", "B)", "a, c", ["a", "c"] into sorted choice indexes; InputError for anything else."""
    offered = ", ".join(question.letter(i) for i in range(len(question.choices)))
    parts: Iterable[Any]
    if isinstance(answer, str):
        tokens = answer.replace("(", " ").replace(")", " ").replace(",", " ").split()
        # "ac" is a common way to write two letters at once; anything else is checked as it is.
        parts = [ch for token in tokens for ch in token] if all(t.isalpha() for t in tokens) else tokens
    elif isinstance(answer, list | tuple | set | frozenset):
        parts = answer
    else:
        raise InputError(f'Answer with the letter of a choice ({offered}) as text, e.g. "b".')
    picked = set()
    for part in parts:
        letter = str(part).strip().lower()
        if len(letter) != 1 or letter not in LETTERS[: len(question.choices)]:
            shown = str(part) if len(str(part)) <= 20 else str(part)[:20] + "..."
            raise InputError(f"{shown!r} is not one of the choices ({offered}).")
        picked.add(LETTERS.index(letter))
    if not picked:
        raise InputError(f"Pick one of the choices ({offered}).")
    return sorted(picked)


def _grade_fill(question: Question, answer: Any) -> Feedback:
    if not isinstance(answer, str):
        return Feedback(False, f"Type your answer as text ({question.blank or 'a word, command or value'}).",
                        well_formed=False)
    if len(answer) > MAX_ANSWER_CHARS:
        return Feedback(False, f"That answer is longer than {MAX_ANSWER_CHARS} characters; type only what is "
                        "asked.", well_formed=False)
    if fillin.is_accepted(question, answer):
        return Feedback(True, _join("Correct.", question.explanation))
    mistake = fillin.known_mistake(question, answer)
    if mistake is not None:
        return Feedback(False, _join("Not quite.", mistake))
    hint = " (Letter case matters here.)" if fillin.differs_only_in_case(question, answer) else ""
    return Feedback(False, f"Not quite: {normalise_text(answer)[:60]!r} is not what is asked.{hint}")


def _grade_numeric(question: Question, answer: Any) -> Feedback:
    value = parse_number(answer, question.unit)
    if value is None:
        unit = f" (in {question.unit})" if question.unit else ""
        shown = str(answer)[:40]
        return Feedback(False, f"{shown!r} is not a number; type a number{unit}, e.g. 42.5.", well_formed=False)
    assert question.answer is not None  # guaranteed by the bank loader for numeric questions
    if abs(value - question.answer) <= question.tolerance:
        return Feedback(True, _join("Correct.", question.explanation))
    for wrong in question.wrong_answers:
        if abs(value - float(wrong.value)) <= question.tolerance:
            return Feedback(False, _join("Not quite.", wrong.feedback))
    hint = "too high" if value > question.answer else "too low"
    return Feedback(False, f"Not quite: {value:g} is {hint}. Check your working and try again.")


def parse_number(answer: Any, unit: str = "") -> float | None:
    """A finite number from a number or text like "99.99 %", "1,5", "8.76 h"; None if it is not one."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int | float):
        return float(answer) if math.isfinite(answer) else None
    if not isinstance(answer, str):
        return None
    text = answer.strip()
    for suffix in (unit, "%"):
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)].strip()
    text = text.replace(" ", "").replace("_", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")  # a decimal comma, as many students write it
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def correct(bank: str, question_id: str, answer: Any) -> bool:
    """For nbgrader test cells: grade against the graded bank, show the feedback, return whether it is right.

    Nothing is recorded in the progress file: autograde runs this on the instructor's machine."""
    feedback = grade(load_graded_bank(bank).question(question_id), answer)
    _show(feedback)
    return feedback.correct


def readable(bank: str, question_id: str, answer: Any) -> bool:
    """For visible nbgrader tests whose grading is hidden: is the answer in a form that can be graded?

    Shows what form is expected when it is not, and says nothing about right or wrong."""
    feedback = grade(load_graded_bank(bank).question(question_id), answer)
    if not feedback.well_formed:
        _show(feedback)
    return feedback.well_formed


def _show(feedback: Feedback) -> None:
    # Imported here so that grading works in plain Python (CLI, tests) without IPython.
    try:
        from IPython.display import HTML, display

        from halab.course.widgets.common import feedback_html
    except ImportError:
        print(feedback.message)
        return
    display(HTML(feedback_html(feedback.correct, feedback.message, feedback.well_formed)))


def _verdict(is_correct: bool) -> str:
    return "Correct." if is_correct else "Not quite."


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)
