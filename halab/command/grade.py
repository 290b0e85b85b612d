"""`halab grade ASSIGNMENT`: nbgrader's collect, autograde and generate_feedback in one step, then a summary
of each student's score and lab evidence (the grading itself: halab/course/grading.py)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from halab import paths
from halab.command.terminal import console
from halab.course.grading import (
    LIVE_REFUSED,
    autograde,
    course_folder,
    evidence_statuses,
    grade_as_owner,
    grade_owner,
    sandbox,
    scores,
    shared_instances,
)
from halab.errors import HalabError


def _say(line: str) -> None:
    console.print(line, highlight=False, markup=False)


@click.command()
@click.argument("assignment")
@click.option("--course-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The nbgrader course folder (default: the course/ folder of this halab).")
@click.option("--live", is_flag=True, hidden=True, help="Refused: the sandbox has no lab.")
@click.option("--no-collect", is_flag=True, help="Skip `nbgrader collect` (submissions are already in submitted/).")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the class's scores per assignment and per lab task to this CSV file (for an LMS).")
def grade(assignment: str, course_dir: Path | None, live: bool, no_collect: bool, csv_file: Path | None) -> None:
    """Collect, autograde and write feedback for ASSIGNMENT with nbgrader; summarise scores and lab evidence.
    Run it as root: the students' notebooks run in a sandbox, as the course's grader account."""
    if live:
        raise HalabError(LIVE_REFUSED)
    course_dir = course_folder(course_dir or paths.course_dir())
    csv_file = csv_file.resolve() if csv_file else None
    with sandbox(course_dir):
        owner = grade_owner(course_dir)
        if owner is not None:
            options = ["--no-collect"] if no_collect else []
            raise click.exceptions.Exit(grade_as_owner(owner, course_dir, assignment, csv_file, options, _say))
        autograde(course_dir, assignment, _say, collect=not no_collect, csv_file=csv_file)
        _summary(course_dir, assignment, csv_file)


def _summary(course_dir: Path, assignment: str, csv_file: Path | None) -> None:
    statuses = evidence_statuses(course_dir, assignment)
    table = Table(title=f"{assignment}: scores", title_justify="left")
    for column in ("student", "score", "lab evidence"):
        table.add_column(column)
    waiting = []
    for student, score, max_score, manual in scores(course_dir, assignment):
        evidence = [f"{s.file}: {s.problem or 'ok, lab instance ' + s.instance[:12]}"
                    f"{' (see the warnings below)' if s.flags else ''}" for s in statuses if s.student == student]
        table.add_row(student, f"{score:g} / {max_score:g}" + (" (not final)" if manual else ""),
                      "\n".join(evidence) or "none")
        waiting += [student] if manual else []
    console.print(table)
    if waiting:
        console.print(f"Not final: {', '.join(waiting)} have answers that need your grade (the written diagnosis; a "
                      f"lab solved by halab): grade them in the formgrader (Manual Grading), then export.",
                      highlight=False)
    for status in (status for status in statuses if status.broken):
        console.print(f"Break-fix: {status.student}'s lab was broken by `halab break`, {status.broken}.",
                      highlight=False)
    for flag in (flag for status in statuses for flag in status.flags):
        console.print(f"[yellow]Warning:[/yellow] {flag}.", highlight=False)
    for instance, students in shared_instances(statuses).items():
        console.print(f"[yellow]Warning:[/yellow] {', '.join(students)} handed in evidence from the same lab "
                      f"instance {instance[:12]}: each `halab up` has its own, so one copied another's file.",
                      highlight=False)
    console.print(f"Feedback: {course_dir / 'feedback'}/<student>/{assignment}/ (release it with "
                  f"`nbgrader release_feedback {assignment}`)", highlight=False)
    if csv_file:
        console.print(f"Scores of the class per assignment and lab task: {csv_file}", highlight=False)
