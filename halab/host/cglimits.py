"""Limits on a container node's cgroups, and on all the nodes of one owner together.

Written where halab/host/cgroups.py made the node's cgroups (``halab/<group>/<lab>/<node>``): on a cgroup v1
hierarchy of the controller (this host has memory, pids and cpu as v1 hierarchies and a v2 hierarchy without
them), or on the v2 hierarchy where it offers the controller (a stock host booted with systemd), where the
controller must first be enabled in ``cgroup.subtree_control`` of every cgroup above the node.

- memory: ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes`` (v1; memsw exists where swap is
  accounted), ``memory.max`` and ``memory.swap.max`` (v2). Over it, the kernel reclaims the node's cache and
  then its OOM killer ends a process *of that cgroup*: the node's own, never the host's or another lab's.
- pids: ``pids.max``: a fork bomb in a node gets EAGAIN at its limit; the host and other nodes fork on.
- cpu: ``cpu.weight`` (v2) or ``cpu.shares`` (v1, weight x 1024 / 100): a share under contention, not a cap,
  so an idle host lends CPU to whoever needs it, and a user's many nodes weigh as much as one user.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from halab.host.cgroups import controller_mounts, group_path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What a cgroup may use; None: no limit of halab's."""

    memory_mib: int | None = None
    swap_mib: int = 0
    pids: int | None = None
    cpu_weight: int | None = None


def _write(path: Path, value: str) -> None:
    path.write_text(value + "\n")


def _enable(mount: Path, cgroup: Path, controller: str) -> None:
    """cgroup v2: a controller acts on a cgroup only when every cgroup above it enables it for its children."""
    for parent in [mount, *reversed([p for p in cgroup.parents if mount in p.parents])]:
        control = parent / "cgroup.subtree_control"
        if controller not in control.read_text().split():
            _write(control, f"+{controller}")


def _memory(path: Path, version: int, limits: Limits) -> None:
    if version == 2:
        _write(path / "memory.max", str(limits.memory_mib * MIB) if limits.memory_mib else "max")
        if (path / "memory.swap.max").exists():
            _write(path / "memory.swap.max", str(limits.swap_mib * MIB) if limits.memory_mib else "max")
        return
    memory = str(limits.memory_mib * MIB) if limits.memory_mib else "-1"
    both = str((limits.memory_mib + limits.swap_mib) * MIB) if limits.memory_mib else "-1"
    memsw = path / "memory.memsw.limit_in_bytes"
    # memory + swap may never be set below memory alone: lowering goes memory first, raising memsw first.
    steps = [(path / "memory.limit_in_bytes", memory)] + ([(memsw, both)] if memsw.exists() else [])
    try:
        for file, value in steps:
            _write(file, value)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        for file, value in reversed(steps):
            _write(file, value)


def _apply(path: Path, mount: Path, version: int, controller: str, limits: Limits) -> None:
    if version == 2:
        _enable(mount, path, controller)
    if controller == "memory":
        _memory(path, version, limits)
    elif controller == "pids":
        _write(path / "pids.max", str(limits.pids) if limits.pids else "max")
    elif version == 2:
        _write(path / "cpu.weight", str(limits.cpu_weight or 100))
    else:
        _write(path / "cpu.shares", str(max(2, (limits.cpu_weight or 100) * 1024 // 100)))


def apply(lab: str, node: str, group: str, node_limits: Limits, group_limits: Limits) -> list[str]:
    """Set the node's limits and its owner's (on ``halab/<group>``); the cgroups exist (cgroups.node_cgroups).
    Returns what could not be set, one line each (no controller on this host, a file the kernel refused)."""
    problems = []
    mounts = controller_mounts()
    for controller in ("memory", "pids", "cpu"):
        if controller not in mounts:
            problems.append(f"this host has no {controller} controller: the node's {controller} is not limited")
            continue
        mount, version = mounts[controller]
        for path, limits in ((group_path(mount, group), group_limits), (group_path(mount, group) / lab / node,
                                                                        node_limits)):
            try:
                _apply(path, mount, version, controller, limits)
            except OSError as exc:
                problems.append(f"{path}: {controller} limit not set ({exc.strerror or exc})")
    return problems


def usage(lab: str, node: str) -> dict[str, int]:
    """What the node uses now: {"memory_bytes", "pids"} where this host tells (for tests and benchmarks)."""
    found = {}
    for controller, (mount, version) in controller_mounts().items():
        for path in (mount / "halab").glob(f"*/{lab}/{node}"):
            name = {("memory", 1): "memory.usage_in_bytes", ("memory", 2): "memory.current",
                    ("pids", 1): "pids.current", ("pids", 2): "pids.current"}.get((controller, version))
            try:
                if name:
                    found["memory_bytes" if controller == "memory" else "pids"] = int((path / name).read_text())
            except (OSError, ValueError):
                continue
    return found
