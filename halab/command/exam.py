"""`halab exam`: the mock LPIC-3 exam in the terminal, keyboard only (rich output, one line of input at a time).

    halab exam [--questions N] [--minutes M] [--seed S]    take a timed mock exam (exam-306 objectives)
    halab exam --include-course-only                        the same, with the course's own topics (virtualization)
    halab exam --review [--questions N]                     the questions due for spaced review (halab.course.review)
    halab exam --coverage [--json]                          which exam-306 objectives the course covers
    halab exam --bank [--json]                              list the practice questions (never the answers)

The engine is halab.course.exam, shared with the notebook widget. Input is read a line at a time with a
timeout, so the exam is submitted when the time is up even while the candidate is thinking. Answers are
letters ("b", "b d", "bd") for choice questions and text for fill-ins and numbers; lines starting with ":" are
commands (see HELP). A malformed answer (a letter that is not offered, too many letters) is explained and not
stored. The submitted exam and its answers go to the user's progress file; a review's answers go there too
(as review answers, which reschedule their cards), but it is not counted as a mock exam.
"""

from __future__ import annotations

import json
import os
import random
import select
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from halab.course import progress, review
from halab.course.exam import EXAM_MINUTES, EXAM_QUESTIONS, MAX_MINUTES, PASS_PERCENT, ExamResult, MockExam
from halab.course.objectives import Coverage, Vocabulary, load_vocabulary
from halab.course.quiz import Question, practice_questions
from halab.course.quizbank import shuffled
from halab.errors import HalabError

out = Console(highlight=False)
HELP = ("Answer with letters (b, or b d for several) or type the value. Commands: Enter next · :p previous · "
        ":g N go to question N · :m mark for review · :c clear the answer · :r review list · :s submit · "
        ":q quit without submitting · :h this help. To answer with text that starts with ':', type '::' first.")


REVIEW_QUESTIONS = 20
MINUTES_PER_REVIEW_QUESTION = 2


@click.command()
@click.option("--questions", "-n", "count", type=click.IntRange(1, 500), default=None,
              help=f"Number of questions [default: {EXAM_QUESTIONS}; {REVIEW_QUESTIONS} with --review].")
@click.option("--minutes", "-m", type=click.FloatRange(0, MAX_MINUTES, min_open=True), default=None,
              help=f"Time allowed, in minutes [default: {EXAM_MINUTES}; 2 per question with --review].")
@click.option("--seed", type=click.IntRange(0), help="Draw the same exam again (the result page shows its seed).")
@click.option("--include-course-only", is_flag=True,
              help="Also draw the course's own topics that exam 306 does not ask (virtualization).")
@click.option("--review", "do_review", is_flag=True, help="Answer the questions due for spaced review instead.")
@click.option("--coverage", "show_coverage", is_flag=True, help="Show which exam-306 objectives the course covers.")
@click.option("--bank", "show_bank", is_flag=True, help="List the practice questions instead of taking an exam.")
@click.option("--json", "as_json", is_flag=True, help="With --bank or --coverage: JSON, for scripts.")
def exam(count: int | None, minutes: float | None, seed: int | None, include_course_only: bool, do_review: bool,
         show_coverage: bool, show_bank: bool, as_json: bool) -> None:
    """Take a timed mock exam (LPIC-3 format: 60 questions, 90 minutes), review what is due, or list the bank."""
    vocabulary = load_vocabulary()
    pool = practice_questions()
    if sum((do_review, show_coverage, show_bank)) > 1:
        raise click.UsageError("--review, --coverage and --bank go one at a time")
    if as_json and not (show_bank or show_coverage):
        raise click.UsageError("--json goes with --bank or --coverage (the exam itself is interactive)")
    if show_bank:
        print_bank(pool, vocabulary, as_json)
        return
    if show_coverage:
        print_coverage(vocabulary.coverage(), vocabulary, as_json)
        return
    if do_review:
        start_review(pool, vocabulary, count or REVIEW_QUESTIONS, minutes, seed)
        return
    print_coverage(vocabulary.coverage(), vocabulary, as_json=False, included=include_course_only)
    mock = MockExam.draw(pool, vocabulary, count=count or EXAM_QUESTIONS, minutes=minutes or EXAM_MINUTES, seed=seed,
                         include_course_only=include_course_only)
    Session(mock).run()


