"""`halab solve LAB`: do the lab's tasks on its live nodes with the reference solution."""

from __future__ import annotations

import click

from halab.command.terminal import console, progress_status


@click.command()
@click.argument("lab_name", metavar="LAB")
def solve(lab_name: str) -> None:
    """Solve LAB on its live nodes (what a student would type, done for you)."""
    from halab.lab import Lab, require_root
    from solutions import solve as run_solution

    require_root()
    lab = Lab(lab_name)
    lab.state()
    with progress_status(f"solving {lab_name}") as progress:
        run_solution(lab, progress)
    lab.close()
    console.print(f"lab {lab_name} is solved; grade it with: halab check {lab_name}")
