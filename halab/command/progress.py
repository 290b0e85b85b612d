"""`halab progress [--json]`: mastery per objective term from your progress file (practice quizzes, mock exams,
lab checks), your last mock exams, what is due for spaced review (halab.course.review), and what to study next."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from halab.course import progress as store
from halab.course import review
from halab.course.mastery import Overview, overview
from halab.course.objectives import Vocabulary, load_vocabulary
from halab.course.quiz import practice_questions

out = Console(highlight=False)
LEVEL_STYLE = {"mastered": "green", "learning": "cyan", "weak": "red", "not started": "yellow"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def progress(as_json: bool) -> None:
    """Show mastery per objective term and what to study next."""
    vocabulary = load_vocabulary()
    data, notices = store.load()
    view = overview(data, practice_questions(), vocabulary)
    if as_json:
        click.echo(json.dumps({**as_dict(view, vocabulary, notices), "review": review_dict(data)}, indent=1,
                              ensure_ascii=False))
        return
    for notice in notices:
        out.print(f"[yellow]{escape(notice)}[/yellow]")
    print_overview(view, vocabulary)
    print_review(data)


def review_dict(data: dict[str, object]) -> dict[str, object]:
    upcoming = review.next_due(data)
    return {"cards": len(review.cards(data)), "due": [c.as_dict() for c in review.due(data)],
            "next_due": upcoming.isoformat(timespec="seconds") if upcoming else None}


def print_review(data: dict[str, object]) -> None:
    """What spaced review has scheduled: the cards due now (questions and terms), and when the next one is."""
    due = review.due(data)
    upcoming = review.next_due(data)
    if not review.cards(data):
        out.print("[bold]Spaced review[/bold]: nothing scheduled yet; questions and terms you miss come back here.")
        return
    later = f" Next one due at {upcoming:%Y-%m-%d %H:%M} UTC." if upcoming else ""
    if not due:
        out.print(f"[bold]Spaced review[/bold]: nothing due now.{later}")
        return
    table = Table(title=f"Due for spaced review: {len(due)} (halab exam --review)", title_justify="left")
    for column in ("kind", "question or term", "due since (UTC)", "reviews"):
        table.add_column(column)
    for card in due[:15]:
        table.add_row(card.kind, escape(card.name), card.due.strftime("%Y-%m-%d %H:%M"), str(card.reviews))
    out.print(table)
    if len(due) > 15:
        out.print(f"... and {len(due) - 15} more.{later}")


def as_dict(view: Overview, vocabulary: Vocabulary, notices: list[str]) -> dict[str, object]:
    terms = [{"term": t.term, "objective": t.objective, "level": t.level, "questions": t.questions, "seen": t.seen,
              "right": t.right, "attempts": t.attempts, "lab_passed": t.lab_passed,
              "study": str(t.study) if t.study else None} for t in view.terms]
    return {"file": str(store.progress_path()), "notices": notices, "answers": view.answers,
            "exams": list(view.exams), "terms": terms,
            "suggestions": [t.term for t in view.suggestions(vocabulary)]}


def print_overview(view: Overview, vocabulary: Vocabulary) -> None:
    out.print(f"{view.answers} answers recorded, {len(view.exams)} mock exams ([dim]{store.progress_path()}[/dim])")
    for objective in vocabulary.objectives:
        terms = view.by_objective(objective.id)
        mastered = sum(t.level == "mastered" for t in terms)
        table = Table(title=f"{objective.label} (weight {objective.weight}): {mastered} of {len(terms)} mastered",
                      title_justify="left")
        for column in ("term", "level", "answered", "right (latest)", "lab"):
            table.add_column(column)
        for t in terms:
            lab = "[green]passed[/green]" if t.lab_passed else ("lab" if any(d.lab for d in t.demonstrations) else "")
            table.add_row(escape(t.term), f"[{LEVEL_STYLE[t.level]}]{t.level}[/]", f"{t.seen} / {t.questions}",
                          f"{t.right} of {t.seen}" if t.seen else "-", lab)
        out.print(table)
    if view.exams:
        table = Table(title="Last mock exams", title_justify="left")
        for column in ("when (UTC)", "right", "share", "scaled", ""):
            table.add_column(column)
        for e in view.exams[-5:]:
            table.add_row(str(e.get("at", "?"))[:16].replace("T", " "), f"{e.get('correct')} / {e.get('questions')}",
                          f"{e.get('percent', 0):g} %", str(e.get("scaled", "")),
                          "[green]passed[/green]" if e.get("passed") else "[red]not passed[/red]")
        out.print(table)
    suggestions = view.suggestions(vocabulary)
    if not suggestions:
        out.print("[green]Every term with questions is mastered.[/green] Take a mock exam: halab exam")
        return
    out.print("[bold]Study next[/bold]")
    for t in suggestions:
        labs = [d.where for d in t.demonstrations if d.lab]
        where = f"read {t.study}" if t.study else ""
        lab = f"; see it live in {labs[0]}" if labs else ""
        out.print(f"  • {escape(t.term)} ({t.level}): {escape(where + lab)}")
    out.print("Practise in the notebooks' quizzes, or take a mock exam: halab exam")
