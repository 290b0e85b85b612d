"""`halab down LAB`: remove everything `up` made."""

from __future__ import annotations

import click

from halab.access import open_lab
from halab.command.terminal import console, lab_argument, progress_status


@click.command()
@lab_argument()
def down(lab_name: str) -> None:
    """Stop LAB's nodes and remove its containers, disks, networks, keys and state."""
    with progress_status(f"removing {lab_name}") as progress:
        open_lab(lab_name).down(progress)
    console.print(f"lab {lab_name} is down")
