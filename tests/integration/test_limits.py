"""One student's node attacks the host; the host and another student's lab do not notice (issue 21, item 5).

Two users of the lab service each bring up the clustering lab. In ann's nodes run a fork bomb, a memory hog on
both nodes at once (more than her per-user memory cap together), a disk filler and a console flood, while ben's
solved lab is graded and passes every check. Then each limit is seen where the kernel keeps it: ann's node hit
its pids.max, her nodes' memory together stayed under her cap (the hog was OOM-killed in her cgroup), her
disk filled at its cap, her console log at its size. On the main this started from there were no limits at all
(the first assertion fails there, before anything is unleashed: a fork bomb without pids.max takes the host).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab import paths
from halab.host import cglimits
from halab.host.cgroups import controller_mounts
from halab.runtime.state import lab_dir, lab_states
from tests.integration.conftest import leftovers
from tests.support.users import User, lab_service, made_users

pytestmark = pytest.mark.integration
USER_MEMORY_MIB, NODE_PIDS, DISK_MIB, CONSOLE_KIB = 1536, 512, 512, 64
QUOTAS = f"[defaults]\nlabs = 1\nnodes = 2\nmemory_mib = {USER_MEMORY_MIB}\n"
LIMITS = f"\n[limits]\npids = {NODE_PIDS}\ndisk_mib = {DISK_MIB}\nconsole_kib = {CONSOLE_KIB}\n"


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[User]]:
    labs = tmp_path_factory.mktemp("labs")
    labs.chmod(0o755)
    text = (paths.labs_dir() / "clustering.toml").read_text()
    (labs / "clustering.toml").write_text(text.replace("\n[settings]", LIMITS + "\n[settings]", 1))
    os.environ["HALAB_LABS_DIR"] = str(labs)  # the service's (started below) and this test's
    try:
        with lab_service(QUOTAS) as socket, made_users(2, socket) as made:
            yield made
            for user in made:
                user.halab("down", "clustering")
    finally:
        del os.environ["HALAB_LABS_DIR"]


def instance(user: User) -> str:
    readable, _ = lab_states()
    return next(name for name, s in readable.items() if (s.owner or {}).get("uid") == user.uid)


def cgroup(controller: str, *parts: str) -> Path:
    mount, version = controller_mounts()[controller]
    assert version == 1, "this test reads the cgroup v1 files of this host"
    return mount.joinpath("halab", *parts)


def test_one_students_attacks_leave_the_host_and_other_labs_alone(users: list[User]) -> None:
    ann, ben = users
    for user in users:
        up = user.halab("up", "clustering", "--json")
        assert up.returncode == 0, up.stderr
    lab, slot = instance(ann), instance(ann).split("-")[0]
    # The limits are in place before anything is unleashed (on main there were none: stop here).
    assert int(cgroup("pids", slot, lab, "node1", "pids.max").read_text()) == NODE_PIDS
    assert int(cgroup("memory", slot, lab, "node1", "memory.limit_in_bytes").read_text()) == 1024 << 20
    assert int(cgroup("memory", slot, "memory.limit_in_bytes").read_text()) == USER_MEMORY_MIB << 20
    assert ben.halab("solve", "clustering", timeout=900).returncode == 0
    free_before = shutil.disk_usage(paths.state_dir()).free

    hog = "nohup python3 -c 'a=[]\nwhile True: a.append(bytearray(64 << 20))'"
    attacks = {  # each in the background, cut off from the SSH session (`halab ssh` returns at once)
        "node1": ["nohup bash -c ':(){ :|:& };:'", hog,
                  "nohup sh -c 'fallocate -l 20G /fill1; dd if=/dev/zero of=/fill2 bs=1M'"],
        "node2": [hog, "nohup sh -c 'yes flooding-the-console > /dev/console'"],
    }
    for node, commands in attacks.items():
        line = " ".join(f"{command} </dev/null >/dev/null 2>&1 &" for command in commands)
        started = ann.halab("ssh", node, "--", line, timeout=60)
        assert started.returncode == 0, started.stderr
    time.sleep(20)

    # Meanwhile the host forks, and ben's lab passes every check.
    assert subprocess.run(["true"]).returncode == 0
    graded = ben.halab("check", "clustering", "--json", "--no-faults", timeout=900)
    report = json.loads(graded.stdout)
    assert report["score"] == report["max_score"], [c for c in report["checks"] if not c["passed"]]

    # Each attack met its limit in ann's own nodes.
    assert int(cgroup("pids", slot, lab, "node1", "pids.current").read_text()) <= NODE_PIDS
    assert int(cgroup("pids", slot, lab, "node1", "pids.events").read_text().split()[-1]) > 0  # forks refused
    assert int(cgroup("memory", slot, "memory.max_usage_in_bytes").read_text()) <= USER_MEMORY_MIB << 20
    assert int(cgroup("memory", slot, lab, "node1", "memory.max_usage_in_bytes").read_text()) <= 1024 << 20
    oom = sum(int(line.split()[1]) for node in ("node1", "node2") for line in
              cgroup("memory", slot, lab, node, "memory.oom_control").read_text().splitlines()
              if line.startswith("oom_kill "))
    assert oom > 0  # the hogs were ended by the OOM killer of ann's cgroups
    assert free_before - shutil.disk_usage(paths.state_dir()).free < (DISK_MIB + 64) << 20
    disk = lab_dir(lab) / "nodes" / "node1" / "disk.img"
    assert disk.stat().st_blocks * 512 <= (DISK_MIB + 1) << 20
    console = lab_dir(lab) / "nodes" / "node2" / "console.log"
    assert 0 < console.stat().st_size <= (CONSOLE_KIB << 10) + 4096
    assert cglimits.usage(lab, "node2")["pids"] > 0
    assert ann.halab("ssh", "node2", "--", "true", timeout=60).returncode == 0  # flooded, and still up

    for user in users:
        assert user.halab("down", "clustering", timeout=300).returncode == 0
    assert leftovers(lab) == []
