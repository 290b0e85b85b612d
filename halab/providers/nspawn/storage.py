"""What container nodes bring beyond a plain node, from their lab's spec: devices (a hypervisor's /dev/net/tun)
and the lab's shared storage: a directory of the lab's bound into every node that shares it (a NAS export; a
filesystem of its ``size_mib``, disk.py), or a disk (a SAN LUN): a sparse file of the lab's on a host loop
device, seen by every node of it through a device node of the lab's own.

A device a node asks for is never the host's device node itself but a node of the lab's own for the same
device number, owned by root of the lab's nodes: root in a node is an unprivileged ID on the host, so it cannot
open the host's /dev/net/tun where that is 0600 root (a host without udev), and halab must never change the
host's device modes to let it. The kernel decides the rest: a tap device still needs CAP_NET_ADMIN in the
node's own network namespace.

The loop device is the host's, and the kernel lets anyone who can open a loop device detach it
(LOOP_CLR_FD needs no capability; measured here: an unprivileged process with the lab's device node ran
``losetup -d`` on it). A node that detached its lab's disk freed the loop number, the next lab's disk got the
same number, and the first lab's device node then opened the second lab's disk. So the nodes' processes may
not use loop ioctls at all (launch.py: a seccomp filter nspawn and the container inherit), and only the
block device's reads and writes reach the disk."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from halab.errors import HalabError
from halab.host import idmap
from halab.providers.nspawn.disk import capped_dir
from halab.runtime.state import LabState, lab_dir, shared_dir
from halab.spec import LabSpec, Node


def node_extras(spec: LabSpec, node: Node) -> list[str]:
    """systemd-nspawn options for what the node's spec asks beyond a plain node: host devices bound in (a
    hypervisor's /dev/net/tun) and the lab's shared storage at its path: a directory, or a shared disk (a
    device node of the lab's for the loop device behind it)."""
    options = [f"--bind={device_node(spec.name, device)}:{device}" for device in node.devices]
    for storage in spec.shared_storage:
        if node.name in storage.nodes:
            shared = shared_dir(spec.name, storage.name)
            source = _disk_node(spec.name, storage.name) if storage.type == "disk" else shared
            options.append(f"--bind={source}:{storage.path}")
    return options


def _disk_file(lab: str, name: str) -> Path:
    return shared_dir(lab, name).with_suffix(".img")


def make_shared_storage(spec: LabSpec, uid_base: int) -> dict[str, str]:
    """The lab's shared directories, and its shared disks (see attach_shared_disks), owned by root of the
    lab's nodes (``uid_base``). Returns {disk name: /dev/loopN}."""
    for storage in spec.shared_storage:
        if storage.type == "directory":
            folder = shared_dir(spec.name, storage.name)
            capped_dir(folder.with_suffix(".fs"), folder, storage.size_mib, f"the shared directory {storage.name}")
            idmap.own(folder, uid_base)
    disks = attach_shared_disks(spec)
    for name in disks:
        idmap.own(_disk_node(spec.name, name), uid_base)
    return disks


def attach_shared_disks(spec: LabSpec) -> dict[str, str]:
    """A sparse file per shared disk, attached to a loop device of the host: one block device that every
    node of the disk sees, as nodes on a SAN see one LUN. Returns {disk name: /dev/loopN}."""
    devices = {}
    for storage in spec.shared_storage:
        if storage.type != "disk":
            continue
        backing = _disk_file(spec.name, storage.name)
        backing.parent.mkdir(parents=True, exist_ok=True)
        with open(backing, "wb") as handle:
            handle.truncate(storage.size_mib * 1024 * 1024)
        result = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True)
        if result.returncode != 0:
            raise HalabError(f"cannot attach the shared disk {storage.name} to a loop device: {result.stderr.strip()}")
        loop = os.stat(result.stdout.strip()).st_rdev
        # The nodes get a device node of the lab's own for the loop device, not the host's /dev/loopN: libvirt
        # chowns a guest's disk to its QEMU user, and must not change the host's device (that would outlive
        # the lab).
        node = _disk_node(spec.name, storage.name)
        node.unlink(missing_ok=True)
        os.mknod(node, stat.S_IFBLK | 0o600, loop)
        devices[storage.name] = result.stdout.strip()
    return devices


def _disk_node(lab: str, name: str) -> Path:
    return shared_dir(lab, name).with_suffix(".dev")


def check_shared_disks(state: LabState) -> None:
    """Before a node binds a loop device in: is it still on the lab's file? Loop numbers are the host's, and a
    device the lab lost (the host rebooted) may now be someone else's disk."""
    for name, device in state.provider_data.get("shared_disks", {}).items():
        listing = subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE", device],
                                 capture_output=True, text=True)
        if listing.stdout.strip() != str(_disk_file(state.lab, name)):
            raise HalabError(f"the shared disk {name} ({device}) is no longer attached to this lab's file; "
                             f"start afresh: halab down {state.lab} && halab up {state.lab}")


def detach_shared_disks(lab: str) -> None:
    """Detach every loop device backed by one of the lab's shared disks (found by backing file, so this
    works without the state too)."""
    for backing in sorted((lab_dir(lab) / "shared").glob("*.img")):
        listing = subprocess.run(["losetup", "--associated", str(backing)], capture_output=True, text=True)
        for line in listing.stdout.splitlines():
            device = line.split(":", 1)[0]
            if device.startswith("/dev/loop"):
                subprocess.run(["losetup", "--detach", device], capture_output=True)


def check_devices(spec: LabSpec) -> None:
    for node in spec.nodes:
        missing = [device for device in node.devices if not Path(device).exists()]
        if missing:
            raise HalabError(f"{node.name} needs {missing[0]}, which this host does not have")


def device_node(lab: str, device: str) -> Path:
    """The lab's own node for a host device: /dev/net/tun is <lab>/devices/net-tun."""
    return lab_dir(lab) / "devices" / device.removeprefix("/dev/").replace("/", "-")


def make_devices(spec: LabSpec, uid_base: int) -> None:
    """A device node of the lab's own for each device its nodes ask for: the host device's type and number,
    mode 0600, owned by root of the lab's nodes (``uid_base``). One that is already right is kept (a node that
    runs has it bound in); the host's own device is only looked at."""
    for device in sorted({device for node in spec.nodes for device in node.devices}):
        try:
            host = os.stat(device)
        except OSError as exc:
            raise HalabError(f"lab '{spec.name}' needs {device}, which this host does not have ({exc.strerror})") \
                from None
        kind = stat.S_IFMT(host.st_mode)
        if kind not in (stat.S_IFCHR, stat.S_IFBLK):
            raise HalabError(f"{device} on this host is not a device node")
        own = device_node(spec.name, device)
        try:
            found = os.stat(own, follow_symlinks=False)
            if (stat.S_IFMT(found.st_mode), found.st_rdev, found.st_uid, stat.S_IMODE(found.st_mode)) == \
                    (kind, host.st_rdev, uid_base, 0o600):
                continue
        except FileNotFoundError:
            pass
        own.parent.mkdir(parents=True, exist_ok=True)
        own.unlink(missing_ok=True)
        os.mknod(own, kind | 0o600, host.st_rdev)
        os.chmod(own, 0o600)  # whatever the umask took
        idmap.own(own, uid_base)
