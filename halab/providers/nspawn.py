"""The default provider: each node is a systemd-nspawn container with systemd as PID 1.

A node's root is an overlay of the cached image (read-only) and a per-node upper directory, so nodes start
in seconds and share the image on disk. Each node runs in its own network namespace, plugged into the lab's
bridges (labnet.py). halab starts one ``systemd-nspawn`` process per node in its own session, records its
PID, and ends only processes it can prove are its own: their command line names the node's root, or they
run in the cgroup halab made for the node (cgroups.py).

Power-on after a power loss takes FIRMWARE_SECONDS before the OS starts, like a real server's POST. Without
it a fenced node is back in the cluster (about one second) before the fencing node has even announced the
fencing result; Pacemaker on the returning node then reads "we were allegedly just fenced" and shuts down
for good. Hardware never boots that fast, so real clusters never see that race.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

from halab import cgroups, labnet, procs
from halab.errors import HalabError
from halab.hostfs import mount_overlay, remove_tree
from halab.image.build import build_image
from halab.image.layer import build_layer
from halab.providers.base import Progress, Provider
from halab.spec import LabSpec, Node
from halab.ssh import new_keypair, write_private_key
from halab.state import LabState, NodeInfo, lab_dir, power_lock, save_state, shared_dir, update_state


def _node_dir(lab: str, node: str) -> Path:
    return lab_dir(lab) / "nodes" / node


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


FIRMWARE_SECONDS = 10
# The node's launcher: a shell that moves itself into the node's cgroups (cgroups.py says why), then, when
# powered on after a power loss, stays "in firmware" for a while, then becomes systemd-nspawn (same PID).
# `&&`, so that killing the sleep (a power cut during POST) ends the shell instead of booting the node.
_LAUNCHER = (
    'for g in $HALAB_CGROUPS; do echo $$ > "$g/cgroup.procs" || exit 1; done; sleep $HALAB_POST && exec "$0" "$@"'
)


def _is_our_nspawn(pid: int, root: Path) -> bool:
    """True only for a live systemd-nspawn (or one still in POST) whose root is this node's: PIDs get reused."""
    args = _cmdline(pid)
    if args[:3] == ["/bin/sh", "-c", _LAUNCHER]:
        args = args[3:]
    return bool(args) and args[0].endswith("systemd-nspawn") and f"--directory={root}" in args


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _our_nspawn_pids(root: Path) -> list[int]:
    """Every nspawn process for this node root, even ones a crashed run never recorded."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_our_nspawn(int(entry.name), root):
            pids.append(int(entry.name))
    return pids


def _save_pid(state: LabState, node: str) -> None:
    """Record the node's nspawn PID (or that it has none) in the saved state, changing nothing else there:
    ``state`` was loaded when the power action began, and a fault or split brain may have been recorded
    since."""
    pid = state.provider_data.get("pids", {}).get(node)

    def change(saved: LabState) -> None:
        pids = saved.provider_data.setdefault("pids", {})
        if pid is None:
            pids.pop(node, None)
        else:
            pids[node] = pid

    update_state(state.lab, change)


def _hosts_file(spec: LabSpec) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
    for node in spec.nodes:
        for _, network in spec.networks_of(node):
            # The management network carries the plain node name; other networks get name-network.
            alias = node.name if network.host_joins else f"{node.name}-{network.name}"
            lines.append(f"{node.addresses[network.name]}\t{alias}")
    return "\n".join(lines) + "\n"


def nspawn_command(lab: str, node: str, root: Path) -> list[str]:
    """The systemd-nspawn command line that boots a node."""
    return [
        "systemd-nspawn", f"--directory={root}", f"--machine=halab-{lab}-{node}",
        f"--hostname={node}", "--register=no", "--keep-unit", "--boot", "--console=read-only",
        f"--network-namespace-path=/run/netns/{labnet.node_netns(lab, node)}",
        # The namespace is the node's own: --private-network says so, and only then does nspawn leave /proc/sys/net
        # writable (net.ipv4.ip_nonlocal_bind, ip_forward, arp_ignore are the node's to set, as on a real machine).
        "--private-network",
        # Pacemaker's IPaddr2 and the lab's fault tools need to manage interfaces inside the node.
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_ADMIN",
    ]


def node_extras(spec: LabSpec, node: Node) -> list[str]:
    """systemd-nspawn options for what the node's spec asks beyond a plain node: host devices bound in (a
    hypervisor's /dev/net/tun) and the lab's shared storage at its path: a directory, or a shared disk (a
    device node of the lab's for the loop device behind it)."""
    options = [f"--bind={device}" for device in node.devices]
    for storage in spec.shared_storage:
        if node.name in storage.nodes:
            shared = shared_dir(spec.name, storage.name)
            source = _disk_node(spec.name, storage.name) if storage.type == "disk" else shared
            options.append(f"--bind={source}:{storage.path}")
    return options


def _disk_file(lab: str, name: str) -> Path:
    return shared_dir(lab, name).with_suffix(".img")


def _attach_shared_disks(spec: LabSpec) -> dict[str, str]:
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


def _check_shared_disks(state: LabState) -> None:
    """Before a node binds a loop device in: is it still on the lab's file? Loop numbers are the host's, and a
    device the lab lost (the host rebooted) may now be someone else's disk."""
    for name, device in state.provider_data.get("shared_disks", {}).items():
        listing = subprocess.run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE", device],
                                 capture_output=True, text=True)
        if listing.stdout.strip() != str(_disk_file(state.lab, name)):
            raise HalabError(f"the shared disk {name} ({device}) is no longer attached to this lab's file; "
                             f"start afresh: halab down {state.lab} && halab up {state.lab}")