def start_review(pool: tuple[Question, ...], vocabulary: Vocabulary, count: int, minutes: float | None,
                 seed: int | None) -> None:
    """A review session: the due questions, untimed in practice (2 minutes each), recorded as review answers."""
    data, notices = progress.load()
    for notice in notices:
        out.print(f"[yellow]{escape(notice)}[/yellow]")
    questions = review.draw(data, pool, limit=count, seed=seed or 0)
    if not questions:
        upcoming = review.next_due(data)
        when = f" The next item is due at {upcoming:%Y-%m-%d %H:%M} UTC." if upcoming else ""
        out.print(f"Nothing is due for review.{when} Practise in the quizzes or take a mock exam: halab exam")
        return
    rng = random.Random(seed or 0)
    mock = MockExam([shuffled(q, rng) for q in questions], minutes or MINUTES_PER_REVIEW_QUESTION * len(questions),
                    vocabulary, seed or 0)
    Session(mock, mode="review").run()


def coverage_dict(coverage: Coverage, vocabulary: Vocabulary) -> dict[str, Any]:
    course_only = [{"id": o.id, "title": o.title, "weight": o.weight} for o in vocabulary.objectives if o.course_only]
    return {"exam": coverage.exam, "taught_weight": coverage.weight, "total_weight": coverage.total,
            "share_percent": round(100 * coverage.share, 1),
            "taught": [{"id": o.id, "title": o.title, "weight": o.weight} for o in coverage.taught],
            "not_taught": [{"id": o.id, "title": o.title, "weight": o.weight} for o in coverage.untaught],
            "course_only": course_only}


def print_coverage(coverage: Coverage, vocabulary: Vocabulary, as_json: bool, included: bool = False) -> None:
    """Say plainly what the mock exam stands for: which objectives of the real exam, and which share of it."""
    if as_json:
        click.echo(json.dumps(coverage_dict(coverage, vocabulary), indent=1, ensure_ascii=False))
        return
    course_only = [o for o in vocabulary.objectives if o.course_only]
    extra = ", ".join(f"{o.title}" for o in course_only)
    mode = (f"Course-only topics are included ({extra}): they are not exam-306 objectives." if included else
            f"Course-only topics ({extra}) are left out; --include-course-only brings them in.")
    untaught = ", ".join(f"{o.id} {o.title} ({o.weight})" for o in coverage.untaught)
    text = "\n".join((coverage.taught_text(), f"Not taught here, so not in the mock exam: {untaught}.", mode))
    out.print(Panel(escape(text), title="What this mock exam covers"))


def bank_json(pool: tuple[Question, ...], vocabulary: Vocabulary) -> dict[str, Any]:
    """The practice bank for scripts: what a candidate sees of each question, never the answers."""
    questions = []
    for q in pool:
        item: dict[str, Any] = {"id": q.id, "bank": q.bank, "objective": q.objective, "terms": list(q.terms),
                                "kind": q.kind, "text": q.text, "options": [c.text for c in q.choices],
                                "section": {"notebook": q.section.notebook, "heading": q.section.heading}}
        if q.kind == "choose":
            item["pick"] = q.pick
        if q.kind == "fill":
            item["blank"] = q.blank
        if q.kind == "numeric":
            item["unit"] = q.unit
        questions.append(item)
    objectives = [{"id": o.id, "title": o.title, "weight": o.weight, "terms": list(o.vocabulary)}
                  for o in vocabulary.objectives]
    return {"objectives": objectives, "questions": questions}


def print_bank(pool: tuple[Question, ...], vocabulary: Vocabulary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(bank_json(pool, vocabulary), indent=1, ensure_ascii=False))
        return
    table = Table(title=f"{len(pool)} practice questions", title_justify="left")
    for column in ("id", "objective", "kind", "question"):
        table.add_column(column, overflow="fold")
    for q in pool:
        table.add_row(q.id, q.objective, q.kind, escape(q.text))
    out.print(table)


