"""The interactive quiz: one card per question from a bank, a Check button, feedback, a running score."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from halab.course.quiz import Question, QuizBank, grade, load_bank
from halab.course.widgets.common import CourseWidget, feedback_html, guarded, message_html


class QuestionCard:
    def __init__(self, number: int, question: Question, on_graded: Any) -> None:
        self.question = question
        self.correct = False
        prompt = w.HTML(f"<p><b>{number}.</b> {html.escape(question.prompt)}</p>{_choices_html(question)}")
        self.input = self._input(question)
        self.button = w.Button(description="Check", layout=w.Layout(width="90px"))
        self.feedback = w.HTML()
        self.button.on_click(lambda button: self.check())
        self._on_graded = on_graded
        self.widget = w.VBox(
            [prompt, self.input, w.HBox([self.button]), self.feedback],
            layout=w.Layout(border="1px solid #d0d5dd", padding="4px 10px", margin="6px 0"),
        )

    @staticmethod
    def _input(question: Question) -> w.Widget:
        # The choice texts are in the prompt's HTML, where long ones wrap; the inputs carry only letters.
        # (Long labels on radio buttons and checkboxes overlap or get cut off.)
        letters = [question.letter(i) for i in range(len(question.choices))]
        if question.kind == "choice":
            # value=None: nothing is pre-selected, so an unconsidered answer is not graded as given.
            return w.RadioButtons(options=letters, value=None, orientation="horizontal")
        if question.kind == "multi":
            return w.HBox(
                [w.Checkbox(value=False, description=f"({x})", indent=False, layout=w.Layout(width="70px"))
                 for x in letters]
            )  # fmt: skip
        unit = f" ({question.unit})" if question.unit else ""
        return w.Text(placeholder=f"a number{unit}", layout=w.Layout(width="240px"))

    def answer(self) -> Any:
        """The answer in the form quiz.grade takes: letters for choices, text for numbers."""
        q = self.question
        if q.kind == "choice":
            return self.input.value
        if q.kind == "multi":
            return [q.letter(i) for i, box in enumerate(self.input.children) if box.value] or None
        return self.input.value

    def set_answer(self, answer: Any) -> None:
        """Fill the input as a student would (used by tests and by a 'show me' demo)."""
        q = self.question
        if q.kind == "choice":
            self.input.value = answer
        elif q.kind == "multi":
            for i, box in enumerate(self.input.children):
                box.value = q.letter(i) in answer
        else:
            self.input.value = str(answer)

    def check(self) -> None:
        @guarded(self.feedback)
        def update() -> None:
            result = grade(self.question, self.answer())
            self.correct = result.correct
            self.feedback.value = feedback_html(result.correct, result.message, result.well_formed)
            self._on_graded()

        update()


def _choices_html(question: Question) -> str:
    if not question.choices:
        return ""
    items = "".join(
        f"<li style='margin:2px 0'><b>({question.letter(i)})</b> {html.escape(c.text)}</li>"
        for i, c in enumerate(question.choices)
    )
    return f"<ul style='list-style:none;padding-left:8px;margin:4px 0'>{items}</ul>"


class QuizWidget(CourseWidget):
    def __init__(self, bank: QuizBank) -> None:
        self.bank = bank
        self.score = w.HTML()
        self.cards = [QuestionCard(i + 1, q, self._update_score) for i, q in enumerate(bank.questions)]
        self._update_score()
        self.widget = w.VBox(
            [w.HTML(f"<h4>Quiz: {html.escape(bank.title)}</h4>"), *[c.widget for c in self.cards], self.score]
        )

    def _update_score(self) -> None:
        right = sum(card.correct for card in self.cards)
        self.score.value = f"<b>Score: {right} / {len(self.cards)}</b>"


def show_quiz(bank: str) -> CourseWidget:
    """The quiz widget for a bank name; a broken or missing bank shows its error instead of a traceback."""
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
