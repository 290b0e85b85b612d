"""Network namespaces, bridges and veth pairs for lab networks, driven through iproute2.

Layout for a lab (see providers/nspawn.py): one namespace for the lab's switch, holding a bridge per lab
network; one namespace per node, with one veth per network whose other end is a port of that bridge; and
one veth from the host's namespace into the management bridge, so the host can SSH to the nodes.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

from halab.errors import HalabError

NETNS_DIR = Path("/run/netns")


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = ["ip", *(["-n", netns] if netns else []), *args]
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise HalabError(f"'{' '.join(command)}' failed: {result.stderr.strip()}")
    return result


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def list_netns(prefix: str) -> list[str]:
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def add_netns(name: str) -> None:
    if netns_exists(name):
        delete_netns(name)
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)


def delete_netns(name: str) -> None:
    """Deleting a namespace also deletes the veths in it, and with them their peers elsewhere."""
    if netns_exists(name):
        ip("netns", "delete", name, check=False)
    if netns_exists(name):
        # `ip netns delete` can leave the file behind when the mount is busy; unmount it and remove it.
        subprocess.run(["umount", "--lazy", str(NETNS_DIR / name)], capture_output=True)
        (NETNS_DIR / name).unlink(missing_ok=True)


def link_exists(name: str, netns: str | None = None) -> bool:
    return ip("link", "show", "dev", name, netns=netns, check=False).returncode == 0


def delete_link(name: str, netns: str | None = None) -> None:
    if link_exists(name, netns):
        ip("link", "delete", name, netns=netns, check=False)


def add_bridge(name: str, netns: str) -> None:
    ip("link", "add", name, "type", "bridge", netns=netns)
    # Forward at once: the default 15 s STP forward delay would hold back every node's first packets.
    ip("link", "set", name, "type", "bridge", "forward_delay", "0", "stp_state", "0", netns=netns)
    ip("link", "set", name, "up", netns=netns)


def add_port(
    bridge_netns: str, bridge: str, port: str, peer: str, peer_netns: str | None, address: str | None
) -> None:
    """A veth pair: ``port`` becomes a port of ``bridge``; ``peer`` (with ``address``) lives in
    ``peer_netns`` (None: the host's own namespace)."""
    # Made in the peer's namespace, with the bridge end sent straight into the bridge's namespace.
    ip("link", "add", peer, "type", "veth", "peer", "name", port, "netns", bridge_netns, netns=peer_netns)
    ip("link", "set", port, "master", bridge, "up", netns=bridge_netns)
    if address:
        ip("address", "add", address, "dev", peer, netns=peer_netns)
    ip("link", "set", peer, "up", netns=peer_netns)


def set_link_state(name: str, up: bool, netns: str | None = None) -> None:
    ip("link", "set", name, "up" if up else "down", netns=netns)


def routes_overlapping(subnet: ipaddress.IPv4Network, ignore_dev: set[str]) -> list[str]:
    """Host routes that overlap ``subnet`` (a lab on it would be unreachable or hijack traffic)."""
    result = ip("-json", "route", "show", check=False)
    if result.returncode != 0:
        return []
    clashes = []
    for route in json.loads(result.stdout or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or route.get("dev") in ignore_dev:
            continue
        try:
            network = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if isinstance(network, ipaddress.IPv4Network) and network.overlaps(subnet):
            clashes.append(f"{dst} dev {route.get('dev', '?')}")
    return clashes
