"""libvirtd for VM labs, run inside a network namespace of its own (``halab-libvirt``).

VM labs' bridges live in libvirtd's network namespace (libvirt plugs each VM's tap into a bridge there),
so running libvirtd in a namespace of halab's keeps every lab bridge and all lab traffic off the host's own
network. On this kind of host there is no systemd to start it, so halab starts virtlogd and libvirtd by
hand: `halab libvirtd start`. A libvirtd that halab did not start is used as it is, but never stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from halab import netns, procs
from halab.errors import HalabError

NAMESPACE = "halab-libvirt"
URI = "qemu:///system"
SOCKET = Path("/run/libvirt/libvirt-sock")
PIDFILES = {"libvirtd": Path("/run/libvirtd.pid"), "virtlogd": Path("/run/virtlogd.pid")}


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
    for daemon in ("virtlogd", "libvirtd"):
        if _pid(daemon) is None:
            result = subprocess.run([*enter, daemon, "-d"], capture_output=True, text=True)
            if result.returncode != 0:
                raise HalabError(f"{daemon} did not start: {result.stderr.strip()[-300:]}")
    deadline = time.monotonic() + 30
    while not running():
        if time.monotonic() > deadline:
            raise HalabError("libvirtd did not start; see /var/log/libvirt/libvirtd.log")
        time.sleep(0.2)
    return f"libvirtd started in network namespace {NAMESPACE}"


def stop() -> str:
    """Stop the libvirtd and virtlogd that `start` started (only those in halab's namespace)."""
    if switch_namespace() != NAMESPACE:
        return "no libvirtd of halab's is running"
    from halab.state import lab_states

    readable, damaged = lab_states()
    # A damaged lab may be a VM lab: its `down` needs libvirtd to remove the VMs.
    vm_labs = [lab for lab, state in readable.items() if state.provider in ("libvirt", "vagrant")] + list(damaged)
    if vm_labs:
        raise HalabError(f"VM labs are up ({', '.join(sorted(vm_labs))}); run halab down on them first")
    for daemon in ("libvirtd", "virtlogd"):
        pid = _pid(daemon)
        if pid:
            procs.send_signal(pid, signal.SIGTERM)
            procs.wait_gone([pid], 15)
    netns.delete_netns(NAMESPACE)
    return "libvirtd stopped"


def not_running_message() -> str:
    return "libvirtd is not running; start it with: halab libvirtd start"
