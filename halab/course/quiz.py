"""Quiz question banks (TOML files under course/quizzes/) and their grading.

A bank holds multiple-choice ("choice": one right answer, "multi": tick all that apply) and numeric
questions. Grading never raises on a student's answer: an answer in the wrong form (text where a number is
due, a letter that is not offered) gets Feedback that says what form is expected. Only a malformed bank
raises, as QuizError naming the file and the question, because that is the course author's mistake.

Notebooks use it two ways: the quiz widget (halab.course.widgets.quiz) for practice, and nbgrader test
cells `assert correct("02-ha-concepts", "question-id", answer)`, which show the feedback and fail the cell
when the answer is wrong.
"""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab import paths
from halab.course.hamath import InputError
from halab.errors import HalabError

KINDS = ("choice", "multi", "numeric")
LETTERS = string.ascii_lowercase


class QuizError(HalabError):
    """A question bank file is malformed."""


@dataclass(frozen=True)
class Choice:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class WrongAnswer:
    """A numeric answer students often give, with feedback on the mistake behind it."""

    value: float
    feedback: str


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    prompt: str
    objectives: tuple[str, ...]
    explanation: str
    points: int = 1
    choices: tuple[Choice, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    wrong_answers: tuple[WrongAnswer, ...] = ()

    def letter(self, index: int) -> str:
        return LETTERS[index]


@dataclass(frozen=True)
class Feedback:
    correct: bool
    message: str
    # False when the answer could not be read at all (wrong form); the widget shows it as a hint.
    well_formed: bool = True


@dataclass(frozen=True)
class QuizBank:
    name: str
    title: str
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise QuizError(f"quiz {self.name!r} has no question {question_id!r}")


def quizzes_dir() -> Path:
    return paths.course_dir() / "quizzes"


def bank_names() -> list[str]:
    return sorted(path.stem for path in quizzes_dir().glob("*.toml"))


def load_bank(name_or_path: str | Path) -> QuizBank:
    """Load a bank by name ("02-ha-concepts") or by path, validating every question."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = quizzes_dir() / f"{name_or_path}.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QuizError(f"{path}: no such quiz file (banks: {', '.join(bank_names()) or 'none'})") from None
    except tomllib.TOMLDecodeError as exc:
        raise QuizError(f"{path}: not valid TOML: {exc}") from None
    raw = data.get("questions")
    if not isinstance(raw, list) or not raw:
        raise QuizError(f"{path}: needs at least one [[questions]] table")
    questions = tuple(_question(path, index, item) for index, item in enumerate(raw))
    ids = [q.id for q in questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise QuizError(f"{path}: duplicate question ids: {', '.join(duplicates)}")
    return QuizBank(path.stem, str(data.get("title", path.stem)), questions)


def _question(path: Path, index: int, item: Any) -> Question:
    def fail(problem: str) -> QuizError:
        label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
        return QuizError(f"{path}: question {label}: {problem}")

    if not isinstance(item, dict):
        raise fail("must be a table")
    for key in ("id", "kind", "prompt", "explanation"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise fail(f"needs a non-empty string {key!r}")
    if item["kind"] not in KINDS:
        raise fail(f"kind must be one of {', '.join(KINDS)}")
    objectives = item.get("objectives", [])
    if not isinstance(objectives, list) or not all(isinstance(o, str) for o in objectives):
        raise fail("objectives must be a list of strings")
    common = {
        "id": item["id"],
        "kind": item["kind"],
        "prompt": item["prompt"].strip(),
        "objectives": tuple(objectives),
        "explanation": item["explanation"].strip(),
        "points": int(item.get("points", 1)),
    }
    if item["kind"] == "numeric":
        if not isinstance(item.get("answer"), int | float) or not isinstance(item.get("tolerance"), int | float):
            raise fail("a numeric question needs a number 'answer' and a number 'tolerance'")
        wrong = tuple(WrongAnswer(float(w["value"]), str(w["feedback"])) for w in item.get("wrong_answers", []))
        return Question(
            **common,
            answer=float(item["answer"]),
            tolerance=float(item["tolerance"]),
            unit=str(item.get("unit", "")),
            wrong_answers=wrong,
        )
    choices = item.get("choices", [])
    if not isinstance(choices, list) or len(choices) < 2 or len(choices) > len(LETTERS):
        raise fail("a choice question needs at least two [[questions.choices]]")
    parsed = tuple(Choice(str(c["text"]), bool(c.get("correct", False)), str(c.get("feedback", ""))) for c in choices)
    right = sum(c.correct for c in parsed)
    if item["kind"] == "choice" and right != 1:
        raise fail(f"kind 'choice' needs exactly one correct choice, has {right}")
    if item["kind"] == "multi" and right < 1:
        raise fail("kind 'multi' needs at least one correct choice")
    return Question(**common, choices=parsed)


def grade(question: Question, answer: Any) -> Feedback:
    """Grade one answer. Choices are letters ("b", or "a, c" / ["a", "c"] for multi); numbers as numbers
    or text ("99.99", "99.99 %"). Never raises for any answer."""
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        return Feedback(False, "No answer yet.", well_formed=False)
    if question.kind == "numeric":
        return _grade_numeric(question, answer)
    try:
        picked = _letters(question, answer)
    except InputError as exc:
        return Feedback(False, str(exc), well_formed=False)
    if question.kind == "choice":
        if len(picked) != 1:
            return Feedback(False, "Pick exactly one answer.", well_formed=False)
        choice = question.choices[picked[0]]
        explanation = question.explanation if choice.correct else ""
        return Feedback(choice.correct, _join(_verdict(choice.correct), choice.feedback, explanation))
    right = {i for i, c in enumerate(question.choices) if c.correct}
    wrong_picks = [i for i in picked if i not in right]
    missed = sorted(right - set(picked))
    notes = [f"({question.letter(i)}) is not right: {question.choices[i].feedback}" for i in wrong_picks]
    notes += [f"You missed ({question.letter(i)}): {question.choices[i].feedback}" for i in missed]
    correct = not wrong_picks and not missed
    summary = "" if correct else f"{len(wrong_picks)} wrong pick(s), {len(missed)} missed."
    explanation = question.explanation if correct else ""
    return Feedback(correct, _join(_verdict(correct), summary, *notes, explanation))


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
            raise InputError(f"{str(part)!r} is not one of the choices ({offered}).")
        picked.add(LETTERS.index(letter))
    if not picked:
        raise InputError(f"Pick one of the choices ({offered}).")
    return sorted(picked)


def _grade_numeric(question: Question, answer: Any) -> Feedback:
    value = parse_number(answer, question.unit)
    if value is None:
        unit = f" (in {question.unit})" if question.unit else ""
        return Feedback(False, f"{str(answer)!r} is not a number; type a number{unit}, e.g. 42.5.", well_formed=False)
    assert question.answer is not None  # guaranteed by load_bank for numeric questions
    if abs(value - question.answer) <= question.tolerance:
        return Feedback(True, _join("Correct.", question.explanation))
    for wrong in question.wrong_answers:
        if abs(value - wrong.value) <= question.tolerance:
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
    """For nbgrader test cells: show the feedback and return whether the answer is right."""
    question = load_bank(bank).question(question_id)
    feedback = grade(question, answer)
    _show(feedback)
    return feedback.correct


def readable(bank: str, question_id: str, answer: Any) -> bool:
    """For visible nbgrader tests whose grading is hidden: is the answer in a form that can be graded?

    Shows what form is expected when it is not, and says nothing about right or wrong."""
    feedback = grade(load_bank(bank).question(question_id), answer)
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
