"""The default provider: each node is a systemd-nspawn container with systemd as PID 1.

A node's root is an overlay of the cached image (read-only) and a per-node upper directory, so nodes start
in seconds and share the image on disk. A node runs in a user namespace of its own lab's ID range
(halab/host/idmap.py): root in a node is an unprivileged ID on the host, the image is seen through an idmapped
mount, and the node's network namespace (made by nspawn, so it belongs to the node) is plugged into the lab's
bridges once the node runs (nspawn_launch.py, labnet.plumbing()). halab starts one ``systemd-nspawn``
process per node in its own session, records its PID, and ends only processes it can prove are its own:
their command line names the node's root, or they run in the cgroup halab made for the node (cgroups.py).

Power-on after a power loss takes FIRMWARE_SECONDS before the OS starts, like a real server's POST. Without
it a fenced node is back in the cluster (about one second) before the fencing node has even announced the
fencing result; Pacemaker on the returning node then reads "we were allegedly just fenced" and shuts down
for good. Hardware never boots that fast, so real clusters never see that race.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from halab import paths
from halab.errors import HalabError
from halab.host import cglimits, cgroups, idmap, locks, netns, procs
from halab.host.fs import mount_overlay, remove_tree
from halab.image.build import build_image, list_images
from halab.image.layer import build_layer
from halab.providers.base import Provider
from halab.providers.nspawn import guard
from halab.providers.nspawn.disk import node_layers
from halab.providers.nspawn.storage import (
    check_devices,
    check_shared_disks,
    detach_shared_disks,
    make_devices,
    make_shared_storage,
    node_extras,
)
from halab.runtime import labnet
from halab.runtime.ssh import new_keypair, write_private_key
from halab.runtime.state import (
    LabState,
    NodeInfo,
    lab_dir,
    lab_states,
    load_state,
    power_lock,
    save_state,
    update_state,
)
from halab.spec import LabSpec, Node
from halab.types import Progress


def _node_dir(lab: str, node: str) -> Path:
    return lab_dir(lab) / "nodes" / node


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


FIRMWARE_SECONDS = 10
LAUNCHER = "halab.providers.nspawn.launch"  # see that module: cgroups, the POST delay, then plugging in
# A launcher is known by either name: a node powered on by a halab from before halab/providers/nspawn/ (an
# upgrade while its lab is up) has a launcher called by its old name while it is in POST.
LAUNCHERS = (LAUNCHER, "halab.providers.nspawn_launch")


def _is_our_nspawn(pid: int, root: Path) -> bool:
    """True only for a live systemd-nspawn (or its launcher, in POST) whose root is this node's: PIDs get
    reused. Its command line says which node; that it is halab's is for guard.is_halabs to say."""
    args = _cmdline(pid)
    if args[1:3] in (["-m", launcher] for launcher in LAUNCHERS) and "--" in args:
        args = args[args.index("--") + 1:]
    return bool(args) and args[0].endswith("systemd-nspawn") and f"--directory={root}" in args


def _is_nspawn_itself(pid: int) -> bool:
    args = _cmdline(pid)
    return bool(args) and args[0].endswith("systemd-nspawn")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _our_nspawn_pids(lab: str, node: str) -> list[int]:
    """Every nspawn process (or launcher in POST) of the node, even ones a crashed run never recorded."""
    root = _node_dir(lab, node) / "root"
    pids = []
    for entry in Path("/proc").iterdir():
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and _is_our_nspawn(pid, root) and guard.is_halabs(pid, lab, node):
            pids.append(pid)
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


# Made in the node once it is plugged in: its halab-plugged.service (the image) holds network-online.target until
# then, so that keepalived, corosync and haproxy, which start after that target, find their interfaces at boot.
# As the node's root (its user namespace): a file of the host's root could not be made on the node's own /run.
PLUGGED = ["nsenter", "--target", "{leader}", "--user", "--mount", "--", "touch", "/run/halab-plugged"]


def plumbing_now(lab: str, node: str) -> list[list[str]]:
    """The commands that plug the node in, from the lab's state as it is now (nspawn_launch.py runs them), and
    then the one that tells the node's boot that it is plugged in (PLUGGED)."""
    state = load_state(lab)
    if state is None:
        return []
    spec = state.spec()
    unplugged = set(state.provider_data.get("unplugged", {}).get(node, []))
    dropped = list(state.provider_data.get("dropped", {}).get(node, []))
    return [*labnet.plumbing(spec, spec.node(node), unplugged, dropped), PLUGGED]


