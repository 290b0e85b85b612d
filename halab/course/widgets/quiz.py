"""The practice quiz: one card per question of a notebook's practice bank, a Check button, feedback with the
explanation and the section to read again, a running score, and a filter by objective term.

Only practice banks are shown here (graded questions live in course/quizzes/graded/ and never reach this
widget). Choices are shown in a shuffled order that is stable per question, because authors tend to write the
right answer first. Every checked answer is recorded in the user's progress file (halab.course.progress); if
that fails the card says so and practice goes on.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from halab.course import progress
from halab.course.quiz import Question, QuizBank, grade, load_bank
from halab.course.quizbank import shuffled
from halab.course.widgets.common import CourseWidget, feedback_html, guarded, message_html

PAGE_SIZE = 10
ALL_TERMS = "all terms"


def choices_html(question: Question) -> str:
    if not question.choices:
        return ""
    items = "".join(
        f"<li style='margin:2px 0'><b>({question.letter(i)})</b> {html.escape(c.text)}</li>"
        for i, c in enumerate(question.choices)
    )
    return f"<ul style='list-style:none;padding-left:8px;margin:4px 0'>{items}</ul>"


def answer_input(question: Question) -> w.Widget:
    """The input for a question: radio buttons, checkboxes or a text box. The choice texts are in the prompt's
    HTML, where long ones wrap; the inputs carry only letters (long labels on radio buttons get cut off)."""
    letters = [question.letter(i) for i in range(len(question.choices))]
    if question.kind in ("single", "choice"):
        # value=None: nothing is pre-selected, so an unconsidered answer is not graded as given.
        return w.RadioButtons(options=letters, value=None, orientation="horizontal")
    if question.kind in ("choose", "multi"):
        return w.HBox(
            [w.Checkbox(value=False, description=f"({x})", indent=False, layout=w.Layout(width="70px"))
             for x in letters]
        )  # fmt: skip
    if question.kind == "fill":
        return w.Text(placeholder=question.blank or "your answer", layout=w.Layout(width="420px"))
    unit = f" ({question.unit})" if question.unit else ""
    return w.Text(placeholder=f"a number{unit}", layout=w.Layout(width="240px"))


def read_input(question: Question, widget: w.Widget) -> Any:
    """The answer in the form quiz.grade takes: letters for choices, text otherwise."""
    if question.kind in ("choose", "multi"):
        return [question.letter(i) for i, box in enumerate(widget.children) if box.value] or None
    return widget.value


def fill_input(question: Question, widget: w.Widget, answer: Any) -> None:
    """Fill the input as a student would (used by tests and by a 'show me' demo)."""
    if question.kind in ("choose", "multi"):
        for i, box in enumerate(widget.children):
            box.value = question.letter(i) in (answer or ())
    elif question.kind in ("single", "choice"):
        widget.value = answer[0] if isinstance(answer, list | tuple) and answer else answer or None
    else:
        widget.value = "" if answer is None else str(answer)


class QuestionCard:
    def __init__(self, number: int, question: Question, on_graded: Callable[[], None]) -> None:
        self.question = question
        self.correct = False
        prompt = w.HTML(f"<p><b>{number}.</b> {html.escape(question.text)}</p>{choices_html(question)}")
        self.input = answer_input(question)
        self.button = w.Button(description="Check", layout=w.Layout(width="90px"))
        self.reveal = w.Button(description="Show answer", layout=w.Layout(width="120px"))
        self.feedback = w.HTML()
        self.button.on_click(lambda button: self.check())
        self.reveal.on_click(lambda button: self.show_answer())
        self._on_graded = on_graded
        self.widget = w.VBox(
            [prompt, self.input, w.HBox([self.button, self.reveal]), self.feedback],
            layout=w.Layout(border="1px solid #d0d5dd", padding="4px 10px", margin="6px 0"),
        )

    def answer(self) -> Any:
        return read_input(self.question, self.input)

    def set_answer(self, answer: Any) -> None:
        fill_input(self.question, self.input, answer)

    def check(self) -> None:
        @guarded(self.feedback)
        def update() -> None:
            result = grade(self.question, self.answer())
            self.correct = result.correct
            study = "" if result.correct or not result.well_formed else f" Read again: {self.question.section}."
            self.feedback.value = feedback_html(result.correct, result.message + study, result.well_formed)
            if result.well_formed:
                self.feedback.value += self._record()
            self._on_graded()

        update()

    def show_answer(self) -> None:
        q = self.question
        self.feedback.value = message_html(f"Answer: {q.key_text}. {q.explanation} (Taught in {q.section}.)", "info")

    def _record(self) -> str:
        try:
            notices = progress.record_answers(
                [{"id": self.question.id, "correct": self.correct, "terms": self.question.terms}], "practice")
        except progress.ProgressError as exc:
            return message_html(f"Your answer could not be saved to your progress: {exc}", "warn")
        return "".join(message_html(n, "warn") for n in notices)


class QuizWidget(CourseWidget):
    def __init__(self, bank: QuizBank, page_size: int = PAGE_SIZE) -> None:
        self.bank = bank
        self.page_size = page_size
        rng = random.Random(bank.name)  # the same shuffled order every time the notebook runs
        self.cards = [QuestionCard(i + 1, shuffled(q, rng), self._update_score) for i, q in enumerate(bank.questions)]
        terms = sorted({t for q in bank.questions for t in q.terms})
        self.term = w.Dropdown(options=[ALL_TERMS, *terms], value=ALL_TERMS, description="Show",
                               layout=w.Layout(width="420px"))
        self.previous = w.Button(description="Previous", icon="arrow-left", layout=w.Layout(width="110px"))
        self.next = w.Button(description="Next", icon="arrow-right", layout=w.Layout(width="110px"))
        self.position = w.HTML()
        self.score = w.HTML()
        self.page = 0
        self.shown = w.VBox()
        self.term.observe(lambda change: self._select(0), names="value")
        self.previous.on_click(lambda button: self._select(self.page - 1))
        self.next.on_click(lambda button: self._select(self.page + 1))
        self._update_score()
        self._select(0)
        self.widget = w.VBox([
            w.HTML(f"<h4>Quiz: {html.escape(bank.title)}</h4>"), self.term, self.shown,
            w.HBox([self.previous, self.position, self.next]), self.score,
        ])  # fmt: skip

    @property
    def filtered(self) -> list[QuestionCard]:
        if self.term.value == ALL_TERMS:
            return self.cards
        return [c for c in self.cards if self.term.value in c.question.terms]

    def _select(self, page: int) -> None:
        cards = self.filtered
        pages = max(1, -(-len(cards) // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        start = self.page * self.page_size
        visible = cards[start : start + self.page_size]
        self.shown.children = [c.widget for c in visible]
        self.position.value = (f"<span style='padding:0 10px'>questions {start + 1}-{start + len(visible)} of "
                               f"{len(cards)}</span>")
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1

    def _update_score(self) -> None:
        right = sum(card.correct for card in self.cards)
        self.score.value = f"<b>Score: {right} / {len(self.cards)}</b>"


def show_quiz(bank: str) -> CourseWidget:
    """The quiz widget for a practice bank; a broken or missing bank shows its error instead of a traceback."""
    holder = w.HTML()

    @guarded(holder)
    def build() -> QuizWidget:
        return QuizWidget(load_bank(bank))

    quiz = build()
    if quiz is not None:
        return quiz
    fallback = CourseWidget()
    fallback.widget = w.VBox([holder])
    if not holder.value:
        holder.value = message_html(f"The quiz {bank!r} could not be loaded.", "bad")
    return fallback