def _detach_shared_disks(lab: str) -> None:
    """Detach every loop device backed by one of the lab's shared disks (found by backing file, so this
    works without the state too)."""
    for backing in sorted((lab_dir(lab) / "shared").glob("*.img")):
        listing = subprocess.run(["losetup", "--associated", str(backing)], capture_output=True, text=True)
        for line in listing.stdout.splitlines():
            device = line.split(":", 1)[0]
            if device.startswith("/dev/loop"):
                subprocess.run(["losetup", "--detach", device], capture_output=True)


def _check_devices(spec: LabSpec) -> None:
    for node in spec.nodes:
        missing = [device for device in node.devices if not Path(device).exists()]
        if missing:
            raise HalabError(f"{node.name} needs {missing[0]}, which this host does not have")


class NspawnProvider(Provider):
    name = "nspawn"

    def host_problems(self) -> list[tuple[str, str]]:
        problems = []
        if not shutil.which("systemd-nspawn"):
            problems.append(("systemd-nspawn is missing", "apt-get install systemd-container"))
        if not shutil.which("ip"):
            problems.append(("iproute2 (ip) is missing", "apt-get install iproute2"))
        if "overlay" not in Path("/proc/filesystems").read_text():
            problems.append(("the kernel has no overlay filesystem", "modprobe overlay"))
        return problems

    # -- up -----------------------------------------------------------------------------------------
    def up(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        _check_devices(spec)
        image = build_image(progress)
        state.provider_data["image"] = image.hash
        layers = {name: build_layer(image, name, progress) for name in sorted({n.layer for n in spec.nodes if n.layer})}
        for storage in spec.shared_storage:
            if storage.type == "directory":
                shared_dir(spec.name, storage.name).mkdir(parents=True, exist_ok=True)
        state.provider_data["shared_disks"] = _attach_shared_disks(spec)
        key_file = lab_dir(spec.name) / "id_ed25519"
        private, public = new_keypair()
        write_private_key(key_file, private)
        key_file.with_suffix(".pub").write_text(public + "\n")
        state.provider_data.setdefault("pids", {})
        save_state(state)

        progress("creating the lab network")
        labnet.create(spec)
        for node in spec.nodes:
            progress(f"creating {node.name}")
            labnet.attach_node(spec, node)
            lowers = [layers[node.layer].path, image.rootfs] if node.layer else [image.rootfs]
            host_key = self._prepare_root(spec, node, lowers, public)
            address = str(node.addresses[spec.management_network.name])
            state.nodes.append(NodeInfo(node.name, address, 22, "root", str(key_file), host_key))
            self._start(state, node.name)
            save_state(state)

    def _prepare_root(self, spec: LabSpec, node: Node, lowers: list[Path], authorized: str) -> str:
        """Mount the node's overlay (its layer, if any, over the image) and give it its own identity; returns
        its SSH host public key."""
        base = _node_dir(spec.name, node.name)
        merged = base / "root"
        mount_overlay(lowers, base / "upper", base / "work", merged)
        (merged / "etc/hostname").write_text(node.name + "\n")
        (merged / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
        (merged / "etc/hosts").write_text(_hosts_file(spec))
        ssh_dir = merged / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(authorized + "\n")
        private, public = new_keypair()
        write_private_key(merged / "etc/ssh/ssh_host_ed25519_key", private)
        (merged / "etc/ssh/ssh_host_ed25519_key.pub").write_text(f"{public} root@{node.name}\n")
        return public

    def _start(self, state: LabState, node: str, firmware: bool = False) -> None:
        """Start the node's systemd-nspawn; with ``firmware``, it boots after the POST delay."""
        base = _node_dir(state.lab, node)
        root = base / "root"
        spec = state.spec()
        command = [*nspawn_command(state.lab, node, root), *node_extras(spec, spec.node(node))]
        self._end_orphans(state, node)
        _check_shared_disks(state)
        launcher_env = {
            **os.environ,
            "HALAB_CGROUPS": " ".join(str(path) for path in cgroups.node_cgroups(state.lab, node)),
            "HALAB_POST": str(FIRMWARE_SECONDS if firmware else 0),
        }
        command = ["/bin/sh", "-c", _LAUNCHER, *command]
        console = open(base / "console.log", "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            # `setsid --fork`: nspawn runs in a session of its own and is never our child, so the node
            # outlives this command, ignores the user's Ctrl-C, and never lingers as our zombie.
            subprocess.run(["setsid", "--fork", *command], stdin=subprocess.DEVNULL, stdout=console,
                           stderr=console, env=launcher_env, check=True)
        finally:
            console.close()
        deadline = time.monotonic() + 10
        while not (pids := _our_nspawn_pids(root)):
            if time.monotonic() > deadline:
                raise HalabError(f"{node}: systemd-nspawn did not start:\n{self.console_log(state, node)}")
            time.sleep(0.02)
        state.provider_data["pids"][node] = pids[0]

    # -- down ---------------------------------------------------------------------------------------
    def down(self, state: LabState, progress: Progress) -> None:
        nodes_dir = lab_dir(state.lab) / "nodes"
        node_names = sorted(p.name for p in nodes_dir.iterdir()) if nodes_dir.is_dir() else []
        for node in node_names:
            progress(f"stopping {node}")
            self._kill(state, node)
        progress("removing the lab network")
        labnet.destroy(state.lab)
        _detach_shared_disks(state.lab)
        for node in node_names:
            remove_tree(_node_dir(state.lab, node))

    def _kill(self, state: LabState, node: str) -> None:
        root = _node_dir(state.lab, node) / "root"
        pids = _our_nspawn_pids(root)
        # The container's init ignores SIGTERM from outside; SIGKILL of init ends the whole PID namespace,
        # and nspawn then exits by itself.
        # Any of them may end by itself meanwhile (send_signal does not mind), and ended ones may stay zombies
        # when the host's init does not reap them (procs.wait_gone counts those as gone).
        for pid in pids:
            for child in _children(pid):
                procs.send_signal(child, signal.SIGKILL)
        if not procs.wait_gone(pids, 10):
            for pid in pids:
                if _is_our_nspawn(pid, root):
                    procs.send_signal(pid, signal.SIGKILL)
            if not procs.wait_gone(pids, 10):
                raise HalabError(f"{node}: systemd-nspawn (PID {pids[0]}) does not exit")
        state.provider_data.get("pids", {}).pop(node, None)
        self._end_orphans(state, node)
        cgroups.remove_node_cgroups(state.lab, node)

    def _end_orphans(self, state: LabState, node: str) -> None:
        """End a container that outlived its systemd-nspawn (killed by someone); found by its cgroup."""
        stuck = cgroups.kill_node_processes(state.lab, node)
        if stuck:
            raise HalabError(f"{node}: processes {sorted(stuck)} of the node do not exit")

    # -- power and cables ---------------------------------------------------------------------------
    def node_running(self, state: LabState, node: str) -> bool:
        return bool(_our_nspawn_pids(_node_dir(state.lab, node) / "root"))

    def power_off(self, state: LabState, node: str) -> None:
        state.node(node)
        with power_lock(state.lab, node):
            self._kill(state, node)
            spec = state.spec()
            labnet.reset_node(spec, spec.node(node))
        _save_pid(state, node)

    def power_on(self, state: LabState, node: str) -> None:
        state.node(node)
        with power_lock(state.lab, node):
            if not self.node_running(state, node):
                self._start(state, node, firmware=True)
        _save_pid(state, node)

    def set_link(self, state: LabState, node: str, network: str, up: bool) -> None:
        spec = state.spec()
        net_index = spec.network_index(spec.node(node), network)
        labnet.set_cable(state.lab, spec.node_names.index(node), net_index, up)

    def drop_traffic(self, state: LabState, node: str, peers: list[str], drop: bool) -> None:
        # The node's network namespace is halab's, so the host filters it from outside; the rules live in a
        # chain of their own so that undoing them leaves anything else alone.
        if not shutil.which("iptables"):
            raise HalabError("iptables is missing on the host; run: apt-get install iptables")
        namespace = labnet.node_netns(state.lab, node)
        chain = "HALAB-PARTITION"

        def iptables(*args: str, check: bool = True) -> None:
            result = subprocess.run(["ip", "netns", "exec", namespace, "iptables", "-w", *args],
                                    capture_output=True, text=True)
            if check and result.returncode != 0:
                raise HalabError(f"{node}: iptables {' '.join(args)} failed: {result.stderr.strip()}")

        for hook in ("INPUT", "OUTPUT"):
            iptables("-D", hook, "-j", chain, check=False)
        iptables("-F", chain, check=False)
        iptables("-X", chain, check=False)
        if not drop:
            return
        iptables("-N", chain)
        for peer in peers:
            iptables("-A", chain, "-s", peer, "-j", "DROP")
            iptables("-A", chain, "-d", peer, "-j", "DROP")
        for hook in ("INPUT", "OUTPUT"):
            iptables("-I", hook, "-j", chain)

    def console_log(self, state: LabState, node: str) -> str:
        path = _node_dir(state.lab, node) / "console.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""
