"""`halab check LAB`: grade the live lab. Exit code 0 only at full score."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from graders.evidence import write_evidence
from graders.report import Report
from halab.access import open_lab
from halab.command.terminal import console, progress_status, report_table
from halab.course.progress import ProgressError, record_lab_check


@click.command()
@click.argument("lab_name", metavar="LAB")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-faults", is_flag=True, help="Skip fault checks (they power nodes off and on).")
@click.option("--evidence", type=click.Path(dir_okay=False, writable=True),
              help="Also save the raw facts and verdicts to this file (for nbgrader).")
def check(lab_name: str, as_json: bool, no_faults: bool, evidence: str | None) -> None:
    """Grade LAB on its live nodes and explain every failed check."""
    if evidence and not Path(evidence).resolve().parent.is_dir():
        raise click.BadParameter(f"the folder of {evidence} does not exist", param_hint="--evidence")
    lab = open_lab(lab_name)
    with progress_status(f"checking {lab_name}", quiet=as_json) as progress:
        checked = lab.check(faults=not no_faults, progress=progress)
    report = Report.from_dict(checked.report)
    if evidence:  # written by the caller, as the caller: the evidence is theirs
        write_evidence(evidence, checked.identity, checked.raw, report)
    _record_progress(report.to_dict())
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        console.print(report_table(report))
        for name, value in report.measurements.items():
            console.print(f"  {name}: {value}")
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
