"""`halab solve LAB`: do the lab's tasks on its live nodes with the reference solution."""

from __future__ import annotations

import click

from halab.access import open_lab
from halab.command.terminal import console, lab_argument, progress_status


@click.command()
@lab_argument()
def solve(lab_name: str) -> None:
    """Solve LAB on its live nodes (what a student would type, done for you)."""
    with progress_status(f"solving {lab_name}") as progress:
        open_lab(lab_name).solve(progress)
    console.print(f"lab {lab_name} is solved; grade it with: halab check {lab_name}")
