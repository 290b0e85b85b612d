"""`halab down LAB`: remove everything `up` made."""

from __future__ import annotations

import click

from halab.command.terminal import console, progress_status
from halab.lab import Lab


@click.command()
@click.argument("lab_name", metavar="LAB")
def down(lab_name: str) -> None:
    """Stop LAB's nodes and remove its containers, disks, networks, keys and state."""
    with progress_status(f"removing {lab_name}") as progress:
        Lab(lab_name).down(progress)
    console.print(f"lab {lab_name} is down")
