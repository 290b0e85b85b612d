"""The progress view: mastery per objective term from the user's progress file, the last mock exams, and what
to study next. Press Refresh after practising in another notebook or with `halab exam`."""

from __future__ import annotations

import html

import ipywidgets as w

from halab.course import progress
from halab.course.mastery import Overview, TermMastery, overview
from halab.course.objectives import Vocabulary, load_vocabulary
from halab.course.quiz import practice_questions
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html, table_html
from halab.course.widgets.exam_prep import due_html

LEVEL_KINDS = {"mastered": "ok", "learning": "info", "weak": "bad", "not started": "warn"}


def term_row(term: TermMastery) -> tuple[str, str, str, str, str]:
    right = f"{term.right} of {term.seen}" if term.seen else "-"
    lab = "✔ passed" if term.lab_passed else ("lab" if any(d.lab for d in term.demonstrations) else "")
    return (html.escape(term.term), badge(term.level, LEVEL_KINDS[term.level]),
            f"{term.seen} / {term.questions}", right, lab)


def overview_html(view: Overview, vocabulary: Vocabulary) -> str:
    parts = [f"<p>{view.answers} answers recorded, {len(view.exams)} mock exams. File: "
             f"<code>{html.escape(str(progress.progress_path()))}</code></p>"]
    suggestions = view.suggestions(vocabulary)
    if suggestions:
        items = []
        for term in suggestions:
            where = f"read {html.escape(str(term.study))}" if term.study else ""
            labs = [d.where for d in term.demonstrations if d.lab]
            lab = f"; see it live in {html.escape(labs[0])}" if labs else ""
            items.append(f"<li><b>{html.escape(term.term)}</b> ({term.level}): {where}{lab}</li>")
        parts.append(f"<b>Study next</b><ul>{''.join(items)}</ul>")
    else:
        parts.append(message_html("Every term with questions is mastered. Take a mock exam to confirm it.", "ok"))
    if view.exams:
        rows = [(str(e.get("at", "?"))[:16].replace("T", " "), f"{e.get('correct')} / {e.get('questions')}",
                 f"{e.get('percent', 0):g} %", str(e.get("scaled", "")), "passed" if e.get("passed") else "not passed")
                for e in view.exams[-5:]]
        parts.append("<b>Last mock exams</b>" + table_html(["When (UTC)", "Right", "Share", "Scaled", ""], rows))
    for objective in vocabulary.objectives:
        terms = view.by_objective(objective.id)
        mastered = sum(t.level == "mastered" for t in terms)
        parts.append(f"<b>{html.escape(objective.label)}</b> (weight {objective.weight}): {mastered} of {len(terms)} "
                     "terms mastered")
        parts.append(table_html(["Term", "Level", "Answered", "Right (latest)", "Lab"],
                                [term_row(t) for t in terms], raw_columns=[0, 1]))
    return "".join(parts)


class ProgressView(CourseWidget):
    def __init__(self) -> None:
        self.out = w.HTML()
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda button: self.refresh())
        self.widget = w.VBox([w.HTML("<h4 style='margin:4px 0'>Your progress</h4>"), self.refresh_button, self.out])
        self.refresh()

    def refresh(self) -> None:
        @guarded(self.out)
        def update() -> None:
            vocabulary = load_vocabulary()
            try:
                data, notices = progress.load()
            except progress.ProgressError as exc:
                self.out.value = message_html(str(exc), "bad")
                return
            view = overview(data, practice_questions(), vocabulary)
            self.out.value = ("".join(message_html(n, "warn") for n in notices) + "<b>Spaced review</b>"
                              + due_html(data) + overview_html(view, vocabulary))

        update()


def progress_view() -> ProgressView:
    return ProgressView()
