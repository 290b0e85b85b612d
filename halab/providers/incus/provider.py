"""Provider ``incus``: lab nodes as system containers on an Incus cluster (or LXD's same API), for classes
larger than one host holds.

Each node is an unprivileged container with systemd as PID 1, in an ID range of its own
(``security.idmap.isolated``; the image is shifted by idmapped mounts, not copied), a snapshot of the node
image on the member's btrfs pool, in the project of the lab's owner (projects.py: the engine's own limits and
restrictions). A lab's nodes all run on one member, chosen by the engine's scheduler for the first node (the
member with the fewest instances); its switches are bridges of that member, and the front host joins the
management network over VXLAN (network.py). The lab's identity files (hostname, machine-id, hosts, SSH host
key, the lab's authorized key, systemd-networkd files with the node's addresses) are written into the
container through the API before its first boot.

Power goes through the engine's API: off is a forced stop (no shutdown), on is a start after the same
"firmware" delay as nspawn nodes (post.py; see nspawn/provider.py for why). When the engine cannot say whether
a node runs (its member is lost), node_running raises instead of answering: the power switch then reports the
error, never "off" for a node it cannot reach. A cable is cut by unplugging the node's NIC (hot-unplug through the
API; the same MAC comes back when it is plugged in again).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from typing import Any

from halab.errors import HalabError
from halab.image.build import build_image
from halab.providers.base import Provider
from halab.providers.incus import network, projects
from halab.providers.incus.api import Client, EngineError
from halab.providers.incus.config import EngineConfig, load_config
from halab.providers.incus.image import alias, ensure_image
from halab.providers.nspawn.provider import FIRMWARE_SECONDS, _hosts_file
from halab.runtime.quotas import load_quotas
from halab.runtime.ssh import new_keypair, write_private_key
from halab.runtime.state import LabState, NodeInfo, lab_dir, power_lock, save_state, update_state
from halab.spec import LabSpec, Node
from halab.types import Progress

POST_MODULE = "halab.providers.incus.post"


def instance_name(lab: str, node: str) -> str:
    return f"{lab}-{node}"


def hwaddr(lab: str, node: str, index: int) -> str:
    """A NIC's MAC, the same after it is unplugged and plugged again (peers' ARP caches stay right)."""
    digest = hashlib.sha1(f"incus/{lab}/{node}/{index}".encode()).digest()
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in digest[:3])  # Incus' own prefix


def slot_of(lab: str, state: LabState) -> int:
    if state.owner:
        return state.slot
    head = lab.split("-", 1)[0]
    return int(head[1:]) if head.startswith("u") and head[1:].isdigit() and "-" in lab else 0


def networkd_files(spec: LabSpec, node: Node) -> dict[str, str]:
    files = {}
    for index, net in spec.networks_of(node):
        files[f"/etc/systemd/network/1{index}-eth{index}.network"] = (
            f"[Match]\nName=eth{index}\n\n[Network]\nAddress={node.addresses[net.name]}/{net.subnet.prefixlen}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n")
    return files


class IncusProvider(Provider):
    name = "incus"

    def __init__(self, config: EngineConfig | None = None) -> None:
        self._config = config
        self._client: Client | None = None

    @property
    def config(self) -> EngineConfig:
        if self._config is None:
            self._config = load_config()
        return self._config

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.config.client()
        return self._client

    def host_problems(self) -> list[tuple[str, str]]:
        try:
            config = self.config
            self.client.get("/1.0")
            network.front_device(config.front_address)
        except HalabError as exc:
            return [(f"the Incus engine is not usable: {exc}", "see README, 'Lab nodes on an Incus cluster'")]
        return []

    # -- up ------------------------------------------------------------------------------------------
    def up(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        project = projects.project_name(slot_of(spec.name, state))
        names = [network.network_name(spec.name, i) for i in range(len(spec.networks))]
        state.provider_data.update(project=project, networks=names, instances={}, post={})
        save_state(state)
        image = build_image(progress)
        ensure_image(self.client, image, progress)
        quota = load_quotas().of(str(state.owner["user"])) if state.owner else None
        progress(f"creating the lab networks and project {project}")
        projects.ensure_project(self.client, project, quota, names)
        network.create(self.client, spec)
        key_file = lab_dir(spec.name) / "id_ed25519"
        private, public = new_keypair()
        write_private_key(key_file, private)
        member = None
        for node in spec.nodes:
            progress(f"creating {node.name}" + (f" on {member}" if member else ""))
            member = self._create(spec, state, node, alias(image), member)
            host_key = self._give_identity(spec, node, project, public)
            address = str(node.addresses[spec.management_network.name])
            state.nodes.append(NodeInfo(node.name, address, 22, "root", str(key_file), host_key))
            save_state(state)
        assert member is not None
        state.provider_data["member"] = member
        network.join_front(spec, self.config.front_address)
        save_state(state)
        for node in spec.nodes:
            self._state_action(state, node.name, "start")

    def _create(self, spec: LabSpec, state: LabState, node: Node, image: str, member: str | None) -> str:
        """Create the node (stopped); returns the member it is on. The first node goes where the engine's
        scheduler puts it, the others join it there."""
        project, name = state.provider_data["project"], instance_name(spec.name, node.name)
        devices: dict[str, Any] = {"root": {"type": "disk", "path": "/", "pool": self.config.storage_pool}}
        for index, _ in spec.networks_of(node):
            devices[f"eth{index}"] = {"type": "nic", "network": network.network_name(spec.name, index),
                                      "name": f"eth{index}", "hwaddr": hwaddr(spec.name, node.name, index)}
        body = {"name": name, "type": "container", "source": {"type": "image", "alias": image}, "profiles": [],
                "devices": devices, "description": f"halab lab {spec.name}, node {node.name}",
                "config": {"limits.memory": f"{node.memory_mib}MiB", "limits.processes": str(projects.NODE_PROCESSES),
                           "limits.cpu": str(projects.NODE_CPUS), "security.idmap.isolated": "true",
                           "boot.autostart": "false", "user.halab.lab": spec.name, "user.halab.node": node.name}}
        state.provider_data["instances"][node.name] = name
        save_state(state)
        try:
            self.client.request("POST", "/1.0/instances", project=project, target=member, body=body)
            return member or str(self.client.get(f"/1.0/instances/{name}", project=project)["location"])
        except EngineError as exc:
            raise projects.refusal(exc, project) from None

    def _give_identity(self, spec: LabSpec, node: Node, project: str, authorized: str) -> str:
        """The node's identity files, owned by its root, before its first boot; returns its SSH host key."""
        name = instance_name(spec.name, node.name)
        private, public = new_keypair()
        files = {"/etc/hostname": node.name + "\n", "/etc/machine-id": uuid.uuid4().hex + "\n",
                 "/etc/hosts": _hosts_file(spec), "/etc/ssh/ssh_host_ed25519_key.pub": f"{public} root@{node.name}\n",
                 **networkd_files(spec, node)}
        push = self.client.push_file
        push(name, "/root/.ssh", b"", project, 0o700, kind="directory")
        push(name, "/root/.ssh/authorized_keys", (authorized + "\n").encode(), project, 0o600)
        push(name, "/etc/ssh/ssh_host_ed25519_key", private.encode(), project, 0o600)
        for path, text in files.items():
            push(name, path, text.encode(), project)
        # Nodes get their addresses from systemd-networkd (the image enables it only for VMs' seed disks).
        push(name, "/etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
             b"/lib/systemd/system/systemd-networkd.service", project, kind="symlink")
        return public

    # -- down ----------------------------------------------------------------------------------------
    def down(self, state: LabState, progress: Progress) -> None:
        if state.provider != self.name and not state.provider_data.get("instances"):
            return  # another provider's lab, or nothing made: nothing of the engine's to remove
        try:
            client = self.client
        except HalabError:
            # Without an engine nothing of the engine's can be left, unless the lab's state says it made some:
            # `up` cleans every provider's leftovers of a lab with no state, on hosts that never met Incus too.
            if state.provider == self.name and state.provider_data:
                raise
            return
        project = state.provider_data.get("project") or projects.project_name(slot_of(state.lab, state))
        for name in self._lab_instances(client, state.lab, project):
            progress(f"removing {name}")
            try:
                if client.get(f"/1.0/instances/{name}/state", project=project)["status"] != "Stopped":
                    client.request("PUT", f"/1.0/instances/{name}/state", project=project,
                                   body={"action": "stop", "force": True, "timeout": -1})
                client.request("DELETE", f"/1.0/instances/{name}", project=project)
            except EngineError as exc:
                if exc.status != 404:
                    raise HalabError(f"cannot remove {name} from the Incus cluster: {exc}; bring its member back "
                                     f"(or remove the member: incus cluster remove --force), then run "
                                     f"'halab down {state.lab}' again") from None
        network.delete(client, state.lab)
        projects.release_networks(client, project, [network.network_name(state.lab, i) for i in range(16)])

    def _lab_instances(self, client: Client, lab: str, project: str) -> list[str]:
        try:
            listed = client.get("/1.0/instances?recursion=1", project=project)
        except EngineError as exc:
            if exc.status == 404:
                return []
            raise
        return sorted(i["name"] for i in listed or [] if (i.get("config") or {}).get("user.halab.lab") == lab)

    # -- power and cables ----------------------------------------------------------------------------
    def _instance(self, state: LabState, node: str) -> tuple[str, str]:
        state.node(node)
        return state.provider_data["project"], instance_name(state.lab, node)

    def _state_action(self, state: LabState, node: str, action: str) -> None:
        project, name = self._instance(state, node)
        body: dict[str, Any] = {"action": action, "timeout": -1}
        if action == "stop":
            body["force"] = True  # pulling the plug: no shutdown
        try:
            self.client.request("PUT", f"/1.0/instances/{name}/state", project=project, body=body)
        except EngineError as exc:
            raise HalabError(f"{node}: the Incus engine could not {action} it: {exc}") from None

    def node_running(self, state: LabState, node: str) -> bool:
        """Powered on (or in its firmware delay). Raises HalabError when the engine cannot tell: a node on a
        lost member is neither on nor off as far as anyone can prove."""
        project, name = self._instance(state, node)
        if node in (state.provider_data.get("post") or {}):
            return True
        try:
            status = self.client.get(f"/1.0/instances/{name}/state", project=project)["status"]
        except EngineError as exc:
            raise HalabError(f"{node}: its power state is unknown: {exc}") from None
        if status in ("Running", "Frozen"):
            return True
        if status == "Stopped":
            return False
        raise HalabError(f"{node}: its power state is unknown: the Incus engine says {status!r} "
                         "(its cluster member is probably unreachable)")

    def power_off(self, state: LabState, node: str) -> None:
        with power_lock(state.lab, node):
            set_post(state, node, None)  # a power cut during the firmware delay: it never boots
            if self.node_running(state, node):
                self._state_action(state, node, "stop")

    def power_on(self, state: LabState, node: str) -> None:
        with power_lock(state.lab, node):
            if self.node_running(state, node):
                return
            set_post(state, node, time.time())
            subprocess.run(["setsid", "--fork", sys.executable, "-m", POST_MODULE, state.lab, node,
                            str(FIRMWARE_SECONDS)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)

    def set_link(self, state: LabState, node: str, network_name: str, up: bool) -> None:
        spec = state.spec()
        index = spec.network_index(spec.node(node), network_name)
        project, name = self._instance(state, node)
        device = f"eth{index}"
        try:
            current = self.client.get(f"/1.0/instances/{name}", project=project)
            devices = dict(current["devices"])
            if up:
                devices[device] = {"type": "nic", "network": network.network_name(state.lab, index), "name": device,
                                   "hwaddr": hwaddr(state.lab, node, index)}
            else:
                devices.pop(device, None)
            writable = {key: current[key] for key in ("architecture", "config", "ephemeral", "profiles", "stateful",
                                                      "description")}
            # PUT, not PATCH: a PATCH merges devices, so it could never take one away.
            self.client.request("PUT", f"/1.0/instances/{name}", project=project, body={**writable, "devices": devices})
        except EngineError as exc:
            verb = "plug" if up else "unplug"
            raise HalabError(f"{node}: the Incus engine could not {verb} {device}: {exc}") from None

    def console_log(self, state: LabState, node: str) -> str:
        try:
            project, name = self._instance(state, node)
            text = self.client.request("GET", f"/1.0/instances/{name}/console", project=project, raw=True)
        except HalabError:
            return ""
        return "\n".join(bytes(text).decode(errors="replace").splitlines()[-20:])


def set_post(state: LabState, node: str, since: float | None) -> None:
    """Record (or clear) that the node is in its firmware delay, in the saved state and in ``state``."""

    def change(saved: LabState) -> None:
        post = saved.provider_data.setdefault("post", {})
        if since is None:
            post.pop(node, None)
        else:
            post[node] = since
        state.provider_data["post"] = dict(post)

    update_state(state.lab, change)