class LineReader:
    """Lines from stdin with a timeout. It reads the file descriptor itself: select() on sys.stdin would miss
    lines that Python's own buffer already holds (typed ahead, or sent by a script)."""

    def __init__(self) -> None:
        try:
            self.fd = sys.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            raise HalabError("halab exam reads the keyboard: run it in a terminal (or give it a pipe)") from None
        self.buffer = b""

    def read_line(self, timeout: float) -> str | None:
        """One line without its newline; None when the timeout passed first; EOFError at end of input."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                ready, _, _ = select.select([self.fd], [], [], left)
                chunk = os.read(self.fd, 4096) if ready else None
            except OSError as exc:
                raise HalabError(f"cannot read the keyboard: {exc.strerror or exc}") from None
            if chunk is None:
                return None
            if not chunk:
                if not self.buffer:
                    raise EOFError
                chunk = b"\n"  # a last line without newline
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace").rstrip("\r")


def clock_text(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class Session:
    """The terminal conversation around one MockExam (a mock exam, or a review when mode is "review")."""

    def __init__(self, mock: MockExam, mode: str = "exam") -> None:
        self.mock = mock
        self.mode = mode
        self.reader = LineReader()
        self.note = ""  # one line shown above the next prompt (an error, or what happened)

    def run(self) -> None:
        what = ("Spaced review" if self.mode == "review" else "Mock exam")
        out.print(Panel(f"{what}: {len(self.mock.slots)} questions in {self.mock.minutes:g} minutes, pass mark "
                        f"{PASS_PERCENT:.0f} %. Seed {self.mock.seed}.\n{HELP}", title="halab exam"))
        try:
            while not self.mock.finished:
                self.show()
                line = self.reader.read_line(self.mock.remaining())
                if line is None or self.mock.check_time():
                    out.print("[bold yellow]The time is up: the exam is submitted as it stands.[/bold yellow]")
                    self.mock.submit(timed_out=True)
                    break
                self.handle(line)
        except (EOFError, KeyboardInterrupt):
            out.print("\nExam abandoned: nothing was recorded.")
            raise SystemExit(130) from None
        self.finish()

    def show(self) -> None:
        mock = self.mock
        if out.is_terminal:
            out.clear()  # one question at a time, as in the exam
        slot = mock.slot
        q = slot.question
        answered = len(mock.slots) - len(mock.unanswered())
        flag = " [yellow]marked[/yellow]" if slot.marked else ""
        out.rule(f"Question {mock.current + 1} of {len(mock.slots)} · {q.objective} · answered {answered} · "
                 f"time left {clock_text(mock.remaining())}{flag}")
        out.print(escape(q.text))
        for i, choice in enumerate(q.choices):
            out.print(f"  [bold]{q.letter(i)})[/bold] {escape(choice.text)}")
        if q.kind == "fill":
            out.print(f"  [dim]({escape(q.blank or 'type your answer')})[/dim]")
        if q.kind == "numeric":
            out.print(f"  [dim](a number{escape(' in ' + q.unit) if q.unit else ''})[/dim]")
        if slot.answered:
            out.print(f"[green]Your answer: {escape(answer_text(slot.answer))}[/green]")
        if self.note:
            out.print(self.note)
            self.note = ""
        out.print("[dim]answer, or :h for help[/dim]")
        out.print("> ", end="")

    def handle(self, line: str) -> None:
        mock = self.mock
        text = line.strip()
        if text.startswith("::"):
            text = text[1:]
        elif text.startswith(":"):
            self.command(text[1:].strip())
            return
        if not text:
            if not mock.slot.answered:
                self.note = f"[yellow]Question {mock.current + 1} left unanswered.[/yellow]"
            self.advance()
            return
        problem = mock.answer(text)
        if problem:
            self.note = f"[red]Not stored:[/red] {escape(problem)}"
            return
        self.advance()

    def advance(self) -> None:
        mock = self.mock
        if mock.current + 1 < len(mock.slots):
            mock.step(1)
        else:
            missing = mock.unanswered()
            left = f" {len(missing)} unanswered: {', '.join(map(str, missing[:15]))}." if missing else ""
            self.note += f" [cyan]That was the last question.{left} Type :s to submit or :r to review.[/cyan]"

    def command(self, text: str) -> None:
        mock = self.mock
        name, _, argument = text.partition(" ")
        if name in ("p", "prev"):
            mock.step(-1)
        elif name in ("n", "next"):
            mock.step(1)
        elif name in ("g", "go"):
            if not argument.strip().isdigit():
                self.note = "[red]Go to which question? e.g. :g 12[/red]"
            else:
                self.note = escape(mock.go(int(argument)))
        elif name == "m":
            mock.toggle_mark()
        elif name == "c":
            mock.clear()
        elif name == "r":
            self.review()
        elif name == "s":
            self.confirm_submit()
        elif name == "q":
            if self.ask("Quit without submitting? Nothing is recorded. [y/N] "):
                out.print("Exam abandoned: nothing was recorded.")
                raise SystemExit(0)
        elif name in ("h", "help", "?"):
            self.note = HELP
        else:
            self.note = f"[red]Unknown command ':{escape(text)}'.[/red] {HELP}"

    def review(self) -> None:
        mock = self.mock
        table = Table(title="Review", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("answer")
        table.add_column("")
        for number, slot in enumerate(mock.slots, 1):
            table.add_row(str(number), escape(answer_text(slot.answer)) if slot.answered else "[red]-[/red]",
                          "[yellow]marked[/yellow]" if slot.marked else "")
        out.print(table)
        self.note = "Type :g N to go to a question, :s to submit."

    def confirm_submit(self) -> None:
        missing = self.mock.unanswered()
        count = f"{len(missing)} question is" if len(missing) == 1 else f"{len(missing)} questions are"
        if missing and not self.ask(f"{count} unanswered. Submit anyway? [y/N] "):
            return
        if not self.mock.finished:
            self.mock.submit()

    def ask(self, question: str) -> bool:
        out.print(question, end="")
        reply = self.reader.read_line(self.mock.remaining())
        return reply is not None and reply.strip().lower() in ("y", "yes")

    def finish(self) -> None:
        result = self.mock.result or self.mock.submit()
        print_result(result, self.mode)
        try:
            if self.mode == "review":
                notices = progress.record_answers(self.mock.answers_for_progress(), "review")
            else:
                notices = progress.record_exam(result.summary(), self.mock.answers_for_progress())
        except progress.ProgressError as exc:
            notices = [f"This {self.mode} could not be saved to your progress: {exc}"]
        for notice in notices:
            out.print(f"[yellow]{escape(notice)}[/yellow]")
        out.print("See `halab progress` for what to study next.")


def answer_text(answer: Any) -> str:
    if isinstance(answer, list | tuple):
        return " ".join(str(a) for a in answer)
    return str(answer)


def print_result(result: ExamResult, mode: str = "exam") -> None:
    verdict = "[bold green]PASSED[/bold green]" if result.passed else "[bold red]NOT PASSED[/bold red]"
    timing = " (time ran out)" if result.timed_out else ""
    if mode == "review":
        out.print(Panel(f"{result.correct} of {result.total} right. Right answers push a card's next review further "
                        "away; wrong ones bring it back soon.", title="Review"))
    else:
        out.print(Panel(
            f"{result.correct} of {result.total} right ({result.percent:.0f} %) · scaled score {result.scaled} · "
            f"{verdict}\nPass mark {PASS_PERCENT:.0f} % (500 on LPI's 200-800 scale) · time used "
            f"{clock_text(result.seconds_used)}{timing} · seed {result.seed}", title="Result"))  # fmt: skip
    table = Table(title="By objective", title_justify="left")
    for column in ("objective", "title", "right", "share"):
        table.add_column(column)
    for score in result.by_objective:
        table.add_row(score.objective, score.title, f"{score.correct} / {score.total}", f"{score.percent:.0f} %")
    out.print(table)
    for item in result.wrong:
        q = item.question
        given = "not answered" if item.answer is None else f"your answer: {answer_text(item.answer)}"
        out.print(f"[bold]{item.number}.[/bold] {escape(q.text)}")
        for i, choice in enumerate(q.choices):
            out.print(f"    {q.letter(i)}) {escape(choice.text)}")
        out.print(f"  [red]{escape(given)}[/red] · right: [green]{escape(q.key_text)}[/green]")
        out.print(f"  {escape(q.explanation)}")
        out.print(f"  [dim]Study: {escape(str(q.section))}[/dim]")
