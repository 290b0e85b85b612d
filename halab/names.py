"""Lab names: what may name a lab, checked wherever a name becomes a path or a namespace; and the names a lab's
nodes are known by inside the lab (host_entries).

A lab's name becomes a directory under the state directory, network namespaces (``halab-<lab>``), a machine
name and a lock file, so a name like ``../../etc`` must never get that far. Names halab uses for itself
(``libvirt``: libvirtd's namespace is ``halab-libvirt``) cannot name a lab.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from halab.errors import HalabError

if TYPE_CHECKING:
    from halab.spec import LabSpec

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,23}$")
# Lab names that would collide with halab's own namespaces and files.
RESERVED_LAB_NAMES = frozenset({"libvirt"})


def check_lab_name(name: object) -> str:
    """The name itself if it can name a lab; a one-line HalabError saying why not otherwise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise HalabError(f"{name!r} is not a valid lab name (lower-case letters, digits and '-', at most 24)")
    if name in RESERVED_LAB_NAMES:
        raise HalabError(f"'{name}' cannot name a lab: halab uses it for itself (namespace halab-{name})")
    return name


def is_lab_name(name: object) -> bool:
    try:
        check_lab_name(name)
    except HalabError:
        return False
    return True


def host_entries(spec: LabSpec) -> list[tuple[str, str]]:
    """(address, name) of every node on every network, as /etc/hosts in the nodes has them (the one place that
    says so: the hosts file, the pinned known_hosts and the graders read it): the management network carries
    the plain node name, the others ``name-network``."""
    entries = []
    for node in spec.nodes:
        for _, network in spec.networks_of(node):
            alias = node.name if network.host_joins else f"{node.name}-{network.name}"
            entries.append((str(node.addresses[network.name]), alias))
    return entries