def _remember(state: LabState, what: str, node: str, item: str, add: bool) -> None:
    """Keep a node's unplugged cables (``what`` = "unplugged") or dropped peers ("dropped") in the saved
    state, for its next boot."""

    def change(saved: LabState) -> None:
        items = saved.provider_data.setdefault(what, {}).setdefault(node, [])
        if add and item not in items:
            items.append(item)
        elif not add and item in items:
            items.remove(item)
        state.provider_data[what] = saved.provider_data[what]

    update_state(state.lab, change)


def _hosts_file(spec: LabSpec) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", ""]
    lines += [f"{address}\t{name}" for address, name in spec.host_entries()]
    return "\n".join(lines) + "\n"


def nspawn_command(lab: str, node: str, root: Path, uid_base: int) -> list[str]:
    """The systemd-nspawn command line that boots a node."""
    return [
        "systemd-nspawn", f"--directory={root}", f"--machine=halab-{lab}-{node}",
        f"--hostname={node}", "--register=no", "--keep-unit", "--boot", "--console=read-only",
        # Root in the node is uid_base on the host; its files are already in that range (idmapped lower
        # layers, an upper directory of the range), so nspawn must not chown anything.
        f"--private-users={uid_base}:{idmap.RANGE}", "--private-users-ownership=off",
        # A network namespace of the node's own, owned by its user namespace: IPaddr2 manages addresses there,
        # /proc/sys/net is the node's to set (ip_nonlocal_bind, arp_ignore), and nothing else is.
        "--private-network",
        # Capabilities within the node's user namespace, never on the host.
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_ADMIN",
    ]


