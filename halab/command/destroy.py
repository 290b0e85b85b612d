"""`halab down LAB`: remove everything `up` made."""

from __future__ import annotations

import click

from halab.command.cli import console, progress_status
from halab.lab import Lab
from halab.spec import NAME_RE


@click.command()
@click.argument("lab_name", metavar="LAB")
def down(lab_name: str) -> None:
    """Stop LAB's nodes and remove its containers, disks, networks, keys and state."""
    if not NAME_RE.match(lab_name):
        raise click.BadParameter(f"'{lab_name}' is not a lab name", param_hint="LAB")
    with progress_status(f"removing {lab_name}") as progress:
        Lab(lab_name).down(progress)
    console.print(f"lab {lab_name} is down")
