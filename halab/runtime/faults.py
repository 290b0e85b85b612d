"""Fault injection on a live lab: cut a node's power, kill a cluster daemon, unplug a cable, and undo it.

Every fault is written to the lab's state, so `restore` knows what to undo even from another shell.
"""

from __future__ import annotations

import time
from typing import Any

from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import ssh
from halab.runtime.state import LabState, update_state
from halab.spec import LabSpec

CLUSTER_DAEMONS = ("corosync", "pacemaker")


def record(lab: Lab, node: str, fault: dict[str, object]) -> None:
    """Remember a fault halab injected into the node (``{"fault": name, ...}``), for `restore` to undo; a lab
    kind's own faults record themselves too, and name an undo (halab/spec/kinds.py Injection.undo)."""
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
    record(lab, node, {"fault": "power-off", "was_active": was_active})


def kill_daemon(lab: Lab, node: str, daemon: str = "corosync") -> None:
    if daemon not in CLUSTER_DAEMONS:
        raise HalabError(f"can only kill {' or '.join(CLUSTER_DAEMONS)}, not '{daemon}'")
    was_active = _active_daemons(lab, node)
    # pkill, not `systemctl kill`: the latter fails inside nspawn on hosts with hybrid cgroups.
    result = lab.run(node, f"pkill --signal KILL --exact {daemon}d || pkill --signal KILL --exact {daemon}")
    if not result.ok:
        raise HalabError(f"{node}: {daemon} is not running, so there is nothing to kill"
                         if result.exit_status == 1 else f"{node}: cannot kill {daemon}: {result.stderr.strip()}")
    record(lab, node, {"fault": "kill-daemon", "daemon": daemon, "was_active": was_active})


def cut_link(lab: Lab, node: str, network: str | None = None) -> None:
    net = network or lab.spec.management_network.name
    if net not in [n.name for n in lab.spec.networks]:
        raise HalabError(f"lab '{lab.name}' has no network '{net}'")
    lab.drop_connection(node)
    lab.provider().set_link(lab.state(), node, net, up=False)
    record(lab, node, {"fault": "cut-link", "network": net})


def drop_traffic(lab: Lab, node: str, peers: list[str]) -> None:
    """Drop every packet between the node and these addresses, cables plugged in (a partition)."""
    lab.provider().drop_traffic(lab.state(), node, peers, drop=True)
    record(lab, node, {"fault": "drop-traffic", "peers": peers})


def _plug_back(lab: Lab, state: LabState, node: str, faults: list[dict[str, Any]]) -> list[str]:
    """Cables and filters first, so that a node powered on again finds its cables."""
    provider, done = lab.provider(), []
    for fault in faults:
        if fault["fault"] == "cut-link":
            provider.set_link(state, node, str(fault["network"]), up=True)
            done.append(f"plugged {node} back into {fault['network']}")
        elif fault["fault"] == "drop-traffic":
            provider.drop_traffic(state, node, [str(p) for p in fault["peers"]], drop=False)
            done.append(f"{node} lets traffic from {', '.join(fault['peers'])} through again")
    return done


def _power_and_daemons(lab: Lab, state: LabState, node: str, faults: list[dict[str, Any]], timeout: float,
                       start_daemons: bool) -> list[str]:
    """Power the node on if it is off, and start the cluster daemons a fault stopped (unless ``start_daemons`` is
    False); for each fault that something else undid already (fencing powers a node on, a fenced node's systemd
    starts its daemons), say so."""
    provider, info = lab.provider(), state.node(node)
    at_boot = not lab.spec.kind_def.restore_starts_daemons  # after a power cut, the node's boot decides
    daemons = sorted({d for f in faults for d in f.get("was_active", [])
                      if not (at_boot and f["fault"] == "power-off")}, key=CLUSTER_DAEMONS.index)
    left_to_boot = sorted({d for f in faults if f["fault"] == "power-off" and at_boot for d in f.get("was_active", [])},
                          key=CLUSTER_DAEMONS.index)
    daemons = daemons if start_daemons else []
    deadline = time.monotonic() + timeout
    while True:
        done = []
        # Pacemaker may be fencing (rebooting) the node at the same moment: retry until it stays up.
        try:
            if not provider.node_running(state, node):
                provider.power_on(state, node)
                done.append(f"powered {node} on")
            elif any(f["fault"] == "power-off" for f in faults):
                done.append(f"{node} was on again already (powered on since halab cut its power: fencing powers a "
                            "node on again after cutting it)")
            ssh.wait_ready(info, min(deadline, time.monotonic() + 60))
            lab.drop_connection(node)
            running = _active_daemons(lab, node)
            stopped = [d for d in daemons if d not in running]
            if stopped:
                lab.run(node, f"systemctl start {' '.join(stopped)}", timeout=90)
                done.append(f"started {', '.join(stopped)} on {node}")
            if left_to_boot and start_daemons:
                off = [d for d in left_to_boot if d not in running]
                if off:
                    done.append(f"{' and '.join(off)} not started on {node}: in lab '{lab.base}' a node starts after "
                                "a power cut what it starts at boot (off, as the runbook wants: look at the node, "
                                "rebuild it if it must be, then systemctl start corosync pacemaker)")
            killed = sorted({str(f["daemon"]) for f in faults if f["fault"] == "kill-daemon"} & set(running))
            if killed and not stopped:
                done.append(f"{' and '.join(killed)} ran on {node} again already (restarted since: the node was "
                            "fenced and booted, or started by hand)")
            return done
        except HalabError:
            lab.drop_connection(node)
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _kind_undo(lab: Lab, node: str, faults: list[dict[str, Any]]) -> list[str]:
    """The lab kind's own faults that can be undone (kill-haproxy, stop-web, ...), each by its kind's undo."""
    injections, done = lab.spec.kind_def.injections, []
    for fault in faults:
        injection = injections.get(str(fault["fault"]))
        if injection is not None and injection.undo:
            done.append(injection.undo_function()(lab, node, fault))
    return done


