"""VM nodes through Vagrant (python-vagrant driving vagrant-libvirt), for students who work with Vagrant.

The nodes are the libvirt provider's nodes, defined by Vagrant instead of by halab: the top-level
``Vagrantfile`` reads a plan halab writes for the lab (``plan.json``: box, kernel, seed disk, networks,
disks) and vagrant-libvirt creates the domains. Everything after that is plain libvirt and is inherited
from the libvirt provider: the same domain names, MAC addresses and bridges, so power, cables, fencing and
graders work the same way.

Vagrant has to reach its VMs over its own management network, which libvirt makes inside libvirtd's network
namespace; so every vagrant command runs in that namespace (``ip netns exec``). halab and the graders reach
the nodes over the lab's management network, as with the other providers.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from typing import Any

import libvirt

from halab.errors import HalabError
from halab.image.vagrantbox import box_vagrant, pool_dir, vagrant_box
from halab.paths import PROJECT_ROOT
from halab.providers.libvirt import libvirtd
from halab.providers.libvirt.provider import LibvirtProvider, _connect, domain_name, kernel_cmdline, mac, seed_disk
from halab.runtime import labnet
from halab.runtime.state import LabState, NodeInfo, lab_dir, save_state
from halab.spec import LabSpec
from halab.types import Progress

VAGRANTFILE = PROJECT_ROOT / "Vagrantfile"
POOL = "halab"  # a libvirt storage pool of halab's own for Vagrant's volumes, under the cache directory
MANAGEMENT_INDEX = 99  # MAC index of Vagrant's management interface (the lab's networks are 0, 1, ...)


def _vagrant_class() -> type:
    import vagrant  # python-vagrant warns at import when vagrant is missing: import only when used

    class NamespacedVagrant(vagrant.Vagrant):
        """python-vagrant, with every vagrant command run inside libvirtd's network namespace."""

        def _make_vagrant_command(self, args: list[str | None]) -> list[str]:
            return ["ip", "netns", "exec", libvirtd.NAMESPACE, *super()._make_vagrant_command(args)]

    return NamespacedVagrant


def vagrant_for(lab: str) -> Any:  # python-vagrant has no type hints
    log = lab_dir(lab) / "vagrant.log"
    env = {**os.environ, "VAGRANT_DEFAULT_PROVIDER": "libvirt", "VAGRANT_NO_COLOR": "1"}
    return _vagrant_class()(root=str(lab_dir(lab)), env=env, err_cm=functools.partial(open, log, "ab"),
                            out_cm=functools.partial(open, log, "ab"))


def _log_tail(lab: str) -> str:
    try:
        lines = (lab_dir(lab) / "vagrant.log").read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(line for line in lines[-12:] if line.strip())


def _ensure_pool(connection: libvirt.virConnect) -> None:
    try:
        try:
            pool = connection.storagePoolLookupByName(POOL)
        except libvirt.libvirtError:
            pool_dir().mkdir(parents=True, exist_ok=True)
            pool = connection.storagePoolDefineXML(
                f"<pool type='dir'><name>{POOL}</name><target><path>{pool_dir()}</path></target></pool>")
        if not pool.isActive():
            pool.create()
        pool.refresh()
    except libvirt.libvirtError as exc:
        raise HalabError(f"libvirt cannot set up halab's storage pool for Vagrant ({pool_dir()}): {exc}") from None


def node_plan(spec: LabSpec, node_name: str, vm_kernel: Path, vm_initrd: Path) -> dict:
    node = spec.node(node_name)
    base = lab_dir(spec.name) / "nodes" / node.name
    return {
        "name": node.name,
        "memory_mib": node.memory_mib,
        "kernel": str(vm_kernel),
        "initrd": str(vm_initrd),
        "cmdline": kernel_cmdline(node.name),
        "seed": str(base / "seed.img"),
        "console_log": str(base / "console.log"),
        "management_mac": mac(spec.name, node.name, MANAGEMENT_INDEX),
        "networks": [{"bridge": labnet.bridge(spec.name, index), "mac": mac(spec.name, node.name, index)}
                     for index, _ in spec.networks_of(node)],
        "disks_mib": [disk.size_mib for disk in node.disks],
    }


