"""A lab's switches on an Incus cluster: one managed bridge per lab network, and the front host's cable.

All of a lab's nodes run on one member, so each lab network is a managed ``bridge`` of the cluster (it exists
on every member; only the lab's member has ports on it) with no address, no DHCP, no NAT and no firewall rules
of the engine's: halab gives nodes their addresses, and the bridge is a switch, not a router. Lab networks
reach nothing but each other's nodes.

The front host (where halab, its graders and the lab's power switch run) joins a lab's management network the
way nspawn's host joins it: with one link holding the host's address in the lab network, here a VXLAN link
(``labnet.host_link``) on the lab network's own multicast group, which the bridge's tunnel (Incus' bridge keys
``tunnel.f.*``: protocol vxlan, the same id and group) joins on every member. So graders SSH to nodes, request
the floating IP, and nodes reach their power switch, all at the addresses the lab spec gives, across hosts, and
the host's firewall chain per lab link (halab/host/firewall.py) applies as it does for container labs. Multicast,
because Incus 6.0 has no member-specific tunnel keys (a unicast tunnel needs each member's own ``local``
address): the front host and the members share a layer-2 segment, or a network that routes multicast; the
members' tunnel interface is the one of their default route. Chosen over proxy devices (they forward ports,
not a floating IP that moves between nodes, and fencing would need one per node and direction) and over
routed lab networks (members would route between labs, and every lab subnet would need routes on the front
host and the members).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from urllib.parse import urlparse

from halab.errors import HalabError
from halab.host import firewall, netns
from halab.providers.incus.api import Client, EngineError
from halab.runtime import labnet
from halab.spec import LabSpec

TUNNEL = "f"  # the tunnel's name in the bridge's keys; bridge name + "-f" must fit in 15 characters
VXLAN_PORT = 4789
MTU = 1400  # Incus' default for a bridge with tunnels; VXLAN's 50 bytes fit under a 1500-byte underlay


def network_name(lab: str, index: int) -> str:
    return labnet.bridge(lab, index)


def vni(lab: str, index: int) -> int:
    """The VXLAN id of a lab network, from its names: the same on the front host and the members."""
    return int(hashlib.sha1(f"{lab}/{index}".encode()).hexdigest()[:6], 16) or 1


def group(lab: str, index: int) -> str:
    """The lab network's multicast group (administratively scoped), so that a lab's floods reach only the
    hosts that joined its group."""
    value = vni(lab, index)
    return f"239.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


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


def create(client: Client, spec: LabSpec) -> list[str]:
    """Every lab network as a bridge on every member: made pending on each member first, then created (Incus'
    way in a cluster)."""
    made = []
    members = member_addresses(client)
    for index, network in enumerate(spec.networks):
        name = network_name(spec.name, index)
        config = {"ipv4.address": "none", "ipv6.address": "none", "ipv4.nat": "false", "ipv4.firewall": "false",
                  "ipv6.firewall": "false", "bridge.mtu": str(MTU)}
        if network.host_joins:
            config.update({f"tunnel.{TUNNEL}.protocol": "vxlan", f"tunnel.{TUNNEL}.id": str(vni(spec.name, index)),
                           f"tunnel.{TUNNEL}.group": group(spec.name, index),
                           f"tunnel.{TUNNEL}.port": str(VXLAN_PORT)})
        for member in members:
            client.request("POST", "/1.0/networks", target=member, body={"name": name, "type": "bridge", "config": {}})
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


def join_front(spec: LabSpec, front_address: str) -> None:
    """The front host's cable into the lab's management network(s)."""
    device = front_device(front_address)
    for index, network in enumerate(spec.networks):
        if not network.host_joins:
            continue
        link = labnet.host_link(spec.name, index)
        netns.delete_link(link)
        netns.ip("link", "add", link, "type", "vxlan", "id", str(vni(spec.name, index)), "group",
                 group(spec.name, index), "dev", device, "dstport", str(VXLAN_PORT))
        netns.ip("link", "set", link, "mtu", str(MTU))
        netns.ip("address", "add", f"{network.host_address}/{network.subnet.prefixlen}", "dev", link)
        netns.ip("link", "set", link, "up")
        firewall.guard(link, str(network.host_address))


def front_joined(spec: LabSpec) -> bool:
    return all(netns.link_exists(labnet.host_link(spec.name, i)) for i, n in enumerate(spec.networks) if n.host_joins)


def front_device(front_address: str) -> str:
    """The front host's interface that holds ``front_address`` (where the lab tunnels go out)."""
    links = json.loads(netns.ip("-j", "address", "show").stdout or "[]")
    wanted = str(ipaddress.IPv4Address(front_address))
    for link in links:
        if any(info.get("local") == wanted for info in link.get("addr_info", [])):
            return str(link["ifname"])
    raise HalabError(f"front_address {front_address} (the Incus config) is not an address of this host")
