"""A lab's private network: the switch namespace with one bridge per lab network, and the host's uplink.

Names are derived from the lab name so that `down` (or the next `up` after a crash) can find and remove
everything even when the state file is gone, and so that two labs never share a name.
"""

from __future__ import annotations

import hashlib

from halab import hostfirewall, netns
from halab.errors import HalabError
from halab.spec import LabSpec, Network, Node


def lab_netns(lab: str) -> str:
    return f"halab-{lab}"


def node_netns(lab: str, node: str) -> str:
    return f"halab-{lab}_{node}"  # "_" cannot occur in lab names


def _tag(lab: str) -> str:
    # Interface names are limited to 15 characters; a short hash of the lab name keeps them unique.
    return hashlib.sha1(lab.encode()).hexdigest()[:6]


def host_link(lab: str, net_index: int) -> str:
    return f"hl{_tag(lab)}n{net_index}"


def bridge(lab: str, net_index: int) -> str:
    # Unique per lab, because VM labs share one switch namespace: libvirtd's.
    return f"hl{_tag(lab)}b{net_index}"


def host_port(lab: str, net_index: int) -> str:
    return f"hl{_tag(lab)}p{net_index}"


def node_port(node_index: int, net_index: int) -> str:
    return f"p{node_index}n{net_index}"


def node_link(net_index: int) -> str:
    return f"eth{net_index}"


def check_free(spec: LabSpec, other_labs: dict[str, LabSpec]) -> None:
    """Refuse to create a network that would clash with another lab or with the host's own routes."""
    ours = {host_link(spec.name, i) for i in range(len(spec.networks))}
    for network in spec.networks:
        for lab, other in other_labs.items():
            for theirs in other.networks:
                if theirs.subnet.overlaps(network.subnet):
                    raise HalabError(
                        f"subnet {network.subnet} of lab '{spec.name}' is in use by lab '{lab}' "
                        f"({theirs.subnet}); run: halab down {lab}"
                    )
        clashes = netns.routes_overlapping(network.subnet, ignore_dev=ours)
        if clashes and network.host_joins:
            raise HalabError(
                f"subnet {network.subnet} of lab '{spec.name}' is already routed on this host "
                f"({clashes[0]}); free it or change the lab's subnet"
            )


def create(spec: LabSpec, switch: str | None = None) -> None:
    """The lab's bridges and the host's uplink into the management network. The bridges live in the lab's
    own switch namespace, or in ``switch`` (libvirtd's namespace, for VM labs)."""
    if switch is None:
        switch = lab_netns(spec.name)
        netns.add_netns(switch)
    for index, network in enumerate(spec.networks):
        netns.delete_link(bridge(spec.name, index), switch)  # stale, from a crashed run
        netns.add_bridge(bridge(spec.name, index), switch)
        if network.host_joins:
            netns.delete_link(host_link(spec.name, index))
            address = f"{network.host_address}/{network.subnet.prefixlen}"
            netns.add_port(switch, bridge(spec.name, index), host_port(spec.name, index),
                           host_link(spec.name, index), None, address)
            hostfirewall.guard(host_link(spec.name, index), str(network.host_address))


def attach_node(spec: LabSpec, node: Node) -> str:
    """A namespace for one node, plugged into every lab network; returns the namespace's name."""
    name = node_netns(spec.name, node.name)
    netns.add_netns(name)
    node_index = spec.nodes.index(node)
    for index, network in spec.networks_of(node):
        address = f"{node.addresses[network.name]}/{network.subnet.prefixlen}"
        if not network.node_bridge:
            netns.add_port(lab_netns(spec.name), bridge(spec.name, index), node_port(node_index, index),
                           node_link(index), name, address)
            continue
        # A hypervisor's side of the VM network: its NIC is a port of a bridge that holds its address, so
        # the VMs it runs (their taps join the bridge) are on the lab segment as if cabled to the switch.
        netns.add_port(lab_netns(spec.name), bridge(spec.name, index), node_port(node_index, index),
                       node_link(index), name, None)
        netns.add_bridge(network.node_bridge, name)
        netns.ip("link", "set", node_link(index), "master", network.node_bridge, netns=name)
        netns.ip("address", "add", address, "dev", network.node_bridge, netns=name)
    return name


def address_link(network: Network, net_index: int) -> str:
    """The interface inside a node that holds its address on a network: its NIC, or its bridge."""
    return network.node_bridge or node_link(net_index)


def reset_node(spec: LabSpec, node: Node) -> None:
    """What a power cut does to a NIC: addresses added at run time (a floating IP) are gone. The node's
    namespace outlives its container, so halab has to do this itself."""
    name = node_netns(spec.name, node.name)
    for index, network in spec.networks_of(node):
        link = address_link(network, index)
        netns.ip("address", "flush", "dev", link, netns=name, check=False)
        netns.ip("address", "add", f"{node.addresses[network.name]}/{network.subnet.prefixlen}",
                 "dev", link, netns=name, check=False)


def set_cable(lab: str, node_index: int, net_index: int, plugged: bool) -> None:
    """Unplug a node's cable at the switch side: the node sees its link go down, as with a real cable."""
    netns.set_link_state(node_port(node_index, net_index), plugged, netns=lab_netns(lab))


def destroy(lab: str, switch: str | None = None, networks: int = 16) -> None:
    """Remove every namespace, bridge and host link of the lab; safe when some or all are already gone."""
    for name in netns.list_netns(f"{lab_netns(lab)}_"):
        netns.delete_netns(name)
    netns.delete_netns(lab_netns(lab))
    for index in range(networks):
        if switch and netns.netns_exists(switch):
            netns.delete_link(bridge(lab, index), switch)
            netns.delete_link(host_port(lab, index), switch)
        netns.delete_link(host_link(lab, index))
        hostfirewall.unguard(host_link(lab, index))
