"""libvirtd for VM labs, run inside a network namespace of its own (``halab-libvirt``).

VM labs' bridges live in libvirtd's network namespace (libvirt plugs each VM's tap into a bridge there),
so running libvirtd in a namespace of halab's keeps every lab bridge and all lab traffic off the host's own
network. On this kind of host there is no systemd to start it, so halab starts virtlogd and libvirtd by
hand: `halab libvirtd start`. A libvirtd that halab did not start is used as it is, but never stopped.

libvirtd also gets a mount namespace of its own, for one file: /dev/kvm. libvirt caches each QEMU binary's
capabilities (/var/cache/libvirt/qemu/capabilities/) and throws them away at every lookup where its view of
KVM differs from what it probed: the probe QEMU runs with CAP_DAC_OVERRIDE, so it opens a /dev/kvm of mode
0600 root:root (a host without udev, which would have made it 0660 root:kvm) and finds KVM, while the
validity check asks whether the qemu user may open /dev/kvm, and it may not. Every lookup then probes QEMU
again (two QEMU runs, about 4 s here), and defining and starting one domain looks the capabilities up 17
times: 68 s per VM before QEMU starts. In libvirtd's namespace /dev/kvm is what halab's own probe found
(accel.py): a KVM that hangs guests is made unopenable, for the probe too (so libvirt neither offers
`kvm` domains nor re-probes), and a working one gets udev's mode if the qemu user cannot open it.
"""

from __future__ import annotations

import grp
import json
import os
import signal
import subprocess
import time
from pathlib import Path

from halab.errors import HalabError
from halab.host import netns, procs
from halab.providers.libvirt import accel
from halab.runtime.state import lab_dir, lab_states

NAMESPACE = "halab-libvirt"
URI = "qemu:///system"
SOCKET = Path("/run/libvirt/libvirt-sock")
PIDFILES = {"libvirtd": Path("/run/libvirtd.pid"), "virtlogd": Path("/run/virtlogd.pid")}
VM_PROVIDERS = ("libvirt", "vagrant")
_NOT_VM_PROVIDERS = ("nspawn", "incus")
KVM_DEVICE = Path("/dev/kvm")
KVM_GROUP = "kvm"  # the group Debian's udev rule gives /dev/kvm, and libvirt-qemu is in

# Run in libvirtd's new mount namespace (a slave of the host's: unmounts there reach it) before exec'ing it.
_HIDE_KVM = """set -e
mount --bind /dev/kvm /dev/kvm
mount -o remount,bind,nodev /dev/kvm
exec "$@"
"""
_UDEV_KVM = """set -e
dir=$(mktemp -d /run/halab-kvm.XXXXXX)
mount -t tmpfs -o size=16k,mode=0700 halab-kvm "$dir"
mknod -m 0660 "$dir/kvm" c {major} {minor}
chgrp {group} "$dir/kvm"
mount --bind "$dir/kvm" /dev/kvm
umount -l "$dir"
rmdir "$dir"
exec "$@"
"""


