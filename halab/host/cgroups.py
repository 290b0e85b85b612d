"""A cgroup of its own on the host for each container node.

``systemd-nspawn --keep-unit`` runs a container in the cgroup nspawn was started from (below a ``payload``
child it makes). On a host without systemd every process sits in the root cgroup, so every node of every lab
would share ONE cgroup tree: node1's systemd and node2's systemd both create and remove
``/payload/system.slice/<unit>`` in the same directories. Measured here before this module: about one boot
in ten left a unit failed at random ("Failed at step CGROUP spawning …: No such file or directory",
"Failed to kill control group …: Input/output error"), and a unit stopped on one node could see the other
node's processes in "its" cgroup.

So each node gets ``<hierarchy>/halab/<lab>/<node>`` in the hierarchies systemd manages (the named v1
``name=systemd`` one and the v2 unified one), and its launcher moves itself there before it becomes nspawn.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from halab.host import procs
from halab.host.fs import unescape_mount_path


def systemd_hierarchy_mounts(mountinfo: str | None = None) -> list[Path]:
    """Mount points of the cgroup hierarchies systemd uses for process tracking, from /proc/self/mountinfo."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return []
    found = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, mount_fields = after.split(), before.split()
        if len(fields) < 3 or len(mount_fields) < 5:
            continue
        fstype, options = fields[0], fields[2].split(",")
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in options):
            found.append(Path(unescape_mount_path(mount_fields[4])))
    return found


def node_cgroups(lab: str, node: str) -> list[Path]:
    """Create (if needed) and return the node's cgroup directories; a hierarchy we may not write is skipped,
    and the node then shares that hierarchy as before."""
    made = []
    for path in _node_paths(lab, node):
        _remove_tree(path)  # a crashed run's leftovers; the node is off, so nothing should hold them
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        made.append(path)
    return made


def _node_paths(lab: str, node: str) -> list[Path]:
    return [mount / "halab" / lab / node for mount in systemd_hierarchy_mounts()]


def node_pids(lab: str, node: str) -> set[int]:
    """Every process in the node's cgroups: the container's systemd and everything it started."""
    pids: set[int] = set()
    for path in _node_paths(lab, node):
        for procs_file in path.rglob("cgroup.procs") if path.is_dir() else ():
            try:
                pids.update(int(pid) for pid in procs_file.read_text().split())
            except (OSError, ValueError):
                continue
    return pids


def kill_node_processes(lab: str, node: str, wait: float = 10.0) -> set[int]:
    """SIGKILL whatever still runs in the node's cgroups; returns the PIDs that would not go.

    Normally nothing is left once nspawn has gone. But a container whose systemd-nspawn was killed keeps
    running, orphaned, with no command line that names the node: only its cgroup still says whose it is.
    """
    deadline = time.monotonic() + wait
    while (pids := node_pids(lab, node)) and time.monotonic() < deadline:
        for pid in pids:
            procs.send_signal(pid, signal.SIGKILL)
        time.sleep(0.05)
    return pids


def _remove_tree(path: Path) -> bool:
    """rmdir a cgroup and everything below it, deepest first; False if a process still holds one."""
    if not path.is_dir():
        return True
    for child in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        try:
            child.rmdir()
        except OSError:
            return False
    try:
        path.rmdir()
    except OSError:
        return False
    return True


def remove_node_cgroups(lab: str, node: str, wait: float = 3.0) -> None:
    """Remove the node's cgroups once its processes are gone (killed processes leave them in a moment)."""
    for path in _node_paths(lab, node):
        deadline = time.monotonic() + wait
        while not _remove_tree(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        # The lab's and halab's own directories go when they are empty; another lab may still use them.
        for parent in (path.parent, path.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
