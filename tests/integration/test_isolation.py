"""Root in a container node is not root on the host: the known ways out are tried from inside a node, and
each must fail. Two labs are up, as two users would have them: root's `clustering` and another user's
instance of it (u<slot>-clustering, made here directly as its owner would get it from the lab service)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.lab import Lab
from halab.runtime.slots import release_slot, slot_of
from halab.runtime.state import lab_dir
from halab.spec.instances import Owner
from tests.integration.conftest import leftovers

pytestmark = pytest.mark.integration
OTHER_UID = 59999  # no such account: the lab is made for it directly, as the lab service would


@pytest.fixture(scope="module")
def labs() -> Iterator[tuple[Lab, Lab]]:
    mine = Lab("clustering")
    theirs = Lab("clustering", Owner(OTHER_UID, "escape-test", slot_of(OTHER_UID, "escape-test")))
    try:
        mine.up()
        theirs.up()
        yield mine, theirs
    finally:
        for lab in (mine, theirs):
            lab.down()
            assert leftovers(lab.name) == []
        release_slot(OTHER_UID)


def inside(lab: Lab, command: str) -> subprocess.CompletedProcess[str]:
    """A command as root in the lab's node1, over its SSH, with its exit code."""
    result = lab.run("node1", command, timeout=60)
    return subprocess.CompletedProcess(command, result.exit_status, result.stdout, result.stderr)


def fails(lab: Lab, command: str) -> str:
    result = inside(lab, command)
    assert result.returncode != 0, f"{command!r} worked inside a node: {result.stdout}"
    return result.stderr


def test_root_in_a_node_is_nobody_on_the_host(labs: tuple[Lab, Lab]) -> None:
    mine, _ = labs
    assert inside(mine, "id -u").stdout.strip() == "0"
    mapped = inside(mine, "cat /proc/self/uid_map").stdout.split()
    assert mapped[0] == "0" and int(mapped[1]) >= 0x10000000  # root inside is an unprivileged ID outside


def test_kernel_settings_and_sysfs_stay_the_hosts(labs: tuple[Lab, Lab]) -> None:
    mine, _ = labs
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    fails(mine, "echo '|/tmp/evil %p' > /proc/sys/kernel/core_pattern")
    fails(mine, "mount -o remount,rw /proc/sys 2>/dev/null; echo '|/tmp/evil %p' > /proc/sys/kernel/core_pattern")
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before
    fails(mine, "echo 1 > /sys/kernel/mm/ksm/run")
    fails(mine, "mount -o remount,rw /sys 2>/dev/null; echo 1 > /sys/kernel/mm/ksm/run")
    # The node's own network settings are its own to change (ip_nonlocal_bind for the balancers).
    assert inside(mine, "sysctl -w net.ipv4.ip_nonlocal_bind=1").returncode == 0


def test_no_real_filesystem_block_device_or_module(labs: tuple[Lab, Lab]) -> None:
    mine, _ = labs
    root_device = subprocess.run(["findmnt", "-n", "-o", "MAJ:MIN", "/"], capture_output=True, text=True).stdout
    major, minor = (root_device.strip() or "254:0").split(":")
    fails(mine, f"mknod /tmp/disk b {major} {minor}")
    fails(mine, "mkdir -p /mnt/host && mount -t ext4 /dev/vda /mnt/host")
    fails(mine, f"mkdir -p /mnt/host && mount -t ext4 /dev/block/{major}:{minor} /mnt/host")
    fails(mine, "modprobe dummy")
    fails(mine, "insmod /lib/modules/$(uname -r)/kernel/drivers/net/dummy.ko 2>/dev/null || insmod /nonexistent.ko")


def test_host_processes_and_files_are_out_of_reach(labs: tuple[Lab, Lab]) -> None:
    mine, theirs = labs
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        fails(mine, f"kill -9 {sleeper.pid}")
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()
    key = lab_dir(theirs.name) / "id_ed25519"
    assert key.exists()  # it is there on the host...
    fails(mine, f"cat {key}")  # ...and not in a node of another lab
    fails(mine, f"ls {lab_dir(mine.name)}")  # not even its own lab's state


def test_other_labs_and_their_power_switches_are_unreachable(labs: tuple[Lab, Lab]) -> None:
    mine, theirs = labs
    host = str(mine.spec.management_network.host_address)
    their_net = theirs.spec.management_network
    their_node = str(theirs.spec.node("node1").addresses[their_net.name])
    assert inside(mine, f"nc -z -w 3 {host} 7410").returncode == 0  # its own switch: yes
    # A student adds a route through the host, and knocks on the other lab: its nodes and its switch.
    inside(mine, f"ip route add {their_net.subnet} via {host}")
    fails(mine, f"nc -z -w 3 {their_node} 22")
    fails(mine, f"nc -z -w 3 {their_net.host_address} 7410")
    fails(mine, f"nc -z -w 3 {host} 22")  # nor the host's own services on the lab's address
