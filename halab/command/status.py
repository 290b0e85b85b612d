"""`halab status [LAB]`: which labs are up, and the state of their nodes."""

from __future__ import annotations

import json

import click
from rich.table import Table

from halab.access import lab_names, open_lab, own_spec
from halab.command.terminal import lab_argument, nodes_table, output
from halab.course.guided import lab_values
from halab.errors import HalabError
from halab.spec.loader import available_labs


@click.command()
@lab_argument(required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--values", is_flag=True, help="The values the notebook's steps use for LAB ({cluster_name}, "
              "{node1_addr}, ...), yours on a shared machine; the lab need not be up ({hacluster_password} is "
              "there only while it is).")
def status(lab_name: str | None, as_json: bool, values: bool) -> None:
    """Show LAB (or every lab that is up)."""
    if values:
        _values(lab_name, as_json)
        return
    names = [lab_name] if lab_name else lab_names()
    if as_json:
        click.echo(json.dumps({"labs": [open_lab(name).status() for name in names]}, indent=2))
        return
    if not names:
        output.print(f"no lab is up. Start one with: halab up LAB (LAB: {', '.join(available_labs())})")
        return
    for name in names:
        lab = open_lab(name)
        info = lab.status()
        if info["phase"] == "down":
            output.print(f"lab {name} is down")
            continue
        if info["phase"] == "damaged":
            output.print(f"[red]lab {name} is damaged:[/red] {info['problem']}")
            continue
        output.print(nodes_table(lab))
        whose = f", {info['owner']['user']}'s" if info.get("owner") else ""
        output.print(f"provider {info['provider']}, {info['phase']} since {info['created']}{whose}")
        if info.get("cluster_login"):
            login = info["cluster_login"]
            output.print(f"cluster login (pcs host auth, pcsd): user {login['user']}, password {login['password']}",
                          highlight=False)


def _values(lab_name: str | None, as_json: bool) -> None:
    """What a notebook's `{name}` placeholders stand for, for a student in a terminal (the notebook's lab_facts
    cell shows the same in Jupyter): from the lab's spec in the caller's own slot (halab/course/guided.py)."""
    if not lab_name:
        raise HalabError(f"--values needs a lab: halab status LAB --values (LAB: {', '.join(available_labs())})")
    spec, _slot = own_spec(lab_name)
    login = open_lab(lab_name).status().get("cluster_login") if lab_name in lab_names() else None
    # pcsd's password is made at every `halab up`: a value only while the lab is up (notebook 03's pcs steps)
    found = lab_values(spec, {"hacluster_password": login["password"]} if login else None)
    if as_json:
        click.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    table = Table(title=f"{lab_name}: the values of the notebook's steps", title_justify="left")
    table.add_column("{name}")
    table.add_column("value")
    for name, value in sorted(found.items()):
        table.add_row(name, value)
    output.print(table)
