"""A lab's switches on an Incus cluster: one managed bridge per lab network, and the front host's cable.

All of a lab's nodes run on one member, so each lab network is a managed ``bridge`` of the cluster (it exists
on every member; only the lab's member has ports on it) with no address, no DHCP, no NAT and no firewall rules
of the engine's: halab gives nodes their addresses, and the bridge is a switch, not a router. Lab networks
reach nothing but each other's nodes.

The front host (where halab, its graders and the lab's power switch run) joins a lab's management network the
way nspawn's host joins it: with one link holding the host's address in the lab network, here a VXLAN link
(``labnet.host_link``) to the member that runs the lab, matched on the member's side by the bridge's own
tunnel (Incus' ``tunnel.f.*`` keys: ``local`` is each member's address, ``remote`` the front host). So
graders SSH to nodes, request the floating IP, and nodes reach their power switch, all at the addresses the
lab spec gives, across hosts, and the host's firewall chain per lab link (hostfirewall.py) applies as it does
for container labs. Chosen over proxy devices (they forward ports, not a floating IP that moves between
nodes, and fencing would need one per node and direction) and over routed lab networks (members would route
between labs, and every lab subnet would need a route on the front host and on the members).
"""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlparse

from halab import hostfirewall, labnet, netns
from halab.errors import HalabError
from halab.providers.incus.api import Client, EngineError
from halab.spec import LabSpec

TUNNEL = "f"  # the tunnel's name in the bridge's keys; bridge name + "-f" must fit in 15 characters
VXLAN_PORT = 4789
MTU = 1400  # Incus' default for a bridge with tunnels; VXLAN's 50 bytes fit under a 1500-byte underlay


def network_name(lab: str, index: int) -> str:
    return labnet.bridge(lab, index)


def vni(lab: str, index: int) -> int:
    """The VXLAN id of a lab network, from its names: the same on the front host and the members."""
    return int(hashlib.sha1(f"{lab}/{index}".encode()).hexdigest()[:6], 16) or 1


def member_addresses(client: Client) -> dict[str, str]:
    """Member name -> its address, for every member of the cluster."""
    try:
        members = client.get("/1.0/cluster/members?recursion=1")
    except EngineError as exc:
        if exc.status == 404:
            raise HalabError("the Incus engine is not clustered; halab's incus provider needs a cluster, even of "
                             "one member (incus cluster enable NAME)") from None
        raise
    return {m["server_name"]: str(urlparse(m["url"]).hostname) for m in members}


def create(client: Client, spec: LabSpec, front_address: str) -> list[str]:
    """Every lab network as a bridge on every member (each member's tunnel end has its own address, so the
    network is first made pending on each member, then created: Incus' way for member-specific keys)."""
    made = []
    addresses = member_addresses(client)
    for index, network in enumerate(spec.networks):
        name = network_name(spec.name, index)
        config = {"ipv4.address": "none", "ipv6.address": "none", "ipv4.nat": "false", "ipv4.firewall": "false",
                  "ipv6.firewall": "false", "bridge.mtu": str(MTU)}
        if network.host_joins:
            config.update({f"tunnel.{TUNNEL}.protocol": "vxlan", f"tunnel.{TUNNEL}.id": str(vni(spec.name, index)),
                           f"tunnel.{TUNNEL}.remote": front_address, f"tunnel.{TUNNEL}.port": str(VXLAN_PORT),
                           f"tunnel.{TUNNEL}.ttl": "16"})
        for member, address in addresses.items():
            local = {f"tunnel.{TUNNEL}.local": address} if network.host_joins else {}
            client.request("POST", "/1.0/networks", target=member,
                           body={"name": name, "type": "bridge", "config": local})
        made.append(name)
        client.request("POST", "/1.0/networks", body={"name": name, "type": "bridge", "config": config,
                                                      "description": f"halab lab {spec.name}: {network.name}"})
    return made


def delete(client: Client, lab: str, count: int = 16) -> None:
    """Remove the lab's networks (pending ones of a failed create too); safe when they are gone."""
    for index in range(count):
        try:
            client.request("DELETE", f"/1.0/networks/{network_name(lab, index)}")
        except EngineError as exc:
            if exc.status != 404:
                raise HalabError(f"cannot remove the lab network {network_name(lab, index)}: {exc}") from None


def join_front(spec: LabSpec, member_address: str, front_address: str) -> None:
    """The front host's cable into the lab's management network(s), to the member that runs the lab."""
    for index, network in enumerate(spec.networks):
        if not network.host_joins:
            continue
        link = labnet.host_link(spec.name, index)
        netns.delete_link(link)
        netns.ip("link", "add", link, "type", "vxlan", "id", str(vni(spec.name, index)), "remote",
                      member_address, "local", front_address, "dstport", str(VXLAN_PORT), "ttl", "16")
        netns.ip("link", "set", link, "mtu", str(MTU))
        netns.ip("address", "add", f"{network.host_address}/{network.subnet.prefixlen}", "dev", link)
        netns.ip("link", "set", link, "up")
        hostfirewall.guard(link, str(network.host_address))


def front_joined(spec: LabSpec) -> bool:
    return all(netns.link_exists(labnet.host_link(spec.name, i)) for i, n in enumerate(spec.networks) if n.host_joins)


def check_front_address(front_address: str) -> None:
    """The front host must hold the address the members send tunnel traffic to."""
    shown = netns.ip("-j", "address", "show").stdout
    if f'"{ipaddress.IPv4Address(front_address)}"' not in shown:
        raise HalabError(f"front_address {front_address} (the Incus config) is not an address of this host")