def _pid(daemon: str) -> int | None:
    try:
        pid = int(PIDFILES[daemon].read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return pid if exe.endswith(daemon) else None


def _net_inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def switch_namespace() -> str | None:
    """The name of the namespace libvirtd runs in, or None if it runs in the host's (or not at all)."""
    pid = _pid("libvirtd")
    if pid is None:
        return None
    inode = _net_inode(f"/proc/{pid}/ns/net")
    for name in netns.list_netns(""):
        if _net_inode(str(netns.NETNS_DIR / name)) == inode:
            return name
    return None


def kvm_view(works: bool | None) -> str | None:
    """The script that gives libvirtd a /dev/kvm judged the same by its QEMU probe and by its cache check,
    given whether KVM really runs guests here (None: not known, no kernel to probe with yet); None when the
    host's /dev/kvm will do as it is."""
    try:
        device = KVM_DEVICE.stat()
    except OSError:
        return None  # no KVM at all: probe and check agree
    if works is False:
        return _HIDE_KVM
    try:
        group = grp.getgrnam(KVM_GROUP)
    except KeyError:
        return None
    if device.st_gid == group.gr_gid and device.st_mode & 0o060 == 0o060:
        return None  # udev made it usable for the qemu user already
    return _UDEV_KVM.format(major=os.major(device.st_rdev), minor=os.minor(device.st_rdev), group=KVM_GROUP)


def hides_kvm(mountinfo: str) -> bool:
    """Whether a mount table (/proc/PID/mountinfo) has /dev/kvm mounted nodev, as _HIDE_KVM leaves it."""
    return any(fields[4] == str(KVM_DEVICE) and "nodev" in fields[5].split(",")
               for fields in (line.split() for line in mountinfo.splitlines()) if len(fields) > 5)


def kvm_hidden() -> bool:
    """Whether the running libvirtd was started with KVM made unopenable (halab found it hangs guests)."""
    pid = _pid("libvirtd")
    try:
        return hides_kvm(Path(f"/proc/{pid}/mountinfo").read_text()) if pid else False
    except OSError:
        return False


def running() -> bool:
    return _pid("libvirtd") is not None and SOCKET.exists()


def start() -> str:
    """Start virtlogd and libvirtd in the halab-libvirt namespace (nothing to do if libvirtd runs)."""
    if running():
        return f"libvirtd is already running (namespace: {switch_namespace() or 'the host'})"
    for binary in ("libvirtd", "virtlogd"):
        if not Path(f"/usr/sbin/{binary}").exists():
            raise HalabError(f"{binary} is not installed; run: apt-get install libvirt-daemon-system")
    if not netns.netns_exists(NAMESPACE):
        netns.add_netns(NAMESPACE)
    enter = ["nsenter", f"--net={netns.NETNS_DIR / NAMESPACE}"]
    # `ip netns exec` would remount /sys and hide the cgroup mounts libvirt needs; nsenter keeps them.
    kernel = accel.probe_kernel()
    view = kvm_view(accel.kvm_works(kernel) if kernel else None)
    for daemon in ("virtlogd", "libvirtd"):
        if _pid(daemon) is None:
            command = [*enter, daemon, "-d"]
            if daemon == "libvirtd" and view:
                command = ["unshare", "--mount", "--propagation", "slave", "--", "sh", "-c", view, "sh", *command]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise HalabError(f"{daemon} did not start: {result.stderr.strip()[-300:]}")
    deadline = time.monotonic() + 30
    while not running():
        if time.monotonic() > deadline:
            raise HalabError("libvirtd did not start; see /var/log/libvirt/libvirtd.log")
        time.sleep(0.2)
    hidden = " (/dev/kvm hidden from it: KVM hangs guests on this host; VMs use TCG)" if view == _HIDE_KVM else ""
    return f"libvirtd started in network namespace {NAMESPACE}{hidden}"


def stop() -> str:
    """Stop the libvirtd and virtlogd that `start` started (only those in halab's namespace)."""
    if switch_namespace() != NAMESPACE:
        return "no libvirtd of halab's is running"
    readable, damaged = lab_states()
    # A damaged lab may be a VM lab, whose `down` needs libvirtd to remove the VMs, unless what is left of its
    # state says it is not (say, one written by a newer halab with a field this one does not know).
    vm_labs = [lab for lab, state in readable.items() if state.provider in VM_PROVIDERS]
    vm_labs += [lab for lab in damaged if _damaged_provider(lab) not in _NOT_VM_PROVIDERS]
    if vm_labs:
        raise HalabError(f"VM labs are up ({', '.join(sorted(vm_labs))}); run halab down on them first")
    for daemon in ("libvirtd", "virtlogd"):
        pid = _pid(daemon)
        if pid:
            procs.send_signal(pid, signal.SIGTERM)
            procs.wait_gone([pid], 15)
    netns.delete_netns(NAMESPACE)
    return "libvirtd stopped"


def _damaged_provider(lab: str) -> str | None:
    """The provider a damaged state file still names, if it is readable JSON that names one."""
    try:
        provider = json.loads((lab_dir(lab) / "state.json").read_text()).get("provider")
    except (OSError, ValueError, AttributeError, HalabError):
        return None
    return provider if isinstance(provider, str) else None


def not_running_message() -> str:
    return "libvirtd is not running; start it with: halab libvirtd start"
