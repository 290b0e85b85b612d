"""The facts about this host that labs depend on, each found by asking the kernel, not by guessing.

`halab doctor` prints them all, so that a host that differs from the one the labs were made on (no udev, no KVM,
no nf_tables, a minimal kernel) is one clear line per difference instead of a failure deep inside a lab. A fact
is "ok", a "note" (labs run, with a stated difference) or a "problem" (some labs cannot run; with the fix).
README.md, "What a host needs", lists the same facts.
"""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from halab import paths
from halab.errors import HalabError
from halab.host import cgroups, idmap
from halab.host.fs import unescape_mount_path

CONTAINER_LABS = "clustering, clustering3, infrastructure, loadbalancing, virtualization"


@dataclass(frozen=True)
class Fact:
    name: str
    state: str  # "ok", "note" or "problem"
    found: str
    labs: str  # which labs depend on it
    fix: str = ""


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def user_namespaces() -> Fact:
    limit = _read("/proc/sys/user/max_user_namespaces")
    if not Path("/proc/self/ns/user").exists() or limit in ("", "0"):
        return Fact("user namespaces", "problem", f"not available (user.max_user_namespaces = {limit or 'none'})",
                    CONTAINER_LABS, "sysctl -w user.max_user_namespaces=15000 (and a kernel with CONFIG_USER_NS)")
    return Fact("user namespaces", "ok", f"available (up to {limit}): root in a node is nobody on the host",
                CONTAINER_LABS)


def idmapped_mounts() -> Fact:
    """Tried for real in the image cache's file system, where nodes' lower layers are mounted idmapped."""
    labs = CONTAINER_LABS
    if os.geteuid() != 0:
        return Fact("idmapped mounts", "note", "not tried (needs root)", labs, "run halab doctor as root")
    base = paths.cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".doctor-") as tmp:
        source, target = Path(tmp, "source"), Path(tmp, "target")
        source.mkdir()
        try:
            idmap.bind_idmapped(source, target, idmap.FIRST_BASE)
            shifted = os.stat(target).st_uid == idmap.FIRST_BASE  # root's directory, seen as the nodes' root
        except HalabError as exc:
            return Fact("idmapped mounts", "problem", str(exc), labs, "Linux 5.12 or later, cache on ext4/xfs/btrfs")
        finally:
            subprocess.run(["umount", str(target)], capture_output=True)
    if not shifted:
        return Fact("idmapped mounts", "problem", f"a mount in {base} did not shift owners", labs,
                    "Linux 5.12 or later, cache on ext4/xfs/btrfs")
    return Fact("idmapped mounts", "ok", f"work in {base} (kernel {platform.release()})", labs)


def cgroups_fact() -> Fact:
    mounts = cgroups.systemd_hierarchy_mounts()
    if not mounts:
        return Fact("cgroups", "note", "no cgroup v2 (or name=systemd) hierarchy mounted: every node shares one "
                    "cgroup tree, and units in nodes may fail at random", CONTAINER_LABS,
                    "mount -t cgroup2 none /sys/fs/cgroup")
    kinds = ", ".join(str(m) for m in mounts)
    return Fact("cgroups", "ok", f"a cgroup of its own per node in {kinds}", CONTAINER_LABS)


def tun() -> Fact:
    try:
        info = os.stat("/dev/net/tun")
    except OSError:
        return Fact("/dev/net/tun", "problem", "missing: the hypervisors' guests get no network", "virtualization",
                    "modprobe tun (or a kernel with CONFIG_TUN)")
    mode = stat.filemode(info.st_mode)
    return Fact("/dev/net/tun", "ok", f"{mode} uid {info.st_uid} (a host without udev has 0600 root: fine, each lab "
                "gets a device node of its own and this one is left as it is)", "virtualization")


def _probe_namespace() -> set[str]:
    """What works inside a fresh network namespace, as in a lab's: one shell, gone when it exits."""
    script = """
ip link add halabd0 type dummy 2>/dev/null && echo dummy
ip link add halabb0 type bond 2>/dev/null && echo bonding
ip link set lo up; tc qdisc add dev lo root netem delay 1ms 2>/dev/null && echo netem
[ -e /proc/net/ip_vs ] && echo ipvs
iptables-legacy -w -n -L INPUT >/dev/null 2>&1 && echo legacy
iptables-nft -w -n -L INPUT >/dev/null 2>&1 && echo nft
"""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return set()
    result = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=20)
    return set(result.stdout.split())


