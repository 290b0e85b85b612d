"""The question types of the banks (course/quizzes/), as loaded by halab.course.quizbank.

Practice kinds are those of LPIC-3 exams: `single` (4-5 options, one right), `choose` (the prompt says how many
to pick, and only exactly that set is right), `fill` (a command, file, option or value, compared by meaning:
halab.course.fillin) and `numeric`. Graded banks may also use `choice` (2-5 options) and `multi` (tick all
that apply), kept for notebooks whose graded cells still spell out such questions.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

PRACTICE_KINDS = ("single", "choose", "fill", "numeric")
GRADED_KINDS = (*PRACTICE_KINDS, "choice", "multi")
LETTERS = string.ascii_lowercase
NUMBER_WORDS = {2: "two", 3: "three", 4: "four"}
MAX_ANSWER_CHARS = 300


@dataclass(frozen=True)
class Choice:
    text: str
    correct: bool
    feedback: str


@dataclass(frozen=True)
class WrongAnswer:
    """An answer students often give, with feedback on the mistake behind it (a number, or text for fill)."""

    value: float | str
    feedback: str


@dataclass(frozen=True)
class Section:
    """The notebook section that teaches a question: the notebook's folder name and a heading in it."""

    notebook: str
    heading: str

    def __str__(self) -> str:
        return f"notebook {self.notebook}, section \u201c{self.heading}\u201d"


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    prompt: str
    terms: tuple[str, ...]
    explanation: str
    section: Section
    bank: str = ""
    objective: str = ""
    graded: bool = False
    points: int = 1
    choices: tuple[Choice, ...] = ()
    pick: int = 0
    answers: tuple[str, ...] = ()
    case_sensitive: bool = True
    blank: str = ""
    # fill: the command line an answer completes (`corosync-cmapctl ___ key`), or the command whose option is
    # asked; empty when the answer is a whole command, a path or a term.
    template: str = ""
    answer: float | None = None
    tolerance: float = 0.0
    unit: str = ""
    wrong_answers: tuple[WrongAnswer, ...] = ()

    def letter(self, index: int) -> str:
        return LETTERS[index]

    @property
    def objectives(self) -> tuple[str, ...]:
        """The terms (the name the first banks used for them)."""
        return self.terms

    @property
    def text(self) -> str:
        """The prompt as shown: "choose" questions say how many answers to pick, as LPI exams do."""
        if self.kind == "choose":
            return f"{self.prompt} (Choose {NUMBER_WORDS.get(self.pick, str(self.pick))}.)"
        return self.prompt

    @property
    def right_letters(self) -> tuple[str, ...]:
        return tuple(self.letter(i) for i, c in enumerate(self.choices) if c.correct)

    @property
    def key(self) -> Any:
        """The right answer in the form grading takes: letters, the first accepted text, or the number."""
        if self.kind == "fill":
            return self.answers[0]
        if self.kind == "numeric":
            return self.answer
        return list(self.right_letters)

    @property
    def key_text(self) -> str:
        """The right answer for people: the letters and texts of the right choices, or the value (a fill-in's
        other accepted spellings too, where tools differ)."""
        if self.kind == "fill":
            others = f" (also accepted: {'; '.join(self.answers[1:])})" if len(self.answers) > 1 else ""
            return self.answers[0] + others
        if self.kind == "numeric":
            return f"{self.answer:g} {self.unit}".strip()
        return "; ".join(f"({self.letter(i)}) {c.text}" for i, c in enumerate(self.choices) if c.correct)


@dataclass(frozen=True)
class QuizBank:
    name: str
    title: str
    questions: tuple[Question, ...]
    graded: bool = False

    def question(self, question_id: str) -> Question:
        from halab.course.objectives import QuizError

        for question in self.questions:
            if question.id == question_id:
                return question
        kind = "graded bank" if self.graded else "quiz"
        raise QuizError(f"{kind} {self.name!r} has no question {question_id!r}")
