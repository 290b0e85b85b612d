"""What the command modules share on the terminal: the console, a progress spinner, and the tables of a lab's
nodes and of a grading report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table

from graders.report import Report
from halab.access import LabAccess
from halab.lab import Lab

console = Console(stderr=True, highlight=False)


@contextmanager
def progress_status(message: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner showing the latest progress line of a long step (silent with --json)."""
    if quiet or not console.is_terminal:
        yield lambda line: None if quiet else console.print(f"[dim]{line}[/dim]") if _notable(line) else None
        return
    with console.status(message) as status:
        yield lambda line: status.update(f"{message}: [dim]{line[:100]}[/dim]")


def _notable(line: str) -> bool:
    # Without a terminal, print milestones only, not every line of a package install.
    return not line.startswith(("I: ", "W: ", "Get:", "Selecting", "Preparing", "Unpacking", "Setting up"))


def _yes(value: bool) -> str:
    return "[green]yes[/green]" if value else "[red]no[/red]"


def nodes_table(lab: LabAccess | Lab) -> Table:
    table = Table(title=f"lab {lab.name}", title_justify="left")
    for column in ("node", "address", "user", "running", "ssh"):
        table.add_column(column)
    for node in lab.status()["nodes"]:
        table.add_row(node["name"], node["address"], node["user"], _yes(node["running"]), _yes(node["ssh"]))
    return table


def report_table(report: Report) -> Table:
    table = Table(title=f"{report.lab}: {report.score}/{report.max_score} points ({report.percent:g} %)",
                  title_justify="left", show_lines=True)
    table.add_column("", width=2)
    table.add_column("check")
    table.add_column("points", justify="right")
    table.add_column("feedback")
    for c in report.checks:
        mark = "[green]✔[/green]" if c.passed else "[red]✘[/red]"
        text = f"{c.feedback}\n[yellow]hint:[/yellow] {c.hint}" if c.hint and not c.passed else c.feedback
        table.add_row(mark, f"{c.title}\n[dim]{c.id}[/dim]", f"{c.points}/{c.max_points}", text)
    return table
