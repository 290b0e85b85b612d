"""The lab spec as the rest of halab sees it: validated, immutable, with its kind resolved.

Made only by the loader (loader.py), from a spec file under labs/; nothing here reads files or talks to a lab.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from halab.errors import HalabError
from halab.spec.kinds import Kind
from halab.spec.limits import NodeLimits

# The ways of running nodes a spec may name; each is a package of halab/providers/ (its PROVIDERS table).
PROVIDERS = ("nspawn", "libvirt", "vagrant", "incus")


@dataclass(frozen=True)
class Network:
    name: str
    subnet: ipaddress.IPv4Network
    host_address: ipaddress.IPv4Address
    # The host joins this network so that it can reach the nodes over SSH.
    host_joins: bool
    # When set, a node's side of this network is a bridge of that name inside the node, holding the node's
    # address, with the node's NIC as its port: VMs on the node (a hypervisor) plug into the same segment.
    node_bridge: str = ""


@dataclass(frozen=True)
class Disk:
    name: str
    size_mib: int


@dataclass(frozen=True)
class SharedStorage:
    """Storage that all of ``nodes`` reach at ``path``, kept on the host in the lab's state directory (so
    `halab down` removes it): a ``directory`` bind-mounted into them, like a NAS export, or a ``disk`` of
    ``size_mib``, a block device they all see, like a SAN LUN (a shared-disk setup). A directory is capped at its
    ``size_mib`` too."""

    name: str
    path: str
    nodes: tuple[str, ...]
    type: str = "directory"
    size_mib: int = 0


MEMBER_ROLE = "node"  # the default role: a member of the lab's cluster


@dataclass(frozen=True)
class Node:
    name: str
    # The node is plugged into exactly these networks (always the management network).
    addresses: dict[str, ipaddress.IPv4Address]
    memory_mib: int
    disks: tuple[Disk, ...]
    # What the node is in its lab: a cluster member ("node"), a "client", a "balancer"... (its kind says which).
    role: str = MEMBER_ROLE
    # Container extras (nspawn provider): an image layer over the node image (halab/image/layers.toml), and
    # host devices bound into the node (a hypervisor's /dev/net/tun).
    layer: str = ""
    devices: tuple[str, ...] = ()
    # What a container node may use of the host besides memory_mib (limits.py).
    limits: NodeLimits = field(default_factory=NodeLimits)

    def on(self, network: str) -> bool:
        return network in self.addresses


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    description: str


@dataclass(frozen=True)
class CheckSpec:
    id: str
    task: str
    points: int
    fault: bool


@dataclass(frozen=True)
class LabSpec:
    name: str
    title: str
    summary: str
    path: Path
    default_provider: str
    providers: tuple[str, ...]
    networks: tuple[Network, ...]
    nodes: tuple[Node, ...]
    # The lab's kind as the registry has it (halab/spec/kinds.py), resolved once when the spec is loaded: its
    # commands, checks, faults and solution. ``kind`` below is its name, as the spec file gives it.
    kind_def: Kind
    tasks: tuple[Task, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    # Which grader and solution module serve this lab (labs that differ only in size share one).
    kind: str = ""
    shared_storage: tuple[SharedStorage, ...] = ()

    @property
    def management_network(self) -> Network:
        """The network the host joins; node addresses on it are what SSH uses."""
        return next(net for net in self.networks if net.host_joins)

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise HalabError(f"lab '{self.name}' has no node '{name}' (nodes: {', '.join(self.node_names)})")

    @property
    def node_names(self) -> list[str]:
        return [node.name for node in self.nodes]

    @property
    def members(self) -> tuple[Node, ...]:
        """The cluster's own nodes (role "node"), without clients and other helpers."""
        return tuple(node for node in self.nodes if node.role == MEMBER_ROLE)

    @property
    def member_names(self) -> list[str]:
        return [node.name for node in self.members]

    def host_entries(self) -> list[tuple[str, str]]:
        """(address, name) of every node on every network, as /etc/hosts in the nodes has them (the one place that
        says so: the hosts file, the pinned known_hosts and the graders read it): the management network carries
        the plain node name, the others ``name-network``."""
        entries = []
        for node in self.nodes:
            for _, network in self.networks_of(node):
                alias = node.name if network.host_joins else f"{node.name}-{network.name}"
                entries.append((str(node.addresses[network.name]), alias))
        return entries

    def networks_of(self, node: Node) -> list[tuple[int, Network]]:
        """The networks the node is plugged into, with their index in the lab (eth<index> on the node)."""
        return [(index, net) for index, net in enumerate(self.networks) if node.on(net.name)]

    def network_index(self, node: Node, network: str) -> int:
        """The index of a network the node is on; a clear error for one it is not on."""
        for index, net in self.networks_of(node):
            if net.name == network:
                return index
        known = ", ".join(net.name for net in self.networks)
        raise HalabError(f"{node.name} is not on network '{network}' (lab '{self.name}' has: {known})")

    def with_role(self, role: str) -> list[Node]:
        return [node for node in self.nodes if node.role == role]
