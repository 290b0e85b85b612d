"""Limits written to a node's cgroups and its owner's (halab/host/cglimits.py), on cgroup directories made for
the test in the shapes of this host (v1 controllers) and of a systemd host (v2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from halab.host import cglimits, cgroups
from halab.host.cglimits import Limits
from halab.host.cgroups import controller_mounts

HYBRID = """\
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
"""


def test_controllers_of_this_host_are_v1_hierarchies() -> None:
    assert controller_mounts(HYBRID) == {"cpu": (Path("/sys/fs/cgroup/cpu"), 1),
                                         "memory": (Path("/sys/fs/cgroup/memory"), 1),
                                         "pids": (Path("/sys/fs/cgroup/pids"), 1)}


def fake(tmp_path: Path, version: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    mounts = {c: tmp_path / (c if version == 1 else "unified") for c in ("memory", "pids", "cpu")}
    monkeypatch.setattr(cglimits, "controller_mounts", lambda: {c: (m, version) for c, m in mounts.items()})
    for controller, mount in mounts.items():
        for path in (mount, mount / "halab", mount / "halab/u3", mount / "halab/u3/lab", mount / "halab/u3/lab/node1"):
            path.mkdir(parents=True, exist_ok=True)
            if version == 2:
                (path / "cgroup.subtree_control").touch()
            elif controller == "memory":
                (path / "memory.memsw.limit_in_bytes").touch()
    return mounts


def test_v1_node_and_owner_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounts = fake(tmp_path, 1, monkeypatch)
    problems = cglimits.apply("lab", "node1", "u3", Limits(memory_mib=512, pids=100, cpu_weight=50),
                              Limits(memory_mib=2048, pids=1000))
    assert problems == []
    node, owner = Path("halab/u3/lab/node1"), Path("halab/u3")
    assert (mounts["memory"] / node / "memory.limit_in_bytes").read_text() == f"{512 << 20}\n"
    assert (mounts["memory"] / node / "memory.memsw.limit_in_bytes").read_text() == f"{512 << 20}\n"  # no swap
    assert (mounts["memory"] / owner / "memory.limit_in_bytes").read_text() == f"{2048 << 20}\n"
    assert (mounts["pids"] / node / "pids.max").read_text() == "100\n"
    assert (mounts["pids"] / owner / "pids.max").read_text() == "1000\n"
    assert (mounts["cpu"] / node / "cpu.shares").read_text() == "512\n"  # weight 50 = half the default 1024
    assert (mounts["cpu"] / owner / "cpu.shares").read_text() == "1024\n"


def test_v2_enables_the_controllers_on_the_way_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounts = fake(tmp_path, 2, monkeypatch)
    assert cglimits.apply("lab", "node1", "u3", Limits(memory_mib=512, pids=100, cpu_weight=200), Limits()) == []
    unified = mounts["memory"]
    node = unified / "halab/u3/lab/node1"
    assert (node / "memory.max").read_text() == f"{512 << 20}\n" and (node / "pids.max").read_text() == "100\n"
    assert (node / "cpu.weight").read_text() == "200\n"
    assert (unified / "halab/u3/memory.max").read_text() == "max\n"  # root's labs, or no cap: no limit
    for parent in (unified, unified / "halab", unified / "halab/u3", unified / "halab/u3/lab"):
        assert (parent / "cgroup.subtree_control").read_text() == "+cpu\n"  # the last one written; each was


def test_no_controller_is_reported_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cglimits, "controller_mounts", lambda: {})
    problems = cglimits.apply("lab", "node1", "root", Limits(memory_mib=512), Limits())
    assert len(problems) == 3 and "no memory controller" in problems[0]


def test_owner_groups_are_names_halab_makes() -> None:
    with pytest.raises(ValueError):
        cgroups.node_cgroups("lab", "node1", "../etc")
