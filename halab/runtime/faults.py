"""Fault injection on a live lab: cut a node's power, kill a cluster daemon, unplug a cable, and undo it.

Every fault is written to the lab's state, so `restore` knows what to undo even from another shell.
"""

from __future__ import annotations

import time

from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import ssh
from halab.runtime.state import LabState, update_state
from halab.spec.kinds import get_kind, known_kinds

CLUSTER_DAEMONS = ("corosync", "pacemaker")


def _record(lab: Lab, node: str, fault: dict[str, object]) -> None:
    lab.state()  # a clear error if the lab is not up

    def add(state: LabState) -> None:
        state.provider_data.setdefault("faults", {}).setdefault(node, []).append(fault)

    update_state(lab.name, add)


def _active_daemons(lab: Lab, node: str) -> list[str]:
    """Cluster daemons running now, so that `restore` can bring back exactly those."""
    try:
        states = lab.run(node, f"systemctl is-active {' '.join(CLUSTER_DAEMONS)}", timeout=10).stdout.split()
    except HalabError:
        return []
    return [d for d, s in zip(CLUSTER_DAEMONS, states, strict=False) if s == "active"]


def power_off(lab: Lab, node: str) -> None:
    state = lab.state()
    state.node(node)
    was_active = _active_daemons(lab, node)
    lab.drop_connection(node)
    lab.provider().power_off(state, node)
    _record(lab, node, {"fault": "power-off", "was_active": was_active})


def kill_daemon(lab: Lab, node: str, daemon: str = "corosync") -> None:
    if daemon not in CLUSTER_DAEMONS:
        raise HalabError(f"can only kill {' or '.join(CLUSTER_DAEMONS)}, not '{daemon}'")
    was_active = _active_daemons(lab, node)
    # pkill, not `systemctl kill`: the latter fails inside nspawn on hosts with hybrid cgroups.
    result = lab.run(node, f"pkill --signal KILL --exact {daemon}d || pkill --signal KILL --exact {daemon}")
    if not result.ok:
        raise HalabError(f"{node}: {daemon} is not running, so there is nothing to kill"
                         if result.exit_status == 1 else f"{node}: cannot kill {daemon}: {result.stderr.strip()}")
    _record(lab, node, {"fault": "kill-daemon", "daemon": daemon, "was_active": was_active})


def cut_link(lab: Lab, node: str, network: str | None = None) -> None:
    net = network or lab.spec.management_network.name
    if net not in [n.name for n in lab.spec.networks]:
        raise HalabError(f"lab '{lab.name}' has no network '{net}'")
    lab.drop_connection(node)
    lab.provider().set_link(lab.state(), node, net, up=False)
    _record(lab, node, {"fault": "cut-link", "network": net})


def drop_traffic(lab: Lab, node: str, peers: list[str]) -> None:
    """Drop every packet between the node and these addresses, cables plugged in (a partition)."""
    lab.provider().drop_traffic(lab.state(), node, peers, drop=True)
    _record(lab, node, {"fault": "drop-traffic", "peers": peers})


def restore(lab: Lab, node: str, timeout: float = 120) -> list[str]:
    """Undo every recorded fault of the node; returns what was done."""
    state = lab.state()
    info = state.node(node)
    provider = lab.provider()
    done = []
    faults = state.provider_data.get("faults", {}).get(node, [])
    for fault in faults:
        if fault["fault"] == "cut-link":
            provider.set_link(state, node, str(fault["network"]), up=True)
            done.append(f"plugged {node} back into {fault['network']}")
        elif fault["fault"] == "drop-traffic":
            provider.drop_traffic(state, node, [str(p) for p in fault["peers"]], drop=False)
            done.append(f"{node} lets traffic from {', '.join(fault['peers'])} through again")
    daemons = sorted({d for f in faults for d in f.get("was_active", [])}, key=CLUSTER_DAEMONS.index)
    deadline = time.monotonic() + timeout
    while True:
        # Pacemaker may be fencing (rebooting) the node at the same moment: retry until it stays up.
        try:
            if not provider.node_running(state, node):
                provider.power_on(state, node)
                done.append(f"powered {node} on")
            ssh.wait_ready(info, min(deadline, time.monotonic() + 60))
            lab.drop_connection(node)
            stopped = [d for d in daemons if d not in _active_daemons(lab, node)]
            if stopped:
                lab.run(node, f"systemctl start {' '.join(stopped)}", timeout=90)
                done.append(f"started {', '.join(stopped)} on {node}")
            break
        except HalabError:
            lab.drop_connection(node)
            if time.monotonic() > deadline:
                raise
            time.sleep(1)

    def forget_undone(saved: LabState) -> None:
        # Only what was undone here: a fault recorded meanwhile (another shell) stays for the next restore.
        recorded = saved.provider_data.get("faults", {})
        left = [fault for fault in recorded.get(node, []) if fault not in faults]
        if left:
            recorded[node] = left
        else:
            recorded.pop(node, None)

    update_state(lab.name, forget_undone)
    return done or [f"{node} had no fault to undo"]


# -- the table `halab fault` (and the lab service) dispatch on ---------------------------------------------
def _power_off_fault(lab: Lab, node: str, _daemon: str, _network: str | None) -> str:
    power_off(lab, node)
    return f"{node} is powered off (no shutdown). Undo: halab fault {lab.base} restore {node}"


def _kill_daemon_fault(lab: Lab, node: str, daemon: str, _network: str | None) -> str:
    kill_daemon(lab, node, daemon)
    return f"killed {daemon} on {node} (SIGKILL). Undo: halab fault {lab.base} restore {node}"


def _cut_link_fault(lab: Lab, node: str, _daemon: str, network: str | None) -> str:
    cut_link(lab, node, network)
    return f"{node}'s cable is unplugged. Undo: halab fault {lab.base} restore {node}"


def _restore_fault(lab: Lab, node: str, _daemon: str, _network: str | None) -> str:
    return "\n".join(restore(lab, node))


# Every lab has these. `restore` undoes every fault of the node except a kind's own (a split brain is for
# the student to resolve); a kind adds its own in graders/<kind>/__init__.py (``injections``).
COMMON_FAULTS = {"power-off": _power_off_fault, "kill-daemon": _kill_daemon_fault, "cut-link": _cut_link_fault,
                 "restore": _restore_fault}


def fault_names() -> list[str]:
    kind_faults = {name for kind in known_kinds() for name in get_kind(kind).injections}
    return list(COMMON_FAULTS) + sorted(kind_faults - set(COMMON_FAULTS))


def inject(lab: Lab, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str:
    """Do one fault of the table on the node; returns the sentence to show."""
    lab.state().node(node)
    if daemon not in CLUSTER_DAEMONS:
        raise HalabError(f"can only kill {' or '.join(CLUSTER_DAEMONS)}, not '{daemon}'")
    kind = lab.spec.kind_def
    if fault in COMMON_FAULTS:
        return COMMON_FAULTS[fault](lab, node, daemon, network)
    if fault in kind.injections:
        return kind.injections[fault].function()(lab, node)
    own = ", ".join([*COMMON_FAULTS, *kind.injections])
    raise HalabError(f"lab '{lab.base}' (a {kind.name} lab) has no fault '{fault}' (its faults: {own})")
