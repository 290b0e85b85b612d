"""`halab fault LAB FAULT NODE`: break a lab on purpose, and mend it.

The faults every lab has are in halab/runtime/faults.py (``COMMON_FAULTS``); a lab kind may add its own
(graders/<kind>/__init__.py, ``injections``), such as the drbd lab's split brain.
"""

from __future__ import annotations

import click

from halab.access import open_lab
from halab.command.terminal import console
from halab.runtime import faults


@click.command()
@click.argument("lab_name", metavar="LAB")
@click.argument("fault_name", metavar="FAULT", type=click.Choice(faults.fault_names()))
@click.argument("node")
@click.option("--daemon", default="corosync", type=click.Choice(faults.CLUSTER_DAEMONS),
              help="kill-daemon: which daemon.")
@click.option("--network", help="cut-link: which lab network (default: the management network).")
def fault(lab_name: str, fault_name: str, node: str, daemon: str, network: str | None) -> None:
    """Inject FAULT into NODE of LAB (restore undoes every fault of the node except a split brain: that one
    is for you to resolve)."""
    console.print(open_lab(lab_name).fault(fault_name, node, daemon, network))
