"""Root in a container node is not root on the host: the known ways out are tried from inside a node, and
each must fail. Two labs are up, as two users would have them: root's `clustering` and another user's
instance of it (u<slot>-clustering, made here directly as its owner would get it from the lab service)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab import paths
from halab.host import firewall
from halab.lab import Lab
from halab.providers.base import get_provider
from halab.providers.nspawn.storage import check_shared_disks
from halab.runtime import labnet, ssh
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


def _link_local(link: str) -> str:
    """The fe80:: address the kernel gives a link from its MAC (EUI-64), whether or not the link has it now."""
    mac = Path(f"/sys/class/net/{link}/address").read_text().strip().split(":")
    octets = [int(b, 16) for b in mac]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    return "fe80::" + ":".join(f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2))


def test_a_node_reaches_no_host_service_over_ipv6(labs: tuple[Lab, Lab]) -> None:
    """The host firewall was IPv4 only: a node reached a host service listening on :: at the link-local address
    of its management link."""
    mine, _ = labs
    link = labnet.host_link(mine.name, 0)
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("::", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        assert not firewall.ipv6_open(link)
        assert inside(mine, "nc -z -w 3 127.0.0.1 22").returncode == 0  # nc works in the node
        fails(mine, f"nc -6 -z -w 3 {_link_local(link)}%eth0 {port}")
        fails(mine, f"ping -6 -c 2 -w 3 {_link_local(link)}%eth0")
    finally:
        listener.close()


def test_a_users_look_alike_process_does_not_make_a_node_running(labs: tuple[Lab, Lab]) -> None:
    """"Is this node running" was read from /proc/*/cmdline: any user could start a process named like the
    node's systemd-nspawn, and halab took the node (powered off) for running, so power-on did nothing."""
    _, theirs = labs
    state = theirs.state()
    provider = get_provider(state.provider)
    provider.power_off(state, "node2")
    root = lab_dir(theirs.name) / "nodes" / "node2" / "root"
    fake = subprocess.Popen(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "bash", "-c",
                             f'exec -a /usr/bin/systemd-nspawn python3 -c "import time; time.sleep(300)" '
                             f"--directory={root}"], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert f"--directory={root}" in Path(f"/proc/{fake.pid}/cmdline").read_bytes().decode().replace("\0", " ")
        assert not provider.node_running(state, "node2")
        provider.power_on(state, "node2")
        assert provider.node_running(state, "node2")
        ssh.wait_ready(state.node("node2"), time.monotonic() + 120)
    finally:
        fake.kill()
        fake.wait()
        if not provider.node_running(state, "node2"):
            provider.power_on(state, "node2")


SAN_LAB = """
[[shared_storage]]
name = "san"
type = "disk"
path = "/dev/san/disk1"
size_mib = 16
nodes = ["node1", "node2"]
"""


def test_a_node_cannot_detach_its_shared_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              labs: tuple[Lab, Lab]) -> None:
    """A lab's SAN disk is a host loop device. LOOP_CLR_FD needs no capability, so root in a node could detach
    it; the next loop device attached (another lab's disk) got the same number, and this lab's device node then
    opened that disk."""
    text = (paths.labs_dir() / "clustering.toml").read_text().replace("10.42.10.", "10.42.77.")
    text = text.replace('name = "clustering"', 'name = "sanlab"\nkind = "clustering"')
    labs_dir = tmp_path / "labs"
    labs_dir.mkdir()
    (labs_dir / "sanlab.toml").write_text(re.sub(r"(?m)^providers = .*$", 'providers = ["nspawn"]', text) + SAN_LAB)
    monkeypatch.setenv("HALAB_LABS_DIR", str(labs_dir))
    lab = Lab("sanlab")
    decoy = tmp_path / "decoy.img"
    decoy.write_bytes(b"DECOY-OTHER-LAB!" * 65536)
    attached = ""
    try:
        lab.up()
        assert inside(lab, "printf OURS-OURS-OURS-1 | dd of=/dev/san/disk1 conv=notrunc status=none").returncode == 0
        # LOOP_CLR_FD (0x4C01) on the disk, as `losetup -d` does it: refused.
        detach = inside(lab, 'python3 -c "import fcntl, os; fcntl.ioctl(os.open(\'/dev/san/disk1\', os.O_RDONLY), '
                             '0x4C01)"')
        assert detach.returncode != 0 and "Operation not permitted" in detach.stderr, detach
        time.sleep(0.5)
        attached = subprocess.run(["losetup", "--find", "--show", str(decoy)], capture_output=True, text=True,
                                  check=True).stdout.strip()
        seen = lab.run("node2", "dd if=/dev/san/disk1 bs=16 count=1 status=none", timeout=30).stdout
        assert seen == "OURS-OURS-OURS-1", f"node2 reads {seen!r} through the lab's disk (loop device {attached})"
        check_shared_disks(lab.state())  # still on the lab's own file
    finally:
        if attached:
            subprocess.run(["losetup", "--detach", attached], capture_output=True)
        lab.down()
        assert leftovers("sanlab") == []


def test_lab_folders_and_console_logs_are_not_other_users(labs: tuple[Lab, Lab]) -> None:
    _, theirs = labs
    folder = lab_dir(theirs.name)
    assert folder.stat().st_mode & 0o077 == 0
    node = folder / "nodes" / "node1"
    assert (node / "console.log").stat().st_mode & 0o077 == 0
    for path in (folder / "state.json", node / "console.log", node / "disk.img"):
        read = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "head", "-c1",
                               str(path)], capture_output=True, text=True)
        assert read.returncode != 0 and "Permission denied" in read.stderr, (path, read)
