"""`halab up LAB`: create the lab's nodes and wait until each answers over SSH."""

from __future__ import annotations

import json
import time

import click
from rich.table import Table

from halab.command.cli import console, progress_status
from halab.lab import Lab
from halab.spec import NAME_RE, PROVIDERS


def nodes_table(lab: Lab) -> Table:
    table = Table(title=f"lab {lab.name}", title_justify="left")
    for column in ("node", "address", "user", "running", "ssh"):
        table.add_column(column)
    for node in lab.status()["nodes"]:
        table.add_row(node["name"], node["address"], node["user"], _yes(node["running"]), _yes(node["ssh"]))
    return table


def _yes(value: bool) -> str:
    return "[green]yes[/green]" if value else "[red]no[/red]"


@click.command()
@click.argument("lab_name", metavar="LAB")
@click.option("--provider", type=click.Choice(PROVIDERS), help="How to run the nodes (default: the lab's).")
@click.option("--json", "as_json", is_flag=True, help="Print the inventory as JSON.")
def up(lab_name: str, provider: str | None, as_json: bool) -> None:
    """Bring LAB up (does nothing if it is already up and healthy)."""
    if not NAME_RE.match(lab_name):
        raise click.BadParameter(f"'{lab_name}' is not a lab name (see labs/*.toml)", param_hint="LAB")
    lab = Lab(lab_name)
    started = time.monotonic()
    with progress_status(f"bringing up {lab_name}", quiet=as_json) as progress:
        nodes = lab.up(provider=provider, progress=progress)
    if as_json:
        click.echo(json.dumps({"lab": lab_name, "nodes": [node.__dict__ for node in nodes]}, indent=2))
        return
    console.print(nodes_table(lab))
    console.print(f"up in {time.monotonic() - started:.1f} s. Connect with: halab ssh {nodes[0].name}"
                  f"{'' if lab_name == 'clustering' else f' --lab {lab_name}'}")
