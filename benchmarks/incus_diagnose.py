"""What to look at when an incus lab's node is not reachable from the front host: printed by
benchmarks/cluster.py --keep-failed for a lab that did not come up, while it is still there.

Every layer between the front host and the node's sshd, each seen from where it lives: the front host's VXLAN
link into the lab's management network (neighbours, forwarding entries, a TCP connect to port 22), the test
cluster's segment (the members' bridge: IGMP snooping and its multicast database), the member's side of the
tunnel (the bridge's VXLAN device, the groups its uplink joined, its forwarding entries), and the node itself
(its addresses from systemd-networkd, neighbours, systemd's and sshd's state, listening sockets, load).
Commands run with ``incus exec`` (the node) and ``nsenter`` into the member's network namespace; each
command's output is printed as it is, nothing is judged here.
"""

from __future__ import annotations

import socket
import subprocess

from halab.lab import Lab
from halab.providers.incus import network
from halab.providers.incus.localcluster import BRIDGE, LocalCluster, Member
from halab.providers.incus.provider import instance_name
from halab.runtime import labnet
from halab.runtime.state import load_state

NODE_COMMANDS = [
    "cat /proc/loadavg; uptime -p",
    "ip -brief address; ip -brief link",
    "ip neigh show",
    "networkctl list --no-pager; networkctl status eth0 --no-pager | head -20",
    "systemctl is-system-running; systemctl --failed --no-pager --no-legend",
    "systemctl status ssh --no-pager | head -15",
    "ss -ltnp | grep ':22 ' || echo 'nothing listens on port 22'",
    "journalctl -b --no-pager -u ssh -u systemd-networkd | tail -25",
    "systemd-analyze blame --no-pager | head -8",
]


def _shell(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        return "(timed out after 60 s)"
    return (result.stdout + result.stderr).rstrip() or f"(no output, exit {result.returncode})"


def _section(title: str, text: str) -> None:
    print(f"  --- {title}")
    for line in text.splitlines():
        print(f"      {line}")


def _tcp(address: str, port: int = 22) -> str:
    try:
        with socket.create_connection((address, port), timeout=3) as conn:
            conn.settimeout(3)
            return f"connected; banner {conn.recv(64)!r}"
    except OSError as exc:
        return f"no connection: {exc}"


def diagnose(cluster: LocalCluster, lab: Lab) -> None:
    """Print what every layer says about each node of ``lab`` (a lab that failed to come up, kept)."""
    state = load_state(lab.name)  # not lab.state(): the lab is not "up"
    if state is None:
        print(f"\n== {lab.name}: no state left to examine")
        return
    spec = state.spec()
    project = str(state.provider_data.get("project"))
    where = str(state.provider_data.get("member", ""))
    member: Member = next((m for m in cluster.members if m.name == where), cluster.members[0])
    print(f"\n== diagnosis of {lab.name} (project {project}, member {where or 'not recorded'})")
    for node in state.nodes:
        print(f" {node.name} ({node.address}): TCP to port 22 from the front host: {_tcp(node.address)}")
    for index, net in enumerate(spec.networks):
        if not net.host_joins:
            continue
        link, bridge = labnet.host_link(lab.name, index), network.network_name(lab.name, index)
        tunnel = f"{bridge}-{network.TUNNEL}"
        print(f" network {net.name}: front link {link}, bridge {bridge}, vni {network.vni(lab.name, index)}, "
              f"group {network.group(lab.name, index)}")
        _section(f"front host: ip -d link show {link}", _shell(["ip", "-d", "link", "show", link]))
        _section(f"front host: neighbours on {link}", _shell(["ip", "neigh", "show", "dev", link]))
        _section(f"front host: fdb of {link}", _shell(["bridge", "fdb", "show", "dev", link]))
        _section(f"front host: multicast groups on {BRIDGE}", _shell(["ip", "maddr", "show", "dev", BRIDGE]))
        snooping = _shell(["cat", f"/sys/class/net/{BRIDGE}/bridge/multicast_snooping",
                           f"/sys/class/net/{BRIDGE}/bridge/multicast_querier"])
        _section(f"{BRIDGE}: multicast_snooping, multicast_querier", snooping)
        _section(f"{BRIDGE}: multicast database", _shell(["bridge", "mdb", "show", "dev", BRIDGE]))
        holder = str(member.pid("holder"))
        inside = ["nsenter", "-t", holder, "-n"]
        _section(f"{member.name}: ip -d link show {tunnel}", _shell([*inside, "ip", "-d", "link", "show", tunnel]))
        _section(f"{member.name}: groups joined on eth0", _shell([*inside, "ip", "maddr", "show", "dev", "eth0"]))
        _section(f"{member.name}: fdb of {tunnel}", _shell([*inside, "bridge", "fdb", "show", "dev", tunnel]))
        _section(f"{member.name}: ports of {bridge}", _shell([*inside, "bridge", "link", "show", "master", bridge]))
    for node in state.nodes:
        name = instance_name(lab.name, node.name)
        print(f" node {node.name} ({name}, {node.address})")
        incus = ["incus", "--project", project]
        _section("engine: state", _shell([*incus, "list", name, "--format", "csv", "--columns", "nsL"],
                                         member.env()))
        for command in NODE_COMMANDS:
            _section(command, _shell([*incus, "exec", name, "--", "sh", "-c", command], member.env()))
