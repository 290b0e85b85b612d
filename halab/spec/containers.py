"""The container extras of a lab spec: shared storage, and the check that a lab using image layers, device
binds, shared storage or node bridges (what the nspawn provider does for its containers) runs on containers."""

from __future__ import annotations

from halab.spec.model import Network, Node, SharedStorage
from halab.spec.reader import Reader, unique

STORAGE_TYPES = ("directory", "disk")
DIRECTORY_MIB = 1024  # a shared directory's size when its spec gives none


def shared_storage(top: Reader, nodes: list[Node]) -> tuple[SharedStorage, ...]:
    readers = top.tables("shared_storage", required=False)
    names = [n.name for n in nodes]
    found = []
    for reader in readers:
        reader.unknown_keys({"name", "path", "nodes", "type", "size_mib"})
        kind = reader.get("type", str, "directory")
        if kind not in STORAGE_TYPES:
            raise reader.fail("type", f"{kind!r} is not a type of shared storage ({', '.join(STORAGE_TYPES)})")
        path = reader.get("path", str)
        if "/../" in path + "/" or "/./" in path + "/" or not path.startswith("/"):
            raise reader.fail("path", f"{path!r} must be an absolute path without . or ..")
        if kind == "disk" and not (path.startswith("/dev/") and len(path) > 5):
            raise reader.fail("path", f"{path!r}: a shared disk is a device, under /dev/ (such as /dev/san/disk1)")
        if kind == "directory" and (path.rstrip("/") in ("", "/proc", "/sys", "/etc", "/usr", "/run")
                                    or path.startswith("/dev")):
            raise reader.fail("path", f"{path!r} must be an absolute directory of its own (such as /srv/data)")
        # A directory is capped too (a filesystem of that size: halab/providers/nspawn/disk.py), or the lab's nodes
        # could fill the host's disk through it.
        size = reader.get("size_mib", int, DIRECTORY_MIB if kind == "directory" else ...)
        if not 16 <= size <= 65536:
            raise reader.fail("size_mib", f"{size} must be between 16 and 65536")
        members = reader.get("nodes", list)
        unknown = [n for n in members if n not in names]
        if not members or unknown:
            raise reader.fail("nodes", f"must list nodes of this lab (unknown: {', '.join(map(str, unknown))})"
                              if unknown else "must list at least one node")
        found.append(SharedStorage(reader.name("name"), path.rstrip("/"), tuple(members), kind, size))
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
