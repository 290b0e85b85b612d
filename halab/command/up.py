"""`halab up LAB`: create the lab's nodes and wait until each answers over SSH."""

from __future__ import annotations

import json
import time

import click

from halab.access import open_lab
from halab.command.terminal import console, lab_argument, nodes_table, progress_status
from halab.spec import PROVIDERS


@click.command()
@lab_argument()
@click.option("--provider", type=click.Choice(PROVIDERS), help="How to run the nodes (default: the lab's).")
@click.option("--json", "as_json", is_flag=True, help="Print the inventory as JSON.")
def up(lab_name: str, provider: str | None, as_json: bool) -> None:
    """Bring LAB up (does nothing if it is already up and healthy)."""
    lab = open_lab(lab_name)
    started = time.monotonic()
    with progress_status(f"bringing up {lab_name}", quiet=as_json) as progress:
        nodes = lab.up(provider=provider, progress=progress)
    if as_json:
        click.echo(json.dumps({"lab": lab_name, "nodes": [node.__dict__ for node in nodes]}, indent=2))
        return
    console.print(nodes_table(lab))
    console.print(f"up in {time.monotonic() - started:.1f} s. Connect with: halab ssh {nodes[0].name}"
                  f"{'' if lab_name == 'clustering' else f' --lab {lab_name}'}")
