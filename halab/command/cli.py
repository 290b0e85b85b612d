"""The `halab` command. Each sub-command lives in its own module, named for its step of the lab's life:
create (up), status, connect (ssh), verify (check),
fault, converge (solve), destroy (down), image, doctor."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console

from halab.errors import HalabError

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="halab")
def cli() -> None:
    """halab: live, auto-graded High Availability labs (Corosync, Pacemaker, DRBD)."""


def _register() -> None:
    from halab.command import connect, converge, create, destroy, doctor, fault, image, libvirt_daemon, status, verify

    for command in (create.up, status.status, connect.ssh, verify.check, fault.fault, converge.solve,
                    destroy.down, image.image, doctor.doctor, libvirt_daemon.libvirtd):
        cli.add_command(command)
    from halab.command import exam, progress  # exam preparation: no lab and no Jupyter needed

    cli.add_command(exam.exam)
    cli.add_command(progress.progress)
    try:
        from halab.command import course, grade
    except ImportError:  # the course launcher and grading are optional for a lab-only install
        return
    cli.add_command(course.course)
    cli.add_command(grade.grade)


def main() -> None:
    _register()
    try:
        cli.main(standalone_mode=False)
    except HalabError as exc:
        console.print(f"[bold red]halab: error:[/bold red] {exc}", markup=True)
        sys.exit(1)
    except click.exceptions.Abort:
        console.print("halab: interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("halab: interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # `halab ssh node1 -- journalctl | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        os._exit(141)
