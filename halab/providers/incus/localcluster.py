"""An Incus cluster of N members on this one host, made the way Incus' own test suite makes one
(test/includes/clustering.sh, incusd.sh in lxc/incus): each member is an ``incusd`` in a network and mount
namespace of its own (a fresh sysfs and /proc there), with its own INCUS_DIR, started by hand (no systemd),
on a bridge of the host; the first member bootstraps the cluster from a preseed and the others join it with a
token (``incus cluster add``). Each member has a btrfs storage pool on a loop file, so a node's disk is a
snapshot of the imported image.

This host plays the front host: it is 100.64.42.1 on the members' bridge, halab talks to the members over
HTTPS with a client certificate they trust; the members' default route is the segment itself (nothing of
theirs is forwarded off the host).
Used by the integration test, benchmarks/cluster.py and benchmarks/incus_probe.py; `stop()` removes every
process, namespace, mount, loop device, bridge and file it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError
from halab.host import procs
from halab.host.fs import loop_devices
from halab.providers.incus.config import EngineConfig, render_config

SUBNET = "100.64.42"  # the front host is .1, member i is .(10+i)
BRIDGE = "hlincus0"
INCUSD = "/usr/libexec/incus/incusd"
POOL = "halab"
POOL_SIZE = "20GiB"  # a sparse file

# Run in the member's new namespaces before incusd: sysfs and /proc of its own network namespace (incusd reads
# the bridges it makes there), no DNS (an engine must not look for image servers), then hold the namespaces.
_HOLDER = """set -e
mount --make-rprivate /
mount --move /sys /mnt
mount -t sysfs sysfs /sys
mount --move /mnt/fs/cgroup /sys/fs/cgroup
umount -l /mnt
mount -t proc proc /proc
touch "$2" && mount --bind "$2" /etc/resolv.conf
ip link set lo up
echo $$ > "$1"
exec sleep infinity
"""


@dataclass
class Member:
    name: str
    index: int
    directory: Path

    @property
    def address(self) -> str:
        return f"{SUBNET}.{10 + self.index}"

    @property
    def host_veth(self) -> str:
        return f"hlincus{self.index}h"

    def env(self) -> dict[str, str]:
        return {**os.environ, "INCUS_DIR": str(self.directory / "incus")}

    def pid(self, what: str) -> int | None:
        try:
            return int((self.directory / f"{what}.pid").read_text())
        except (OSError, ValueError):
            return None


def _run(command: list[str], env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, env=env, input=input, timeout=300)
    if result.returncode != 0:
        raise HalabError(f"{' '.join(command[:4])}... failed: {(result.stderr or result.stdout).strip()[-400:]}")
    return result.stdout


class LocalCluster:
    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.members = [Member(f"m{i}", i, root / f"m{i}") for i in range(1, size + 1)]

    @property
    def config_file(self) -> Path:
        return self.root / "incus.toml"

    # -- making it ---------------------------------------------------------------------------------
    def start(self) -> EngineConfig:
        self.stop()  # what a run cut short left
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
        _run(["ip", "address", "add", f"{SUBNET}.1/24", "dev", BRIDGE])
        _run(["ip", "link", "set", BRIDGE, "up"])
        for member in self.members:
            self._namespaces(member)
            self._spawn(member)
        first = self.members[0]
        self._preseed(first, {
            "config": {"core.https_address": f"{first.address}:8443", "images.auto_update_interval": "0"},
            "storage_pools": [{"name": POOL, "driver": "btrfs", "config": {"size": POOL_SIZE}}],
            "profiles": [{"name": "default", "devices": {"root": {"path": "/", "pool": POOL, "type": "disk"}}}],
            "cluster": {"server_name": first.name, "enabled": True}})
        certificate = (first.directory / "incus/cluster.crt").read_text()
        for member in self.members[1:]:
            token = _run(["incus", "cluster", "add", member.name, "--quiet"], first.env()).strip()
            self._preseed(member, {"cluster": {
                "enabled": True, "server_name": member.name, "server_address": f"{member.address}:8443",
                "cluster_address": f"{first.address}:8443", "cluster_certificate": certificate,
                "cluster_token": token, "member_config": [
                    {"entity": "storage-pool", "name": POOL, "key": "source", "value": ""},
                    {"entity": "storage-pool", "name": POOL, "key": "size", "value": POOL_SIZE}]}})
        return self._trust_front(certificate)

    def _namespaces(self, member: Member) -> None:
        member.directory.mkdir(parents=True, exist_ok=True)
        (member.directory / "incus").mkdir(exist_ok=True)
        (member.directory / "incus").chmod(0o711)
        script = member.directory / "holder.sh"
        script.write_text(_HOLDER)
        pid_file = member.directory / "holder.pid"
        pid_file.unlink(missing_ok=True)
        subprocess.run(["setsid", "--fork", "unshare", "--mount", "--net", "sh", str(script), str(pid_file),
                        str(member.directory / "resolv.conf")], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        deadline = time.monotonic() + 10
        while member.pid("holder") is None:
            if time.monotonic() > deadline:
                raise HalabError(f"{member.name}: its namespaces were not made")
            time.sleep(0.05)
        holder = str(member.pid("holder"))
        _run(["ip", "link", "add", member.host_veth, "type", "veth", "peer", "name", "eth0", "netns", holder])
        _run(["ip", "link", "set", member.host_veth, "master", BRIDGE, "up"])
        _run(["nsenter", "-t", holder, "-n", "sh", "-c",
              f"ip link set eth0 up && ip address add {member.address}/24 dev eth0 && "
              # A default route that leads nowhere: Incus takes its tunnels' interface from the default route;
              # an address off the segment is only ever asked for by ARP, which nobody answers.
              "ip route add default dev eth0"])

    def _spawn(self, member: Member) -> None:
        """incusd in the member's namespaces (upstream's spawn_incus / respawn_incus)."""
        log = open(member.directory / "incusd.out", "ab")  # noqa: SIM115 - handed to the child
        try:
            daemon = subprocess.Popen(
                ["nsenter", "-t", str(member.pid("holder")), "-n", "-m", INCUSD, "--logfile",
                 str(member.directory / "incus/incus.log")], env=member.env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()
        (member.directory / "incusd.pid").write_text(str(daemon.pid))
        _run(["incus", "admin", "waitready", "--timeout=120"], member.env())

    def _preseed(self, member: Member, preseed: dict[str, object]) -> None:
        _run(["incus", "admin", "init", "--preseed"], member.env(), input=json.dumps(preseed))

    def _trust_front(self, certificate: str) -> EngineConfig:
        """A client certificate for halab (this host, the front host), trusted by the cluster."""
        cert, key = self.root / "client.crt", self.root / "client.key"
        _run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1", "-nodes",
              "-days", "3650", "-subj", "/CN=halab-front", "-keyout", str(key), "-out", str(cert)])
        key.chmod(0o600)
        _run(["incus", "config", "trust", "add-certificate", str(cert), "--name", "halab-front"],
             self.members[0].env())
        fingerprint = _run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=certificate)
        config = EngineConfig(endpoints=[f"https://{m.address}:8443" for m in self.members],
                              front_address=f"{SUBNET}.1", storage_pool=POOL, client_cert=str(cert),
                              client_key=str(key),
                              server_fingerprint=fingerprint.split("=", 1)[1].strip().replace(":", "").lower())
        self.config_file.write_text(render_config(config))
        return config

    # -- losing a member and getting it back ---------------------------------------------------------
    def lose(self, member: Member) -> None:
        """The member's host dies: its network is cut, its incusd and every container it ran are killed."""
        with contextlib.suppress(HalabError):
            _run(["ip", "link", "set", member.host_veth, "down"])
        self._kill_member_processes(member)

    def restore(self, member: Member) -> None:
        """The member's host is back: its network, and incusd started again (upstream's respawn_incus); returns
        once the rest of the cluster sees it online again. Safe to call for a member that is not lost: a second
        incusd on a member's directory would run beside the first on the same database (seen here as a
        network that stayed "in use" after every instance on it was deleted)."""
        _run(["ip", "link", "set", member.host_veth, "up"])
        if not self.daemon_running(member):
            self._spawn(member)
        self._wait_online(member)

    def daemon_running(self, member: Member) -> bool:
        daemon = member.pid("incusd")
        return daemon is not None and INCUSD in procs.command_line(daemon)

    def _wait_online(self, member: Member, seconds: float = 90) -> None:
        """Until another member's view of the cluster has ``member`` online (heartbeats come every 10 s)."""
        other = next((m for m in self.members if m is not member and self.daemon_running(m)), member)
        deadline = time.monotonic() + seconds
        while True:
            listed = json.loads(_run(["incus", "cluster", "list", "--format", "json"], other.env()) or "[]")
            if any(m.get("server_name") == member.name and m.get("status") == "Online" for m in listed):
                return
            if time.monotonic() > deadline:
                raise HalabError(f"{member.name} is not online in the cluster {seconds:.0f} s after its restart")
            time.sleep(1)

    def _kill_member_processes(self, member: Member) -> None:
        """incusd, LXC's monitors (their command lines name the member's directory) and every container under
        them: SIGKILL of a container's init ends its whole PID namespace."""
        marker = str(member.directory) + "/"
        tops = [pid for pid in _all_pids() if marker in procs.command_line(pid)]
        daemon = member.pid("incusd")
        if daemon and daemon not in tops and Path(f"/proc/{daemon}").exists():
            tops.append(daemon)
        family = _descendants(tops)
        for pid in sorted(family, reverse=True):
            procs.send_signal(pid, signal.SIGKILL)
        procs.wait_gone(sorted(family), 20)

    # -- taking it all away --------------------------------------------------------------------------
    def stop(self) -> None:
        """Everything start() made, gone; safe to run twice or after a failed start."""
        for member in self.members:
            if member.directory.exists():
                self._kill_member_processes(member)
                holder = member.pid("holder")
                if holder and "sleep" in procs.command_line(holder):
                    procs.send_signal(holder, signal.SIGKILL)
                    procs.wait_gone([holder], 10)
            with contextlib.suppress(HalabError):
                _run(["ip", "link", "delete", member.host_veth])
        with contextlib.suppress(HalabError):
            _run(["ip", "link", "delete", BRIDGE])
        for device, backing in loop_devices():
            if backing.startswith(str(self.root) + "/"):
                subprocess.run(["losetup", "-d", device], capture_output=True)
        remove_lxc_cgroups()
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.root)], capture_output=True)
        if self.root.exists():
            raise HalabError(f"{self.root} could not be removed")


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _descendants(tops: list[int]) -> set[int]:
    parents: dict[int, list[int]] = {}
    for pid in _all_pids():
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(pid)
    found, todo = set(), list(tops)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += parents.get(pid, [])
    return found


LXC_CGROUP_PREFIXES = ("lxc.payload.halab", "lxc.monitor.halab", "lxc.pivot")


def lxc_cgroups() -> list[Path]:
    """Cgroups LXC made for halab's containers (project names begin with "halab"), in every hierarchy."""
    found = []
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        with contextlib.suppress(OSError):
            found += [p for p in hierarchy.iterdir() if p.is_dir() and p.name.startswith(LXC_CGROUP_PREFIXES)]
    return found


def remove_lxc_cgroups() -> None:
    """What LXC leaves when its containers are killed rather than stopped: their (empty) cgroups."""
    for group in lxc_cgroups():
        for sub in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            group.rmdir()
