"""A cgroup of its own on the host for each container node.

``systemd-nspawn --keep-unit`` runs a container in the cgroup nspawn was started from (below a ``payload``
child it makes). On a host without systemd every process sits in the root cgroup, so every node of every lab
would share ONE cgroup tree: node1's systemd and node2's systemd both create and remove
``/payload/system.slice/<unit>`` in the same directories. Measured here before this module: about one boot
in ten left a unit failed at random ("Failed at step CGROUP spawning …: No such file or directory",
"Failed to kill control group …: Input/output error"), and a unit stopped on one node could see the other
node's processes in "its" cgroup.

So each node gets ``<hierarchy>/halab/<group>/<lab>/<node>`` in the hierarchies systemd manages (the named v1
``name=systemd`` one and the v2 unified one) and in the hierarchies of the controllers that limit it (memory,
pids, cpu: halab/host/cglimits.py), and its launcher moves itself there before it becomes nspawn. ``<group>`` is
the lab's owner (``u<slot>``, or ``root``): the cgroup of all of one user's nodes, where the user's own caps
apply to their labs together.
"""

from __future__ import annotations

import re
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


LIMITED = ("memory", "pids", "cpu")  # the controllers halab sets limits with (halab/host/cglimits.py)
_GROUP = re.compile(r"root|u[0-9]+")


def controller_mounts(mountinfo: str | None = None) -> dict[str, tuple[Path, int]]:
    """Where each controller halab limits nodes with is: {controller: (mount point, cgroup version)}. A
    cgroup v1 hierarchy of its own (this host: /sys/fs/cgroup/memory ...), or the v2 hierarchy where its
    cgroup.controllers lists it (a host booted with systemd's unified layout)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return {}
    found: dict[str, tuple[Path, int]] = {}
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, mount_fields = after.split(), before.split()
        if len(fields) < 3 or len(mount_fields) < 5:
            continue
        point = Path(unescape_mount_path(mount_fields[4]))
        if fields[0] == "cgroup":
            for controller in set(fields[2].split(",")) & set(LIMITED):
                found.setdefault(controller, (point, 1))
        elif fields[0] == "cgroup2":
            try:
                offered = (point / "cgroup.controllers").read_text().split()
            except OSError:
                offered = []
            for controller in set(offered) & set(LIMITED):
                found.setdefault(controller, (point, 2))
    return found


def _mounts() -> list[Path]:
    """Every hierarchy a node gets a cgroup in: the ones systemd manages, and the controllers' (v1)."""
    mounts = systemd_hierarchy_mounts()
    return mounts + sorted({m for m, _ in controller_mounts().values()} - set(mounts))


def group_path(mount: Path, group: str) -> Path:
    """The cgroup of one owner's labs (``u<slot>``, or ``root`` for root's), whose limits cap them together."""
    return mount / "halab" / group


def node_cgroups(lab: str, node: str, group: str = "root") -> list[Path]:
    """Create (if needed) and return the node's cgroup directories, ``halab/<group>/<lab>/<node>`` in each
    hierarchy; a hierarchy we may not write is skipped, and the node then shares that hierarchy as before."""
    if not _GROUP.fullmatch(group):
        raise ValueError(f"not a cgroup group name: {group!r}")
    made = []
    for path in _node_paths(lab, node):
        _remove_tree(path)  # a crashed run's leftovers; the node is off, so nothing should hold them
    for mount in _mounts():
        path = group_path(mount, group) / lab / node
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        made.append(path)
    return made


def _node_paths(lab: str, node: str) -> list[Path]:
    """The node's cgroup directories that exist: ``halab/<group>/<lab>/<node>``, whatever the group (lab names
    are unique), and ``halab/<lab>/<node>`` as halab made them before owners had cgroups of their own (a lab
    up across an upgrade)."""
    found = []
    for mount in _mounts():
        found += [p for p in (mount / "halab").glob(f"*/{lab}/{node}") if _GROUP.fullmatch(p.parent.parent.name)]
        legacy = mount / "halab" / lab / node
        if legacy.is_dir() and not _GROUP.fullmatch(lab):
            found.append(legacy)
    return found


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


def runs_the_node(pid: int, lab: str, node: str) -> bool | None:
    """Whether ``pid`` is halab's own process for the node: its launcher or its systemd-nspawn, which sit in
    the node's cgroup itself or in nspawn's ``supervisor`` below it, never in ``payload`` (the container).
    Only root can put a process there, so no user can fake a node as running with a command line of its
    own. None when the node has no cgroup here (a host where halab may make none) to decide by."""
    # Only the hierarchies nspawn splits into supervisor and payload: in a v1 controller's (memory, pids) the
    # container's processes stay in the node's cgroup itself.
    tracking = systemd_hierarchy_mounts()
    paths = [p for p in _node_paths(lab, node) if any(m in p.parents for m in tracking)]
    if not paths:
        return None
    wanted = set()
    for path in paths:
        mount = next(m for m in tracking if m in path.parents)
        relative = "/" + str(path.relative_to(mount))
        wanted |= {relative, relative + "/supervisor"}
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return False
    tracked = (fields for fields in (line.split(":", 2) for line in lines) if len(fields) == 3 and (
        fields[1] == "name=systemd" or (fields[0] == "0" and fields[1] == "")))
    return any(path in wanted for _, _, path in tracked)


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
        # The lab's, the owner's and halab's own directories go when they are empty; others may still use them.
        for parent in (path.parent, path.parent.parent, path.parent.parent.parent):
            try:
                parent.rmdir()
            except OSError:
                break