def restore(lab: Lab, node: str, timeout: float = 120, start_daemons: bool = True) -> list[str]:
    """Undo every fault halab injected into the node; returns what was done, and for a fault that something else
    undid already, that it was. What a kind's fault leaves to the student (a split brain: resolving it is the
    lab's task) is not undone: the kind's injection says what remains (Injection.remains). The cluster daemons
    that ran before the fault are started again, unless ``start_daemons`` is False: a caller that rebuilds
    the node before its cluster may run again (a crashed database primary) starts them itself."""
    state = lab.state()
    state.node(node)
    faults = list(state.provider_data.get("faults", {}).get(node, []))
    done = _plug_back(lab, state, node, faults)
    done += _power_and_daemons(lab, state, node, faults, timeout, start_daemons)
    done += _kind_undo(lab, node, faults)

    def forget_undone(saved: LabState) -> None:
        # Only what was undone here: a fault recorded meanwhile (another shell) stays for the next restore.
        recorded = saved.provider_data.get("faults", {})
        left = [fault for fault in recorded.get(node, []) if fault not in faults]
        if left:
            recorded[node] = left
        else:
            recorded.pop(node, None)

    update_state(lab.name, forget_undone)
    done += [left for injection in lab.spec.kind_def.injections.values() if injection.remains
             if (left := injection.remains_function()(lab, node))]
    if not done:
        done.append(f"nothing to undo: halab injected no fault into {node} since the lab came up or since its last "
                    f"restore, and {node} runs")
    return done


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


# One line each, for `halab fault --help` (a kind's own faults have theirs in graders/<kind>/__init__.py).
COMMON_HELP = {
    "power-off": "cut NODE's power, with no shutdown (as a power failure does)",
    "kill-daemon": "SIGKILL corosync on NODE (--daemon pacemaker: Pacemaker's daemons)",
    "cut-link": "unplug NODE's cable on the management network (--network NET: another of the lab's networks)",
    "restore": "undo every fault halab injected into NODE, and say what it did",
}


def lab_faults(spec: LabSpec) -> dict[str, str]:
    """The faults of a lab, each with its line of help: the common ones (kill-daemon only where there is a
    cluster stack to kill) and its kind's own."""
    common = {name: text for name, text in COMMON_HELP.items() if name != "kill-daemon" or spec.members}
    return {**common, **{name: injection.help for name, injection in spec.kind_def.injections.items()}}


def inject(lab: Lab, fault: str, node: str, daemon: str = "corosync", network: str | None = None) -> str:
    """Do one fault of the table on the node; returns the sentence to show."""
    lab.state().node(node)
    if daemon not in CLUSTER_DAEMONS:
        raise HalabError(f"can only kill {' or '.join(CLUSTER_DAEMONS)}, not '{daemon}'")
    spec = lab.spec
    kind = spec.kind_def
    offered = lab_faults(spec)
    if fault in COMMON_FAULTS and fault in offered:
        return COMMON_FAULTS[fault](lab, node, daemon, network)
    if fault in kind.injections:
        return kind.injections[fault].function()(lab, node)
    raise HalabError(f"lab '{lab.base}' (a {kind.name} lab) has no fault '{fault}' (its faults: {', '.join(offered)}; "
                     f"see: halab fault {lab.base} --help)")
