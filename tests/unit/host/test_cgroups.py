"""Finding the cgroup hierarchies a node's systemd manages (halab/host/cgroups.py)."""

from __future__ import annotations

from pathlib import Path

from halab.host.cgroups import systemd_hierarchy_mounts

# Recorded on this project's build host (Debian 12, no systemd as PID 1, "hybrid" layout):
# grep cgroup /proc/self/mountinfo
HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

# The shape of a stock Debian 12 host booted with systemd (unified layout only).
UNIFIED = """\
22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
25 23 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
"""


def test_hybrid_host_gives_the_named_and_the_unified_hierarchy() -> None:
    assert systemd_hierarchy_mounts(HYBRID) == [Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified")]


def test_unified_host_gives_the_one_hierarchy() -> None:
    assert systemd_hierarchy_mounts(UNIFIED) == [Path("/sys/fs/cgroup")]


def test_no_cgroups_or_garbage_gives_nothing() -> None:
    assert systemd_hierarchy_mounts("") == []
    assert systemd_hierarchy_mounts("garbage\n - cgroup2\n1 2 3 - cgroup cgroup rw,cpu\n") == []
