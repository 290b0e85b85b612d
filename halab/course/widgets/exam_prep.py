"""Notebook 7's exam-preparation widgets beside the mock exam: what the course covers of exam 306, and the
spaced review of what is due (halab.course.review), which runs the mock exam's machinery on the due questions
and records the answers as review answers, not as a mock exam."""

from __future__ import annotations

import datetime as dt
import html
import random
import time
from collections import Counter

import ipywidgets as w

from halab.course import progress, review
from halab.course.exam import Clock, ExamResult, MockExam
from halab.course.objectives import Vocabulary, load_vocabulary
from halab.course.quiz import practice_questions
from halab.course.quizbank import shuffled
from halab.course.widgets.common import CourseWidget, guarded, message_html, table_html
from halab.course.widgets.exam import ExamWidget, result_html

REVIEW_QUESTIONS = 20
MINUTES_PER_QUESTION = 2


def coverage_html(vocabulary: Vocabulary) -> str:
    """Every objective of the exam with its weight, whether the course teaches it, and how many practice
    questions the mock exam can draw on; then the course's own topics."""
    coverage = vocabulary.coverage()
    pool = Counter(q.objective for q in practice_questions())
    taught = {o.id for o in coverage.taught}
    rows = [(o.id, o.title, str(o.weight), "yes" if o.id in taught else "no", str(pool.get(o.id, 0)) if o.id in taught
             else "-") for o in vocabulary.exam_objectives]
    rows += [(o.id, o.title, "-", "course topic, not in exam 306", str(pool.get(o.id, 0)))
             for o in vocabulary.objectives if o.course_only]
    return (f"<p><b>{html.escape(coverage.exam)}</b>: the course teaches {coverage.weight} of the exam's "
            f"{coverage.total} weight points (<b>{100 * coverage.share:.0f} %</b>). The mock exam draws only on the "
            "taught objectives, in proportion to their weights; course-only topics come in only when you ask.</p>"
            + table_html(["Objective", "Title", "Weight", "Taught here", "Practice questions"], rows))


class CoverageView(CourseWidget):
    def __init__(self) -> None:
        self.out = w.HTML()
        self.widget = w.VBox([self.out])

        @guarded(self.out)
        def build() -> None:
            self.out.value = coverage_html(load_vocabulary())

        build()


def due_html(data: dict[str, object], now: dt.datetime | None = None) -> str:
    """What is due for review now, and when the next card is."""
    due = review.due(data, now)
    upcoming = review.next_due(data, now)
    later = f" The next card is due at {upcoming:%Y-%m-%d %H:%M} UTC." if upcoming else ""
    if not review.cards(data):
        return ("<p>Nothing is scheduled yet: the questions and terms you miss (and lab tasks that fail) come back "
                "here.</p>")
    if not due:
        return f"<p>Nothing is due for review now.{later}</p>"
    rows = [(c.kind, c.name, c.due.strftime("%Y-%m-%d %H:%M"), str(c.reviews)) for c in due[:15]]
    more = f"<p>... and {len(due) - 15} more.</p>" if len(due) > 15 else ""
    return (f"<p><b>{len(due)} due for review.</b>{later}</p>"
            + table_html(["Kind", "Question or term", "Due since (UTC)", "Reviews"], rows) + more)


class ReviewWidget(ExamWidget):
    """The questions due for spaced review, one at a time, as in the mock exam; no pass mark."""

    title = "Spaced review"
    start_label = "Start the review"

    def __init__(self, clock: Clock = time.monotonic, live_timer: bool = True, now: dt.datetime | None = None) -> None:
        super().__init__(clock, live_timer)
        self.now = now  # None: the real time (tests pass a fixed one)
        self.count.value = REVIEW_QUESTIONS
        self.minutes.value = REVIEW_QUESTIONS * MINUTES_PER_QUESTION
        self.course_only.layout.display = "none"  # a review draws from every topic the student practised
        self.coverage.layout.display = "none"
        self.due_info = w.HTML()
        self.setup.children = (self.due_info, *self.setup.children)
        self.refresh()

    def refresh(self) -> None:
        @guarded(self.due_info)
        def update() -> None:
            data, notices = progress.load()
            self.due_info.value = "".join(message_html(n, "warn") for n in notices) + due_html(data, self.now)

        update()

    def _draw(self, seed: int | None) -> MockExam | None:
        data, _ = progress.load()
        questions = review.draw(data, practice_questions(), limit=int(self.count.value), now=self.now, seed=seed or 0)
        if not questions:
            self.message.value = message_html("Nothing is due for review now.", "info")
            return None
        rng = random.Random(seed or 0)
        return MockExam([shuffled(q, rng) for q in questions], float(self.minutes.value), load_vocabulary(),
                        seed or 0, self.clock)

    def _result_html(self, result: ExamResult) -> str:
        head = (f"<h4 style='margin:4px 0'>Review: {result.correct} of {result.total} right</h4><p>Right answers push "
                "a card's next review further away; wrong ones bring it back soon.</p>")
        body = result_html(result)
        return head + body[body.index("<b>By objective</b>"):]

    def _record(self, exam: MockExam, result: ExamResult) -> list[str]:
        notices = progress.record_answers(exam.answers_for_progress(), "review")
        self.refresh()
        return notices


def review_session() -> ReviewWidget:
    """Notebook 7's spaced review: what is due, and a session to answer it."""
    return ReviewWidget()


def exam_coverage() -> CoverageView:
    """Which exam-306 objectives the course teaches, with their weights and question counts."""
    return CoverageView()