class VagrantProvider(LibvirtProvider):
    name = "vagrant"

    def host_problems(self) -> list[tuple[str, str]]:
        return self.vagrant_problems() + super().host_problems()

    def vagrant_problems(self) -> list[tuple[str, str]]:
        """What this host lacks for Vagrant itself (the libvirt provider's needs come on top)."""
        problems = []
        if not shutil.which("vagrant"):
            problems.append(("vagrant is missing", "apt-get install vagrant vagrant-libvirt dnsmasq-base"))
        elif "vagrant-libvirt" not in {plugin.name for plugin in box_vagrant().plugin_list()}:
            problems.append(("the vagrant-libvirt plugin is missing", "apt-get install vagrant-libvirt"))
        if not shutil.which("dnsmasq"):
            problems.append(("dnsmasq is missing (Vagrant's management network needs DHCP)",
                             "apt-get install dnsmasq-base"))
        if not VAGRANTFILE.exists():
            problems.append((f"{VAGRANTFILE} is missing", "restore it from the halab repository"))
        return problems

    def up(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        vm, accel, public = self.prepare(spec, state, progress)
        box = vagrant_box(state.provider_data["image"], vm, progress)
        _ensure_pool(_connect())
        try:
            qemu_user: pwd.struct_passwd | None = pwd.getpwnam("libvirt-qemu")
        except KeyError:
            qemu_user = None
        plan: dict[str, Any] = {"lab": spec.name, "box": box, "pool": POOL, "driver": accel,
                "domain_prefix": domain_name(spec.name, ""), "key_file": str(lab_dir(spec.name) / "id_ed25519"),
                "nodes": []}
        for node in spec.nodes:
            progress(f"preparing {node.name}")
            entry = node_plan(spec, node.name, vm.kernel, vm.initrd)
            seed = Path(entry["seed"])
            seed.parent.mkdir(parents=True, exist_ok=True)
            management = f"[Match]\nMACAddress={entry['management_mac']}\n\n[Network]\nDHCP=ipv4\n"
            host_key = seed_disk(spec, node, public, seed, extra_networks=management)
            if qemu_user:
                # The Vagrantfile hands the seed to QEMU directly, so libvirt does not relabel it for QEMU.
                os.chown(seed, qemu_user.pw_uid, qemu_user.pw_gid)
            plan["nodes"].append(entry)
            address = str(node.addresses[spec.management_network.name])
            state.nodes.append(NodeInfo(node.name, address, 22, "root", plan["key_file"], host_key))
            state.provider_data["domains"][node.name] = domain_name(spec.name, node.name)
        (lab_dir(spec.name) / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
        (lab_dir(spec.name) / "Vagrantfile").write_text(
            f"# Written by halab for lab {spec.name}: the nodes are defined by halab's Vagrantfile from plan.json.\n"
            f"# Run vagrant here inside libvirtd's namespace: ip netns exec {libvirtd.NAMESPACE} vagrant status\n"
            'ENV["HALAB_PLAN"] = File.join(__dir__, "plan.json")\n'
            f"load {json.dumps(str(VAGRANTFILE))}\n")
        save_state(state)
        progress("vagrant up")
        try:
            for line in vagrant_for(spec.name).up(provider="libvirt", stream_output=True):
                # Vagrant's steps ("==> node1: Starting domain."), not its listing of every domain setting.
                step = line.removeprefix("==> ").strip()
                if line.startswith("==>") and not step.split(":", 1)[-1].startswith(("  --", "    ->", "   ")):
                    progress(step)
        except subprocess.CalledProcessError:
            raise HalabError(f"vagrant up failed for lab '{spec.name}':\n{_log_tail(spec.name)}") from None

    def down(self, state: LabState, progress: Progress) -> None:
        if (lab_dir(state.lab) / ".vagrant").is_dir() and shutil.which("vagrant"):
            progress("vagrant destroy")
            try:
                vagrant_for(state.lab).destroy()
            except subprocess.CalledProcessError:
                progress("vagrant destroy failed; removing the VMs through libvirt")
        super().down(state, progress)  # whatever Vagrant left: domains, bridges, node files
        _remove_volumes(state.lab)


def _remove_volumes(lab: str) -> None:
    """Volumes of the lab's VMs that Vagrant did not remove (a crashed `up`); needs libvirtd, else nothing."""
    try:
        connection = libvirt.open(libvirtd.URI)
        pool = connection.storagePoolLookupByName(POOL)
        pool.refresh()
    except libvirt.libvirtError:
        return
    prefix = domain_name(lab, "")
    for volume_name in pool.listVolumes():
        if volume_name.startswith(prefix):
            try:
                pool.storageVolLookupByName(volume_name).delete()
            except libvirt.libvirtError as exc:
                raise HalabError(f"cannot remove the volume {volume_name}: {exc}") from None
