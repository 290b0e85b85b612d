"""A lab's private network: the switch namespace with one bridge per lab network, and the host's uplink.

Names are derived from the lab name so that `down` (or the next `up` after a crash) can find and remove
everything even when the state file is gone, and so that two labs never share a name.
"""

from __future__ import annotations

import hashlib

from halab.errors import HalabError
from halab.host import firewall, netns
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
            firewall.guard(host_link(spec.name, index), str(network.host_address))


def ensure(spec: LabSpec) -> None:
    """The lab's switch as create() makes it, made again if it is gone (the host rebooted: namespaces,
    bridges and the host's links do not survive it, the lab's state and its nodes' disks do)."""
    if not netns.netns_exists(lab_netns(spec.name)) or not netns.link_exists(bridge(spec.name, 0),
                                                                            lab_netns(spec.name)):
        create(spec)


def plumbing(spec: LabSpec, node: Node, unplugged: set[str], dropped: list[str]) -> list[list[str]]:
    """The commands (run on the host, ``{leader}`` standing for the node's init) that plug a container node,
    once it runs, into every lab network it is on: a veth pair per network, its node end ``eth<N>`` made
    straight in the node's own network namespace (which belongs to the node's user namespace) and its switch
    end a port of the network's bridge. The namespace gets a name (``ip netns attach``; a stale one from an
    earlier boot must be gone: unplug_node), for halab's own tools. Cables in ``unplugged`` stay unplugged,
    and traffic to and from the ``dropped`` addresses stays dropped (a partition), as they were when the
    node lost its power."""
    name, switch = node_netns(spec.name, node.name), lab_netns(spec.name)
    node_index = spec.nodes.index(node)
    steps = [["ip", "netns", "attach", name, "{leader}"], ["ip", "-n", name, "link", "set", "lo", "up"]]
    for index, network in spec.networks_of(node):
        port, link = node_port(node_index, index), node_link(index)
        address = f"{node.addresses[network.name]}/{network.subnet.prefixlen}"
        steps += [["ip", "link", "add", link, "netns", "{leader}", "type", "veth", "peer", "name", port,
                   "netns", switch],
                  ["ip", "-n", switch, "link", "set", port, "master", bridge(spec.name, index),
                   "down" if network.name in unplugged else "up"]]
        if network.node_bridge:
            # A hypervisor's side of the VM network: its NIC is a port of a bridge that holds its address, so
            # the VMs it runs (their taps join the bridge) are on the lab segment as if cabled to the switch.
            steps += [["ip", "-n", name, "link", "add", network.node_bridge, "type", "bridge"],
                      ["ip", "-n", name, "link", "set", link, "master", network.node_bridge],
                      ["ip", "-n", name, "link", "set", network.node_bridge, "up"]]
        steps += [["ip", "-n", name, "link", "set", link, "up"],
                  ["ip", "-n", name, "address", "add", address, "dev", address_link(network, index)]]
    return steps + [["ip", "netns", "exec", name, *rule] for rule in partition_rules(dropped)]


PARTITION_CHAIN = "HALAB-PARTITION"


def partition_rules(peers: list[str]) -> list[list[str]]:
    """iptables commands (inside a node's namespace) that drop everything to and from ``peers``; none for
    no peers. Their own chain, so that undoing them leaves anything else alone."""
    if not peers:
        return []
    rules = [["iptables", "-w", "-N", PARTITION_CHAIN]]
    for peer in peers:
        rules += [["iptables", "-w", "-A", PARTITION_CHAIN, "-s", peer, "-j", "DROP"],
                  ["iptables", "-w", "-A", PARTITION_CHAIN, "-d", peer, "-j", "DROP"]]
    return rules + [["iptables", "-w", "-I", hook, "-j", PARTITION_CHAIN] for hook in ("INPUT", "OUTPUT")]


def unpartition_rules() -> list[list[str]]:
    return [*(["iptables", "-w", "-D", hook, "-j", PARTITION_CHAIN] for hook in ("INPUT", "OUTPUT")),
            ["iptables", "-w", "-F", PARTITION_CHAIN], ["iptables", "-w", "-X", PARTITION_CHAIN]]


def address_link(network: Network, net_index: int) -> str:
    """The interface inside a node that holds its address on a network: its NIC, or its bridge."""
    return network.node_bridge or node_link(net_index)


def unplug_node(lab: str, node: str) -> None:
    """What a power cut does to a container node's NICs: its namespace (and with it its cables and every
    address added at run time, a floating IP) goes; the next boot plugs it in afresh."""
    netns.delete_netns(node_netns(lab, node))


def set_cable(lab: str, node_index: int, net_index: int, plugged: bool, switch: str | None = None) -> None:
    """Unplug a node's cable at the switch side: the node sees its link go down, as with a real cable. A node
    that is off has no port to unplug: its next boot plugs it in as recorded (plumbing())."""
    port, where = node_port(node_index, net_index), switch or lab_netns(lab)
    if netns.link_exists(port, where):
        netns.set_link_state(port, plugged, netns=where)


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
        firewall.unguard(host_link(lab, index))
