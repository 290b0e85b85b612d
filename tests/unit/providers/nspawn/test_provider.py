"""The command line that boots a container node (halab/providers/nspawn/provider.py), and how it is plugged in."""

from __future__ import annotations

from pathlib import Path

from halab.providers.nspawn.provider import nspawn_command
from halab.runtime import labnet
from halab.spec import load_spec


def test_a_node_runs_in_its_own_user_and_network_namespaces() -> None:
    command = nspawn_command("lab", "node1", Path("/var/lib/halab/labs/lab/nodes/node1/root"), 0x10000000)
    assert command[0] == "systemd-nspawn" and "--boot" in command
    # Root in the node is an unprivileged range on the host, its files already shifted: nspawn chowns nothing.
    assert "--private-users=268435456:65536" in command and "--private-users-ownership=off" in command
    # The node's network namespace is nspawn's own, so it belongs to the node's user namespace: without it,
    # root in the node could not manage its interfaces (IPaddr2), and nspawn mounts /proc/sys/net read-only
    # (`sysctl -w net.ipv4.ip_nonlocal_bind=1` fails; measured on systemd 252).
    assert "--private-network" in command
    assert not any(arg.startswith("--network-namespace-path") for arg in command)


def test_plumbing_plugs_every_network_and_keeps_what_was_cut() -> None:
    spec = load_spec("infrastructure")
    steps = labnet.plumbing(spec, spec.node("node1"), {"ring1"}, ["10.42.41.12"])
    lines = [" ".join(step) for step in steps]
    assert lines[0] == f"ip netns attach {labnet.node_netns('infrastructure', 'node1')} {{leader}}"
    assert sum(line.startswith("ip link add eth") for line in lines) == 3
    ports = [line for line in lines if " master " in line and line.startswith("ip -n halab-infrastructure ")]
    assert [line.split()[-1] for line in ports] == ["up", "up", "down"]  # ring1 (eth2) stays unplugged
    assert any("10.42.42.11/24 dev eth2" in line for line in lines)
    assert any("-s 10.42.41.12 -j DROP" in line for line in lines)  # the partition survives a power cut
    client = labnet.plumbing(spec, spec.node("client"), set(), [])
    assert sum(" ".join(s).startswith("ip link add eth0") for s in client) == 1 and len(client) < len(steps)
