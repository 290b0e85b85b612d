"""What tells a container node's processes from a look-alike, and what bounds a node when it boots: its
cgroup limits (its own and its owner's) and its console log. Apart from provider.py, which starts and stops
nodes, because these are the node's guards against its user and other users (issue 21)."""

from __future__ import annotations

import os
from pathlib import Path

from halab.host import cglimits, cgroups, procs
from halab.runtime.state import LabState


def is_halabs(pid: int, lab: str, node: str) -> bool:
    """Whether the process is one halab started for the node, by what no user can fake: it runs as root (real,
    effective and saved uid: not a user's, not a setuid program a user started under that name) in the node's
    own cgroup (cgroups.runs_the_node: only root puts a process there, and the node's own processes are in
    its ``payload``, below). Any user may run a process whose command line says
    ``systemd-nspawn --directory=<another user's node>``; it used to make that node "running" to halab, so
    its power-on did nothing and its fencing lied."""
    if not procs.runs_as_root(pid):
        return False
    return cgroups.runs_the_node(pid, lab, node) is not False  # None: a host where halab has no cgroups


def owner_group(state: LabState) -> str:
    """The cgroup of the lab's owner (halab/host/cgroups.py): one user's nodes are capped together."""
    return f"u{state.slot}" if state.slot else "root"


def limits(state: LabState, node: str) -> tuple[cglimits.Limits, cglimits.Limits]:
    """(the node's limits from its spec, its owner's caps for all their nodes: the lab service's per user)."""
    spec_node = state.spec().node(node)
    caps = (state.owner or {}).get("limits") or {}
    own = cglimits.Limits(memory_mib=spec_node.memory_mib, pids=spec_node.limits.pids,
                          cpu_weight=spec_node.limits.cpu_weight)
    return own, cglimits.Limits(memory_mib=caps.get("memory_mib"), pids=caps.get("pids"),
                                cpu_weight=caps.get("cpu_weight"))


def fresh_console(path: Path) -> int:
    """The node's console log for a new boot: the last boot's is kept as console.log.1 (so two boots' at most,
    each capped by the launcher), and only root reads either. Returns a descriptor to append to."""
    if path.exists() and path.stat().st_size:
        path.replace(path.with_name(path.name + ".1"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    os.fchmod(fd, 0o600)
    return fd
