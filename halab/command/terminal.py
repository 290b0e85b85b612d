"""What the command modules share on the terminal: the console, a progress spinner, and the tables of a lab's
nodes and of a grading report."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from graders.report import Report
from halab.access import LabAccess
from halab.lab import Lab

console = Console(stderr=True, highlight=False, emoji=False)  # "ocf:heartbeat:IPaddr2" is no emoji code
# What a command was asked for (its table, its values) goes to stdout, so that `halab status | grep` works;
# progress, warnings and errors stay on stderr (console).
output = Console(highlight=False, emoji=False)


def choose_lab(positional: str | None, option: str | None, required: bool = True) -> str | None:
    """The lab a command names, as its first argument or as --lab (both: they must agree)."""
    if positional and option and positional != option:
        raise click.UsageError(f"two labs given: {positional} and --lab {option}")
    lab = positional or option
    if required and not lab:
        raise click.UsageError("which lab? Give it as the first argument or as --lab LAB (see: halab status)")
    return lab


def lab_argument(required: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """LAB as the command's first argument or as --lab LAB: every command that takes a lab takes both forms
    (`halab status clustering`, `halab status --lab clustering`)."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, lab_name: str | None, lab_option: str | None, **kwargs: Any) -> Any:
            return function(*args, lab_name=choose_lab(lab_name, lab_option, required), **kwargs)

        wrapper = click.option("--lab", "lab_option", metavar="LAB",
                               help="The lab, as the first argument gives it.")(wrapper)
        return click.argument("lab_name", metavar="LAB" if required else "[LAB]", required=False)(wrapper)

    return decorate


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
    # fold: a word longer than its column (a path, a command line in a hint) goes on over several lines rather
    # than being cut off with an ellipsis, as rich does by default, in an 80-column terminal.
    table.add_column("check", overflow="fold")
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("feedback", overflow="fold")
    for c in report.checks:
        mark = "[green]✔[/green]" if c.passed else "[yellow]?[/yellow]" if c.unreadable else "[red]✘[/red]"
        # escape: feedback quotes the nodes' own output, where "[/etc/haproxy/haproxy.cfg:26]" is no markup
        feedback, hint = escape(c.feedback), escape(c.hint)
        text = f"{feedback}\n[yellow]hint:[/yellow] {hint}" if c.hint and not c.passed else feedback
        table.add_row(mark, f"{escape(c.title)}\n[dim]{escape(c.id)}[/dim]", f"{c.points}/{c.max_points}", text)
    return table
