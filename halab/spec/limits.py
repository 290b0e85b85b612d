"""What one container node may use of the host: memory, processes, CPU weight, disk, console log.

A lab gives defaults for all its nodes in ``[limits]``; a node may change them in its own ``limits`` table:

    [limits]
    memory_mib = 1024     # the default of each node's memory_mib (a container's memory cap, a VM's RAM)
    pids = 4096           # processes and threads at once
    cpu_weight = 100      # its share of CPU under contention, as cgroup v2's cpu.weight (1-10000)
    disk_mib = 4096       # its own changes to the image (the overlay's upper layer) at most
    console_kib = 1024    # its console log per boot

    [[nodes]]
    name = "hv1"
    memory_mib = 3072
    limits = { pids = 8192 }

Over a limit the node itself suffers (its processes are refused, OOM-killed, or its disk is full), never the
host or another lab (halab/host/cgroups.py, halab/providers/nspawn/disk.py). A VM (libvirt) has its RAM,
one vCPU and disks of fixed size by construction; libvirt's virtlogd rotates its console log.
"""

from __future__ import annotations

from dataclasses import dataclass

from halab.spec.reader import Reader

MEMORY_MIB = (256, 8192, 1024)  # (least, most, default)
RANGES = {"pids": (64, 65536, 4096), "cpu_weight": (1, 10000, 100), "disk_mib": (256, 65536, 4096),
          "console_kib": (16, 65536, 1024)}


@dataclass(frozen=True)
class NodeLimits:
    pids: int = RANGES["pids"][2]
    cpu_weight: int = RANGES["cpu_weight"][2]
    disk_mib: int = RANGES["disk_mib"][2]
    console_kib: int = RANGES["console_kib"][2]


def _number(reader: Reader, key: str, least: int, most: int, default: int) -> int:
    value = reader.get(key, int, default)
    if not least <= value <= most:
        raise reader.fail(key, f"{value} must be between {least} and {most}")
    return int(value)


def lab_defaults(top: Reader) -> tuple[int, NodeLimits]:
    """The lab's ``[limits]``: (the default memory_mib of its nodes, the other limits of its nodes)."""
    reader = top.sub("limits")
    reader.unknown_keys({"memory_mib", *RANGES})
    memory = _number(reader, "memory_mib", *MEMORY_MIB)
    return memory, NodeLimits(**{key: _number(reader, key, *RANGES[key]) for key in RANGES})


def node_limits(reader: Reader, defaults: NodeLimits) -> NodeLimits:
    """A node's ``limits`` table over the lab's defaults."""
    own = reader.sub("limits")
    own.unknown_keys(set(RANGES))
    least_most = {key: RANGES[key][:2] for key in RANGES}
    return NodeLimits(**{key: _number(own, key, *least_most[key], getattr(defaults, key)) for key in RANGES})
