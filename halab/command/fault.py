"""`halab fault LAB FAULT NODE`: break a lab on purpose, and mend it.

The faults every lab has are in the table below; a lab kind may add its own (graders/<kind>/__init__.py,
``injections``), such as the drbd lab's split brain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click

from graders.kinds import get_kind, known_kinds
from halab import faults
from halab.command.terminal import console
from halab.errors import HalabError
from halab.lab import Lab, require_root


@dataclass(frozen=True)
class FaultOptions:
    daemon: str
    network: str | None


def _power_off(lab: Lab, node: str, _options: FaultOptions) -> str:
    faults.power_off(lab, node)
    return f"{node} is powered off (no shutdown). Undo: halab fault {lab.name} restore {node}"


def _kill_daemon(lab: Lab, node: str, options: FaultOptions) -> str:
    faults.kill_daemon(lab, node, options.daemon)
    return f"killed {options.daemon} on {node} (SIGKILL). Undo: halab fault {lab.name} restore {node}"


def _cut_link(lab: Lab, node: str, options: FaultOptions) -> str:
    faults.cut_link(lab, node, options.network)
    return f"{node}'s cable is unplugged. Undo: halab fault {lab.name} restore {node}"


def _restore(lab: Lab, node: str, _options: FaultOptions) -> str:
    return "\n".join(faults.restore(lab, node))


# Every lab has these. `restore` undoes every fault of the node except a kind's own (a split brain is for
# the student to resolve).
COMMON_FAULTS: dict[str, Callable[[Lab, str, FaultOptions], str]] = {
    "power-off": _power_off,
    "kill-daemon": _kill_daemon,
    "cut-link": _cut_link,
    "restore": _restore,
}


def fault_names() -> list[str]:
    kind_faults = {name for kind in known_kinds() for name in get_kind(kind).injections}
    return list(COMMON_FAULTS) + sorted(kind_faults - set(COMMON_FAULTS))


@click.command()
@click.argument("lab_name", metavar="LAB")
@click.argument("fault_name", metavar="FAULT", type=click.Choice(fault_names()))
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
    kind = get_kind(lab.spec.kind)
    try:
        if fault_name in COMMON_FAULTS:
            message = COMMON_FAULTS[fault_name](lab, node, FaultOptions(daemon, network))
        elif fault_name in kind.injections:
            message = kind.injections[fault_name].function()(lab, node)
        else:
            own = ", ".join([*COMMON_FAULTS, *kind.injections])
            raise HalabError(f"lab '{lab_name}' (a {kind.name} lab) has no fault '{fault_name}' (its faults: {own})")
        console.print(message)
    finally:
        lab.close()
