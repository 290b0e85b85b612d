"""The command line that boots a container node (halab/providers/nspawn.py)."""

from __future__ import annotations

from pathlib import Path

from halab.providers.nspawn import nspawn_command


def test_a_node_joins_its_own_namespace_and_may_set_its_network_sysctls() -> None:
    command = nspawn_command("lab", "node1", Path("/var/lib/halab/labs/lab/nodes/node1/root"))
    assert command[0] == "systemd-nspawn" and "--boot" in command
    assert "--network-namespace-path=/run/netns/halab-lab_node1" in command
    # Without --private-network, nspawn mounts /proc/sys/net read-only: `sysctl -w net.ipv4.ip_nonlocal_bind=1`
    # fails with "permission denied", and systemd-sysctl skips /etc/sysctl.d at boot (measured on systemd 252).
    assert "--private-network" in command
