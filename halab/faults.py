"""Fault injection on a live lab: cut a node's power, kill a cluster daemon, unplug a cable, and undo it.

Every fault is written to the lab's state, so `restore` knows what to undo even from another shell.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from halab import ssh
from halab.errors import HalabError
from halab.lab import Lab
from halab.state import LabState, update_state

FAULTS = ("power-off", "kill-daemon", "cut-link", "split-brain", "restore")
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


def _must(lab: Lab, node: str, command: str, timeout: float = 60) -> str:
    result = lab.run(node, command, timeout=timeout)
    if not result.ok:
        raise HalabError(f"{node}: '{command}' failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return result.stdout


def _wait(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise HalabError(f"timed out waiting for {what}")
        time.sleep(1)


def primary_with_data(lab: Lab, node: str) -> bool:
    s = lab.spec.settings
    role = lab.run(node, f"drbdadm role {s['drbd_resource']}").stdout.split("/")[0]
    return role == "Primary" and lab.run(node, f"mountpoint -q {s['mount_point']}").ok


def _write_alone(lab: Lab, node: str, marker: str) -> None:
    """Write a file on the node's copy of the data while it is cut off from its peer, as Primary."""
    s = lab.spec.settings
    if primary_with_data(lab, node):
        _must(lab, node, f"date > {s['mount_point']}/{marker} && sync")
    else:
        _must(lab, node, f"drbdadm primary {s['drbd_resource']} && mount {s['drbd_device']} /mnt && "
                         f"date > /mnt/{marker} && umount /mnt && drbdadm secondary {s['drbd_resource']}")


def split_brain(lab: Lab, victim: str) -> dict[str, object]:
    """Make a DRBD split brain the way it happens: the replication link breaks, and both sides write as
    Primary. Pacemaker is put in maintenance mode first, so that it neither fences nor 'repairs' anything:
    resolving the split brain is the student's task. ``victim`` is the node whose writes should be
    discarded when the student resolves it."""
    s = lab.spec.settings
    if "drbd_resource" not in s:
        raise HalabError(f"lab '{lab.name}' has no DRBD resource to split")
    lab.state().node(victim)
    resource = s["drbd_resource"]
    survivor = next(n for n in lab.spec.node_names if n != victim)
    if not any(primary_with_data(lab, n) for n in (victim, survivor)):
        raise HalabError(f"a split brain needs a DRBD Primary with {s['mount_point']} mounted; solve the lab first")
    tag = uuid.uuid4().hex[:8]
    markers = {"survivor": f"halab-split-brain-{survivor}-{tag}", "victim": f"halab-split-brain-{victim}-{tag}"}
    _must(lab, survivor, "crm configure property maintenance-mode=true")
    cut_link(lab, victim, "repl")
    _wait(f"{victim} to lose its peer", lambda: lab.run(survivor, f"drbdadm cstate {resource}").stdout.strip()
          != "Connected", timeout=60)
    _write_alone(lab, victim, markers["victim"])
    _write_alone(lab, survivor, markers["survivor"])
    lab.provider().set_link(lab.state(), victim, "repl", up=True)
    record = {"victim": victim, "survivor": survivor, "markers": markers}

    def note_split_brain(state: LabState) -> None:
        state.provider_data.get("faults", {}).pop(victim, None)
        state.provider_data["split_brain"] = record

    update_state(lab.name, note_split_brain)
    _wait("DRBD to detect the split brain", lambda: "StandAlone" in lab.run(victim, f"drbdadm cstate {resource}").stdout
          or "StandAlone" in lab.run(survivor, f"drbdadm cstate {resource}").stdout, timeout=60)
    return record
