"""The container extras of a lab spec: shared storage, and the check that a lab using image layers, device
binds, shared storage or node bridges (what the nspawn provider does for its containers) runs on containers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from halab.specreader import Reader, unique

if TYPE_CHECKING:
    from halab.spec import Network, Node


@dataclass(frozen=True)
class SharedStorage:
    """A directory of the lab's on the host, mounted at ``path`` in each of ``nodes``: storage they all
    reach, like a NAS export (a shared-disk setup). `halab down` removes it."""

    name: str
    path: str
    nodes: tuple[str, ...]


def shared_storage(top: Reader, nodes: list[Node]) -> tuple[SharedStorage, ...]:
    readers = top.tables("shared_storage", required=False)
    names = [n.name for n in nodes]
    found = []
    for reader in readers:
        reader.unknown_keys({"name", "path", "nodes"})
        path = reader.get("path", str)
        if not path.startswith("/") or path.rstrip("/") in ("", "/proc", "/sys", "/dev", "/etc", "/usr", "/run") \
                or "/../" in path + "/" or "/./" in path + "/":
            raise reader.fail("path", f"{path!r} must be an absolute directory of its own (such as /srv/data)")
        members = reader.get("nodes", list)
        unknown = [n for n in members if n not in names]
        if not members or unknown:
            raise reader.fail("nodes", f"must list nodes of this lab (unknown: {', '.join(map(str, unknown))})"
                              if unknown else "must list at least one node")
        found.append(SharedStorage(reader.name("name"), path.rstrip("/"), tuple(members)))
    unique(readers, [s.name for s in found], "name")
    return tuple(found)


def containers_only(top: Reader, providers: tuple[str, ...], networks: list[Network], nodes: list[Node],
                     shared: tuple[SharedStorage, ...]) -> None:
    """Image layers, device binds, shared storage and node bridges are what the nspawn provider does for its
    containers; a VM provider would silently ignore them, so a lab that uses them runs on containers only."""
    used = ([f"node_bridge of network {n.name}" for n in networks if n.node_bridge]
            + [f"layer of {n.name}" for n in nodes if n.layer] + [f"devices of {n.name}" for n in nodes if n.devices]
            + [f"shared_storage {s.name}" for s in shared])
    if used and set(providers) != {"nspawn"}:
        raise top.fail("providers", f"must be [\"nspawn\"]: {used[0]} is a container feature the VM providers do "
                                    "not have")