def namespace_facts(found: set[str] | None = None) -> list[Fact]:
    """iptables backends, bonding, netem and IPVS inside a network namespace (as in a lab's nodes)."""
    if found is None:
        found = _probe_namespace()
    if os.geteuid() != 0:
        return [Fact("kernel features in lab namespaces", "note", "not tried (needs root)", CONTAINER_LABS,
                     "run halab doctor as root")]
    facts = []
    if "legacy" in found:
        facts.append(Fact("iptables in nodes", "ok", "the legacy backend works (the node image's default)"
                          + ("; nf_tables too" if "nft" in found else "; no nf_tables"), CONTAINER_LABS))
    elif "nft" in found:
        facts.append(Fact("iptables in nodes", "ok", "nf_tables only (ip_tables is not loaded): nodes switch to "
                          "iptables-nft at boot", CONTAINER_LABS))
    else:
        facts.append(Fact("iptables in nodes", "problem", "neither legacy iptables nor nf_tables works: no "
                          "`iptables` in nodes, no `halab fault infrastructure partition`", CONTAINER_LABS,
                          "modprobe ip_tables iptable_filter (or nf_tables)"))
    missing = {"bonding": "bonding (notebook 05 explains it; the infrastructure lab makes redundancy from "
                          "Corosync's links)",
               "netem": "netem (no delay or loss can be injected on lab links)",
               "ipvs": "IPVS (LVS is taught, not run: the loadbalancing lab uses HAProxy)"}
    absent = [text for feature, text in missing.items() if feature not in found]
    facts.append(Fact("bonding, netem, IPVS in namespaces", "note" if absent else "ok",
                      ("not available: " + "; ".join(absent)) if absent else "available",
                      "infrastructure, loadbalancing"))
    return facts


def host_iptables() -> Fact:
    if not shutil.which("iptables"):
        return Fact("iptables on the host", "problem", "missing: halab cannot keep lab nodes off the host's "
                    "services, nor partition a node", "all", "apt-get install iptables")
    version = subprocess.run(["iptables", "-V"], capture_output=True, text=True).stdout.strip()
    return Fact("iptables on the host", "ok", f"{version}: a chain per lab link keeps nodes off the host", "all")


def _mount_options(path: Path) -> list[str]:
    """The mount options of the file system that holds ``path`` (the longest mount point above it)."""
    best, options = "", []
    for line in _read("/proc/self/mountinfo").splitlines():
        fields = line.split()
        if len(fields) < 6:
            continue
        point = unescape_mount_path(fields[4])
        inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, options = point, fields[5].split(",")
    return options


def state_dir_devices() -> Fact:
    state = paths.state_dir()
    existing = next((p for p in [state, *state.parents] if p.exists()), Path("/"))
    if "nodev" in _mount_options(existing):
        return Fact("device nodes in the state directory", "problem", f"{existing} is mounted nodev: the lab's own "
                    "/dev/net/tun and shared disk cannot be opened in nodes", "virtualization",
                    "set HALAB_STATE_DIR to a directory on a file system without nodev")
    return Fact("device nodes in the state directory", "ok", f"{state} allows device nodes (the lab's tun, SAN disk)",
                "virtualization")


def loop_devices() -> Fact:
    if not Path("/dev/loop-control").exists():
        return Fact("loop devices", "problem", "no /dev/loop-control: no shared SAN disk", "virtualization",
                    "modprobe loop")
    return Fact("loop devices", "ok", "available (the shared SAN disk)", "virtualization")


# What a node's systemd, journald, logind and D-Bus hold, measured on idle nodes of the node image (issue 21's
# capacity run); the kernel counts every node's instances against root's, since root made their namespaces.
INOTIFY_PER_NODE = 8
INOTIFY_WANTED = 8192  # what scripts/install.sh sets (Incus's production settings go higher still)


def inotify() -> Fact:
    """Without enough inotify instances a node's systemd fails units at boot ("Failed to allocate directory
    watch: Too many open files") once a few dozen nodes run: the limit is the host's, not the node's."""
    limit = _read("/proc/sys/fs/inotify/max_user_instances")
    if not limit.isdigit():
        return Fact("inotify instances", "note", "fs.inotify.max_user_instances unreadable", CONTAINER_LABS)
    nodes = int(limit) // INOTIFY_PER_NODE
    if int(limit) < INOTIFY_WANTED:
        return Fact("inotify instances", "note", f"fs.inotify.max_user_instances = {limit}: about {nodes} nodes at "
                    "once on this host before their systemd fails units", CONTAINER_LABS,
                    f"bash scripts/install.sh (sets {INOTIFY_WANTED} in /etc/sysctl.d/60-halab.conf)")
    return Fact("inotify instances", "ok", f"fs.inotify.max_user_instances = {limit} (about {nodes} nodes)",
                CONTAINER_LABS)


def all_facts() -> list[Fact]:
    """The facts of the host itself (KVM, a provider's, is halab/providers/libvirt/accel.py's kvm_fact)."""
    return [user_namespaces(), idmapped_mounts(), cgroups_fact(), host_iptables(), *namespace_facts(), tun(),
            state_dir_devices(), loop_devices(), inotify()]
