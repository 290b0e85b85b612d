"""The mock exam in a notebook: set it up, answer one question at a time, move around, mark questions for
review, submit (or run out of time), then read the score, the pass mark, the breakdown by objective and
every wrong answer with its explanation. The engine is halab.course.exam; this is only its front end.

The countdown runs in a helper thread that ticks once a second while an exam is open, and submits the exam
when the time is up. Tests pass a fake clock and call tick() themselves (live_timer=False).
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

import ipywidgets as w

from halab.course import progress
from halab.course.exam import EXAM_MINUTES, EXAM_QUESTIONS, PASS_PERCENT, Clock, ExamResult, MockExam
from halab.course.objectives import load_vocabulary
from halab.course.quiz import practice_questions
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html, table_html
from halab.course.widgets.quiz import answer_input, choices_html, fill_input, read_input


def clock_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def result_html(result: ExamResult) -> str:
    verdict = badge("PASSED", "ok") if result.passed else badge("NOT PASSED", "bad")
    timing = " (time ran out; submitted as it stood)" if result.timed_out else ""
    head = (
        f"<h4 style='margin:4px 0'>Result: {result.correct} of {result.total} right ({result.percent:.0f} %), "
        f"scaled score {result.scaled} {verdict}</h4>"
        f"<p>Pass mark: {PASS_PERCENT:.0f} % of the questions, shown as 500 on LPI's 200-800 scale. Time used: "
        f"{clock_text(result.seconds_used)}{timing}. Seed {result.seed} (use it to take the same exam again).</p>"
    )
    rows = [(s.objective, s.title, f"{s.correct} / {s.total}", f"{s.percent:.0f} %") for s in result.by_objective]
    body = "<b>By objective</b>" + table_html(["Objective", "Title", "Right", "Share"], rows)
    if result.wrong:
        items = []
        for review in result.wrong:
            q = review.question
            given = "not answered" if review.answer is None else f"your answer: {_answer_text(review.answer)}"
            items.append(
                f"<li style='margin:6px 0'><b>{review.number}.</b> {html.escape(q.text)}{choices_html(q)}"
                f"<i>{html.escape(given)}</i>; right: <b>{html.escape(q.key_text)}</b><br>"
                f"{html.escape(q.explanation)}<br><small>Study: {html.escape(str(q.section))}</small></li>"
            )
        body += f"<b>Wrong or unanswered ({len(result.wrong)})</b><ol style='list-style:none;padding-left:0'>"
        body += "".join(items) + "</ol>"
    else:
        body += message_html("Every answer is right.", "ok")
    return head + body


def _answer_text(answer: Any) -> str:
    if isinstance(answer, list | tuple):
        return ", ".join(str(a) for a in answer)
    return str(answer)


class ExamWidget(CourseWidget):
    """The mock exam. Subclasses change what is drawn (_draw) and how the result is kept (_record): the spaced
    review (halab.course.widgets.review) runs the same questions-and-answers machinery on what is due."""

    title = "Mock exam"
    start_label = "Start the exam"

    def __init__(self, clock: Clock = time.monotonic, live_timer: bool = True) -> None:
        self.clock = clock
        self.live_timer = live_timer
        self._finishing = threading.Lock()  # the timer thread and a Submit click may finish at the same moment
        self.exam: MockExam | None = None
        self.count = w.BoundedIntText(value=EXAM_QUESTIONS, min=1, max=500, description="Questions")
        self.minutes = w.BoundedIntText(value=EXAM_MINUTES, min=1, max=600, description="Minutes")
        self.seed = w.Text(value="", placeholder="random", description="Seed")
        self.course_only = w.Checkbox(value=False, indent=False,
                                      description="Include course-only topics (virtualization, not in exam 306)")
        self.start_button = w.Button(description=self.start_label, icon="play", button_style="primary")
        self.message = w.HTML()
        self.header = w.HTML()
        self.body = w.HTML()
        self.input: w.Widget = w.HTML()
        self.input_box = w.Box()
        self.navigator = w.Dropdown(description="Go to", layout=w.Layout(width="220px"))
        self.previous = w.Button(description="Previous", icon="arrow-left")
        self.next = w.Button(description="Next", icon="arrow-right")
        self.mark = w.Button(description="Mark for review", icon="flag")
        self.clear = w.Button(description="Clear answer", icon="eraser")
        self.submit_button = w.Button(description="Submit", icon="check", button_style="warning")
        self.result = w.HTML()
        self.coverage = w.HTML()
        self.setup = w.VBox([self.coverage, w.HBox([self.count, self.minutes, self.seed]), self.course_only,
                             self.start_button])
        self._show_coverage()
        self.running = w.VBox([
            self.header, self.body, self.input_box,
            w.HBox([self.previous, self.next, self.navigator, self.mark, self.clear, self.submit_button]),
        ], layout=w.Layout(display="none"))  # fmt: skip
        self.start_button.on_click(lambda button: self.start())
        self.previous.on_click(lambda button: self.move(-1))
        self.next.on_click(lambda button: self.move(1))
        self.mark.on_click(lambda button: self.toggle_mark())
        self.clear.on_click(lambda button: self.clear_answer())
        self.submit_button.on_click(lambda button: self.submit())
        self.navigator.observe(self._navigate, names="value")
        self.widget = w.VBox([w.HTML(f"<h4 style='margin:4px 0'>{self.title}</h4>"), self.setup, self.message,
                              self.running, self.result])

    # ---- actions ----
    def start(self) -> None:
        @guarded(self.message)
        def begin() -> None:
            seed_text = self.seed.value.strip()
            if seed_text and not seed_text.isdigit():
                self.message.value = message_html("The seed must be a whole number (or empty for a random one).",
                                                  "bad")
                return
            exam = self._draw(int(seed_text) if seed_text else None)
            if exam is None:
                return
            self.exam = exam
            self.message.value = ""
            self.result.value = ""
            self.setup.layout.display = "none"
            self.running.layout.display = ""
            self.show()
            if self.live_timer:
                threading.Thread(target=self._run_timer, args=(self.exam,), daemon=True).start()

        begin()

    def _show_coverage(self) -> None:
        @guarded(self.coverage)
        def show() -> None:
            coverage = load_vocabulary().coverage()
            taught = ", ".join(o.id for o in coverage.taught)
            self.coverage.value = (f"<p>Draws on the exam-306 objectives this course teaches ({taught}: "
                                   f"{coverage.weight} of {coverage.total} weight points, "
                                   f"{100 * coverage.share:.0f} %), by weight.</p>")

        show()

    def _draw(self, seed: int | None) -> MockExam | None:
        return MockExam.draw(practice_questions(), load_vocabulary(), count=int(self.count.value),
                             minutes=float(self.minutes.value), seed=seed, clock=self.clock,
                             include_course_only=bool(self.course_only.value))

    def _result_html(self, result: ExamResult) -> str:
        return result_html(result)

    def _record(self, exam: MockExam, result: ExamResult) -> list[str]:
        return progress.record_exam(result.summary(), exam.answers_for_progress())

    def move(self, delta: int) -> None:
        if self._commit():
            assert self.exam is not None
            self._report(self.exam.step(delta))

    def go(self, number: int) -> None:
        if self._commit():
            assert self.exam is not None
            self._report(self.exam.go(number))

    def toggle_mark(self) -> None:
        if self.exam is not None:
            self.exam.toggle_mark()
            self._report("")

    def clear_answer(self) -> None:
        if self.exam is not None:
            self.exam.clear()
            self._report("")

    def set_answer(self, answer: Any) -> None:
        """Fill the current question's input as a candidate would (tests, demos)."""
        if self.exam is not None:
            fill_input(self.exam.slot.question, self.input, answer)

    def submit(self) -> None:
        if self.exam is None or not self._commit():
            return
        self._finish(self.exam.submit())

    def tick(self) -> None:
        """Update the countdown; submit when the time is up. Called once a second by the timer thread."""
        exam = self.exam
        if exam is None or exam.finished and self.result.value:
            return
        if exam.check_time():
            self._finish(exam.submit(timed_out=True))
        else:
            self._header()

    # ---- display ----
    def show(self) -> None:
        exam = self.exam
        assert exam is not None
        q = exam.slot.question
        self.body.value = f"<p style='font-size:1.05em'>{html.escape(q.text)}</p>{choices_html(q)}"
        self.input = answer_input(q)
        fill_input(q, self.input, exam.slot.answer)
        self.input_box.children = [self.input]
        self._header()

    def _header(self) -> None:
        exam = self.exam
        if exam is None:
            return
        slot = exam.slot
        flag = " " + badge("marked", "warn") if slot.marked else ""
        answered = len(exam.slots) - len(exam.unanswered())
        self.header.value = (
            f"<b>Question {exam.current + 1} of {len(exam.slots)}</b> &middot; objective "
            f"{html.escape(slot.question.objective)} &middot; answered {answered} &middot; time left "
            f"<b>{clock_text(exam.remaining())}</b>{flag}"
        )
        options = [(f"{i + 1}{' ✓' if s.answered else ''}{' ⚑' if s.marked else ''}", i + 1)
                   for i, s in enumerate(exam.slots)]
        if list(self.navigator.options) != options:
            self.navigator.unobserve(self._navigate, names="value")
            self.navigator.options = options
            self.navigator.observe(self._navigate, names="value")
        if self.navigator.value != exam.current + 1:
            self.navigator.unobserve(self._navigate, names="value")
            self.navigator.value = exam.current + 1
            self.navigator.observe(self._navigate, names="value")

    def _navigate(self, change: Any) -> None:
        if self.exam is not None and change["new"] and change["new"] != self.exam.current + 1:
            self.go(int(change["new"]))

    def _commit(self) -> bool:
        """Store what is in the input for the current question; False (with a message) if it is malformed."""
        exam = self.exam
        if exam is None:
            return False
        if exam.check_time():
            self._finish(exam.submit(timed_out=True))
            return False
        value = read_input(exam.slot.question, self.input)
        if value is None or (isinstance(value, str) and not value.strip()):
            exam.clear()
            return True
        problem = exam.answer(value)
        self.message.value = message_html(problem, "bad", "Check the answer:") if problem else ""
        return not problem

    def _report(self, problem: str) -> None:
        exam = self.exam
        if exam is not None and exam.finished:
            self._finish(exam.submit())
            return
        self.message.value = message_html(problem, "bad") if problem else ""
        self.show()

    def _finish(self, result: ExamResult) -> None:
        with self._finishing:
            if self.result.value:
                return
            self.result.value = self._result_html(result)
        exam = self.exam
        assert exam is not None
        self.running.layout.display = "none"
        self.setup.layout.display = ""
        self.start_button.description = f"{self.start_label} again"
        try:
            notices = self._record(exam, result)
        except progress.ProgressError as exc:
            notices = [f"This could not be saved to your progress: {exc}"]
        self.message.value = "".join(message_html(n, "warn") for n in notices)

    def _run_timer(self, exam: MockExam) -> None:
        while self.exam is exam and not exam.finished:
            time.sleep(1)
            self.tick()


def mock_exam() -> ExamWidget:
    """The notebook's mock exam (60 questions in 90 minutes by default; the fields change that)."""
    return ExamWidget()
