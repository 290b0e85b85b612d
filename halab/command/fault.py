"""`halab fault LAB power-off|kill-daemon|cut-link|restore NODE`: break a lab on purpose, and mend it."""

from __future__ import annotations

import click

from halab import faults
from halab.command.cli import console
from halab.lab import Lab, require_root


@click.command()
@click.argument("lab_name", metavar="LAB")
@click.argument("fault_name", metavar="FAULT", type=click.Choice(faults.FAULTS))
@click.argument("node")
@click.option("--daemon", default="corosync", type=click.Choice(faults.CLUSTER_DAEMONS),
              help="kill-daemon: which daemon.")
@click.option("--network", help="cut-link: which lab network (default: the management network).")
def fault(lab_name: str, fault_name: str, node: str, daemon: str, network: str | None) -> None:
    """Inject FAULT into NODE of LAB (restore undoes every fault of the node except a split brain: that one
    is for you to resolve)."""
    require_root()
    lab = Lab(lab_name)
    lab.state().node(node)
    if fault_name == "power-off":
        faults.power_off(lab, node)
        console.print(f"{node} is powered off (no shutdown). Undo: halab fault {lab_name} restore {node}")
    elif fault_name == "kill-daemon":
        faults.kill_daemon(lab, node, daemon)
        console.print(f"killed {daemon} on {node} (SIGKILL). Undo: halab fault {lab_name} restore {node}")
    elif fault_name == "split-brain":
        record = faults.split_brain(lab, node)
        console.print(f"split brain: {node} and {record['survivor']} both wrote as Primary while the replication "
                      "link was cut; DRBD is StandAlone. Resolve it, keeping the survivor's data.")
    elif fault_name == "cut-link":
        faults.cut_link(lab, node, network)
        console.print(f"{node}'s cable is unplugged. Undo: halab fault {lab_name} restore {node}")
    else:
        for line in faults.restore(lab, node):
            console.print(line)
    lab.close()