def _uid_base(state: LabState) -> int:
    """The lab's ID range, given out once per lab under a lock (halab/host/idmap.py)."""
    if "uid_base" in state.provider_data:
        return int(state.provider_data["uid_base"])

    def busy(holder: locks.Holder | None) -> HalabError:
        return HalabError(f"the table of node ID ranges stayed locked{f' by {holder}' if holder else ''}")

    with locks.hold(paths.state_dir() / ".uid-ranges.lock", busy, wait=30):
        readable, _ = lab_states()
        base = idmap.free_base({int(s.provider_data["uid_base"]) for s in readable.values()
                                if "uid_base" in s.provider_data})
        state.provider_data["uid_base"] = base
        save_state(state)
    return base


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
        check_devices(spec)
        image = build_image(progress)
        state.provider_data["image"] = image.hash
        layers = {name: build_layer(image, name, progress) for name in sorted({n.layer for n in spec.nodes if n.layer})}
        state.provider_data["lowers"] = {n.name: [str(layers[n.layer].path)] if n.layer else [] for n in spec.nodes}
        uid_base = _uid_base(state)
        state.provider_data["shared_disks"] = make_shared_storage(spec, uid_base)
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
            self._mount_root(state, node.name)
            host_key = self._give_identity(spec, node, public, uid_base)
            address = str(node.addresses[spec.management_network.name])
            state.nodes.append(NodeInfo(node.name, address, 22, "root", str(key_file), host_key))
            self._start(state, node.name)
            save_state(state)

    def _mount_root(self, state: LabState, node: str) -> Path:
        """The node's root: an overlay of its layer (if any) and the image, each seen through an idmapped
        mount in the lab's ID range, with the node's own upper directory. Mounted again after a host reboot
        (the upper directory, the node's disk, is kept)."""
        base, uid_base = _node_dir(state.lab, node), _uid_base(state)
        image = next((i for i in list_images() if i.hash == state.provider_data["image"]), None)
        if image is None:
            raise HalabError(f"the node image {state.provider_data['image']} of lab '{state.lab}' is gone; start "
                             f"afresh: halab down {state.lab} && halab up {state.lab}")
        sources = [Path(p) for p in state.provider_data.get("lowers", {}).get(node, [])] + [image.rootfs]
        lowers = []
        for index, source in enumerate(sources):
            lowers.append(base / f"lower{index}")
            idmap.bind_idmapped(source, lowers[-1], uid_base)
        upper, work = node_layers(base, state.spec().node(node).limits.disk_mib)
        for folder in (upper, work):
            folder.mkdir(parents=True, exist_ok=True)
            idmap.own(folder, uid_base)
        mount_overlay(lowers, upper, work, base / "root")
        return base / "root"

    def _give_identity(self, spec: LabSpec, node: Node, authorized: str, uid_base: int) -> str:
        """The node's hostname, machine-id, hosts file, host key and the lab's key, owned by its root; returns
        its SSH host public key."""
        merged = _node_dir(spec.name, node.name) / "root"
        private, public = new_keypair()
        ssh_dir = merged / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        files = {"etc/hostname": node.name + "\n", "etc/machine-id": uuid.uuid4().hex + "\n",
                 "etc/hosts": _hosts_file(spec), "root/.ssh/authorized_keys": authorized + "\n",
                 "etc/ssh/ssh_host_ed25519_key.pub": f"{public} root@{node.name}\n"}
        for name, text in files.items():
            (merged / name).write_text(text)
        write_private_key(merged / "etc/ssh/ssh_host_ed25519_key", private)
        for name in [*files, "etc/ssh/ssh_host_ed25519_key", "root/.ssh"]:
            idmap.own(merged / name, uid_base)
        return public

    def _start(self, state: LabState, node: str, firmware: bool = False) -> None:
        """Start the node's systemd-nspawn; with ``firmware``, it boots after the POST delay. Whatever of the
        lab's runtime a host reboot took (switch, bridges, mounts) is made again around the node's disk."""
        base = _node_dir(state.lab, node)
        spec = state.spec()
        root = self._mount_root(state, node)
        labnet.ensure(spec)
        labnet.unplug_node(state.lab, node)  # a namespace left from the node's last boot
        make_devices(spec, _uid_base(state))  # again after a host reboot: cheap, and kept when already right
        command = [*nspawn_command(state.lab, node, root, _uid_base(state)), *node_extras(spec, spec.node(node))]
        self._end_orphans(state, node)
        check_shared_disks(state)
        group = guard.owner_group(state)
        joined = cgroups.node_cgroups(state.lab, node, group)
        problems = cglimits.apply(state.lab, node, group, *guard.limits(state, node))
        console_file = base / "console.log"
        launcher_env = {
            **os.environ,
            "HALAB_CGROUPS": " ".join(str(path) for path in joined),
            "HALAB_POST": str(FIRMWARE_SECONDS if firmware else 0),
            "HALAB_LAB": state.lab, "HALAB_NODE": node,
            "HALAB_CONSOLE": str(console_file),
            "HALAB_CONSOLE_BYTES": str(spec.node(node).limits.console_kib * 1024),
        }
        command = [sys.executable, "-m", LAUNCHER, "--", *command]
        console = guard.fresh_console(console_file)  # handed to the child (its first words), closed below
        try:
            for problem in problems:  # where `up` shows the console if the node never answers
                os.write(console, f"halab: {problem}\n".encode())
            # `setsid --fork`: nspawn runs in a session of its own and is never our child, so the node
            # outlives this command, ignores the user's Ctrl-C, and never lingers as our zombie.
            subprocess.run(["setsid", "--fork", *command], stdin=subprocess.DEVNULL, stdout=console,
                           stderr=console, env=launcher_env, check=True)
        finally:
            os.close(console)
        deadline = time.monotonic() + 10
        # In POST the launcher stands for the node; otherwise wait for systemd-nspawn itself.
        while not (pids := [p for p in _our_nspawn_pids(state.lab, node) if firmware or _is_nspawn_itself(p)]):
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
        detach_shared_disks(state.lab)
        for node in node_names:
            remove_tree(_node_dir(state.lab, node))

    def _kill(self, state: LabState, node: str) -> None:
        root = _node_dir(state.lab, node) / "root"
        pids = _our_nspawn_pids(state.lab, node)
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
        return bool(_our_nspawn_pids(state.lab, node))

    def power_off(self, state: LabState, node: str) -> None:
        state.node(node)
        with power_lock(state.lab, node):
            self._kill(state, node)
            labnet.unplug_node(state.lab, node)  # its NICs go with it: run-time addresses, a floating IP
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
        _remember(state, "unplugged", node, network, add=not up)  # for the node's next boot
        labnet.set_cable(state.lab, spec.node_names.index(node), net_index, up)

    def drop_traffic(self, state: LabState, node: str, peers: list[str], drop: bool) -> None:
        # The node's network namespace has a name of halab's (labnet.plumbing), so the host filters it from
        # outside; a node that is off gets the rules when it boots again (they are remembered).
        if not shutil.which("iptables"):
            raise HalabError("iptables is missing on the host; run: apt-get install iptables")
        for peer in peers:
            _remember(state, "dropped", node, peer, add=drop)
        namespace = labnet.node_netns(state.lab, node)
        if not netns.netns_exists(namespace):
            return
        for rule in labnet.unpartition_rules():
            subprocess.run(["ip", "netns", "exec", namespace, *rule], capture_output=True)
        for rule in labnet.partition_rules(peers if drop else []):
            result = subprocess.run(["ip", "netns", "exec", namespace, *rule], capture_output=True, text=True)
            if result.returncode != 0:
                raise HalabError(f"{node}: {' '.join(rule)} failed: {result.stderr.strip()}")

    def console_log(self, state: LabState, node: str) -> str:
        path = _node_dir(state.lab, node) / "console.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""
