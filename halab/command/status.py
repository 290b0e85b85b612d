"""`halab status [LAB]`: which labs are up, and the state of their nodes."""

from __future__ import annotations

import json

import click

from halab.access import lab_names, open_lab
from halab.command.terminal import console, lab_argument, nodes_table


@click.command()
@lab_argument(required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(lab_name: str | None, as_json: bool) -> None:
    """Show LAB (or every lab that is up)."""
    names = [lab_name] if lab_name else lab_names()
    if as_json:
        click.echo(json.dumps({"labs": [open_lab(name).status() for name in names]}, indent=2))
        return
    if not names:
        console.print("no lab is up. Start one with: halab up clustering")
        return
    for name in names:
        lab = open_lab(name)
        info = lab.status()
        if info["phase"] == "down":
            console.print(f"lab {name} is down")
            continue
        if info["phase"] == "damaged":
            console.print(f"[red]lab {name} is damaged:[/red] {info['problem']}")
            continue
        console.print(nodes_table(lab))
        whose = f", {info['owner']['user']}'s" if info.get("owner") else ""
        console.print(f"provider {info['provider']}, {info['phase']} since {info['created']}{whose}")
        if info.get("cluster_login"):
            login = info["cluster_login"]
            console.print(f"cluster login (pcs host auth, pcsd): user {login['user']}, password {login['password']}",
                          highlight=False)
