"""`halab check LAB`: grade the live lab. Exit code 0 only at full score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from graders.evidence import write_evidence
from graders.report import Report
from halab.access import open_lab, own_spec
from halab.command.terminal import console, lab_argument, progress_status, report_table
from halab.course.progress import ProgressError, record_lab_check


@click.command()
@lab_argument()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-faults", is_flag=True, help="Skip fault checks (they power nodes off and on).")
@click.option("--evidence", type=click.Path(dir_okay=False, writable=True),
              help="Also save the raw facts and verdicts to this file (for nbgrader).")
@click.option("--task", "tasks", multiple=True, metavar="TASK",
              help="Only the checks of this task (repeat for several): a checkpoint while you work. Fault "
                   "checks run only when the task has one.")
def check(lab_name: str, as_json: bool, no_faults: bool, evidence: str | None, tasks: tuple[str, ...]) -> None:
    """Grade LAB on its live nodes and explain every failed check."""
    if evidence and not Path(evidence).resolve().parent.is_dir():
        raise click.BadParameter(f"the folder of {evidence} does not exist", param_hint="--evidence")
    if evidence and tasks:
        raise click.BadParameter("evidence is the whole lab's: save it without --task", param_hint="--evidence")
    faults: bool | tuple[str, ...] = not no_faults
    if tasks:
        spec, _ = own_spec(lab_name)
        known = [t.id for t in spec.tasks]
        unknown = [t for t in tasks if t not in known]
        if unknown:
            raise click.BadParameter(f"lab '{lab_name}' has no task {', '.join(unknown)} (its tasks: "
                                     f"{', '.join(known)})", param_hint="--task")
        faults = () if no_faults else tuple(c.id for c in spec.checks if c.fault and c.task in tasks)
    lab = open_lab(lab_name)
    with progress_status(f"checking {lab_name}", quiet=as_json) as progress:
        checked = lab.check(faults=faults, progress=progress)
    report = Report.from_dict(checked.report)
    if tasks:
        report = report.only_tasks(tasks)
    if evidence:  # written by the caller, as the caller: the evidence is theirs
        write_evidence(evidence, checked.identity, checked.raw, report)
    _record_progress(report.to_dict())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(report_table(report))
        for name, value in report.measurements.items():
            console.print(f"  {name}: {value}", markup=False)
        if report.unreadable:
            console.print(f"[yellow]? {len(report.unreadable)} check(s) not judged: a node's answer came back "
                          f"incomplete. Run halab check {lab_name} again.[/yellow]")
    sys.exit(0 if report.score == report.max_score else 1)


def _record_progress(report: dict) -> None:
    """The checks passed count towards the user's progress (`halab progress`); a problem with the progress file
    is a warning, never a reason to lose the report."""
    try:
        notes = record_lab_check(report)
    except ProgressError as exc:
        notes = [f"progress not recorded: {exc}"]
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]")
