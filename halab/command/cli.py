"""The `halab` command. Each sub-command lives in a module of its own, named for the command (up.py for
`halab up`, ...); what they share on the terminal is in terminal.py."""

from __future__ import annotations

import os
import sys

import click
from rich.markup import escape

from halab.command import (
    check,
    doctor,
    down,
    exam,
    fault,
    image,
    libvirtd,
    progress,
    service,
    solve,
    ssh,
    status,
    up,
)
from halab.command.terminal import console
from halab.errors import HalabError

try:
    from halab.command import classroom, course, grade
except ImportError:  # the course launcher, grading and the classroom are optional for a lab-only install
    classroom = course = grade = None  # type: ignore[assignment]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="halab")
def cli() -> None:
    """halab: live, auto-graded High Availability labs (Corosync, Pacemaker, DRBD)."""


def _register() -> None:
    for command in (up.up, status.status, ssh.ssh, check.check, fault.fault, solve.solve, down.down,
                    image.image, doctor.doctor, libvirtd.libvirtd, service.service):
        cli.add_command(command)
    cli.add_command(exam.exam)  # exam preparation: no lab and no Jupyter needed
    cli.add_command(progress.progress)
    if classroom is not None and course is not None and grade is not None:
        cli.add_command(course.course)
        cli.add_command(grade.grade)
        cli.add_command(classroom.classroom)


def main() -> None:
    _register()
    try:
        cli.main(standalone_mode=False)
    except HalabError as exc:
        # soft_wrap: one line however long, never broken at the terminal's width
        # escape: a message may quote a node's output, where "[...]" is no markup
        console.print(f"[bold red]halab: error:[/bold red] {escape(str(exc))}", markup=True, soft_wrap=True)
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
