"""VM nodes through libvirt (libvirt-python): needed where a lab needs a kernel of its own (DRBD).

Each node is a libvirt domain that boots the node image's kernel directly, with a copy-on-write overlay of
the image's VM disk as its root, the lab's extra disks, and a small seed disk that gives it its identity
(hostname, SSH host key, the lab's authorized key, /etc/hosts, network addresses: see the image's
halab-seed service). Domain type ``kvm`` where a probe guest really runs under KVM, ``qemu`` (TCG) otherwise.
The lab's bridges live in libvirtd's network namespace (halab/providers/libvirt/libvirtd.py).
"""

from __future__ import annotations

import hashlib
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from xml.sax.saxutils import escape

import libvirt

from halab.errors import HalabError
from halab.host.fs import private_dir, remove_tree
from halab.image.build import build_image
from halab.image.vmdisk import VmImage, vm_image
from halab.providers.base import Provider
from halab.providers.libvirt import libvirtd
from halab.providers.libvirt.accel import kvm_works
from halab.providers.nspawn.provider import _hosts_file
from halab.runtime import labnet
from halab.runtime.ssh import new_keypair, write_private_key
from halab.runtime.state import LabState, NodeInfo, lab_dir, power_lock, save_state
from halab.spec import LabSpec, Node
from halab.types import Progress

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors become exceptions, not stderr noise


def _connect() -> libvirt.virConnect:
    try:
        return libvirt.open(libvirtd.URI)
    except libvirt.libvirtError:
        raise HalabError(libvirtd.not_running_message()) from None


def domain_name(lab: str, node: str) -> str:
    return f"halab-{lab}_{node}"  # "_" cannot occur in lab names, so one lab's names never prefix another's


def mac(lab: str, node: str, net_index: int) -> str:
    digest = hashlib.sha1(f"{lab}/{node}/{net_index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def _node_dir(lab: str, node: str) -> Path:
    return lab_dir(lab) / "nodes" / node


def qemu_group() -> int | None:
    """The group QEMU runs with under libvirt (Debian: its libvirt-qemu user's), which must reach a VM's disks
    by name in the lab's folder; None where there is no such user (QEMU then runs as root)."""
    try:
        return pwd.getpwnam("libvirt-qemu").pw_gid
    except KeyError:
        return None


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise HalabError(f"'{command[0]}' failed: {result.stderr.strip()[-300:]}")


def _disk(path: Path, target: str, kind: str = "qcow2") -> str:
    # cache=unsafe: lab disks are disposable, and TCG guests are slow enough already.
    return (f"<disk type='file' device='disk'><driver name='qemu' type='{kind}' cache='unsafe'/>"
            f"<source file='{escape(str(path))}'/><target dev='{target}' bus='virtio'/></disk>")


def _interface(lab: str, node: str, index: int, link_up: bool = True) -> str:
    state = "" if link_up else "<link state='down'/>"
    return (f"<interface type='bridge'><mac address='{mac(lab, node, index)}'/>"
            f"<source bridge='{labnet.bridge(lab, index)}'/><model type='virtio'/>{state}</interface>")


def kernel_cmdline(node: str) -> str:
    """The VM's kernel command line: the image's root disk, a serial console, and the seed disk's identity."""
    return f"root=/dev/vda rw console=ttyS0 net.ifnames=0 halab.seed systemd.hostname={node}"


def domain_xml(spec: LabSpec, node: Node, vm: VmImage, accel: str) -> str:
    base = _node_dir(spec.name, node.name)
    disks = [_disk(base / "root.qcow2", "vda")]
    disks += [_disk(base / f"disk-{d.name}.qcow2", f"vd{chr(ord('b') + i)}") for i, d in enumerate(node.disks)]
    disks.append(_disk(base / "seed.img", f"vd{chr(ord('b') + len(node.disks))}", "raw"))
    interfaces = [_interface(spec.name, node.name, i) for i, _ in spec.networks_of(node)]
    cmdline = kernel_cmdline(node.name)
    # TCG: the default 1 GiB translation cache per VM is what makes TCG guests big; 256 MiB is as fast here.
    cpu = "<cpu mode='host-passthrough'/>" if accel == "kvm" else "<cpu mode='maximum' check='none'/>"
    tcg = "" if accel == "kvm" else "<tcg><tb-cache unit='MiB'>256</tb-cache></tcg>"
    return f"""<domain type='{accel}'>
  <name>{domain_name(spec.name, node.name)}</name>
  <memory unit='MiB'>{node.memory_mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{vm.kernel}</kernel><initrd>{vm.initrd}</initrd>
    <cmdline>{cmdline}</cmdline></os>
  <features><acpi/>{tcg}</features>
  {cpu}
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    {''.join(disks)}
    {''.join(interfaces)}
    <serial type='pty'><log file='{base / "console.log"}' append='on'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>"""


def seed_disk(spec: LabSpec, node: Node, authorized: str, target: Path, extra_networks: str = "") -> str:
    """The seed disk's files; returns the node's SSH host public key. ``extra_networks``: a systemd-networkd
    file for interfaces that are not the lab's (Vagrant's management interface)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        (root / "etc/ssh").mkdir(parents=True)
        (root / "etc/systemd/network").mkdir(parents=True)
        (root / "root/.ssh").mkdir(parents=True, mode=0o700)
        (root / "etc/hostname").write_text(node.name + "\n")
        (root / "etc/hosts").write_text(_hosts_file(spec))
        (root / "root/.ssh/authorized_keys").write_text(authorized + "\n")
        private, public = new_keypair()
        write_private_key(root / "etc/ssh/ssh_host_ed25519_key", private)
        (root / "etc/ssh/ssh_host_ed25519_key.pub").write_text(f"{public} root@{node.name}\n")
        (root / "etc/halab").mkdir(parents=True)
        (root / "etc/halab/nics").write_text("".join(f"{mac(spec.name, node.name, index)} eth{index}\n"
                                                     for index, _ in spec.networks_of(node)))
        for index, network in spec.networks_of(node):
            (root / f"etc/systemd/network/1{index}-eth{index}.network").write_text(
                f"[Match]\nMACAddress={mac(spec.name, node.name, index)}\n\n[Network]\n"
                f"Address={node.addresses[network.name]}/{network.subnet.prefixlen}\n"
                "LinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n")
        if extra_networks:
            (root / "etc/systemd/network/90-other.network").write_text(extra_networks)
        _run(["mkfs.ext4", "-q", "-F", "-L", "HALABSEED", "-d", tmp, str(target), "8M"])
        target.chmod(0o600)  # it holds the node's SSH host key
    return public


@contextmanager
def _libvirt_errors(node: str) -> Iterator[None]:
    try:
        yield
    except libvirt.libvirtError as exc:
        raise HalabError(f"{node}: libvirt: {exc}") from None


class LibvirtProvider(Provider):
    name = "libvirt"

    def host_problems(self) -> list[tuple[str, str]]:
        problems = []
        for binary, package in (("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"),
                                ("libvirtd", "libvirt-daemon-system")):
            if not shutil.which(binary) and not Path(f"/usr/sbin/{binary}").exists():
                problems.append((f"{binary} is missing", f"apt-get install {package}"))
        if not problems and not libvirtd.running():
            problems.append(("libvirtd is not running", "halab libvirtd start"))
        elif not problems and libvirtd.switch_namespace() is None:
            problems.append(("libvirtd runs in the host's network namespace, where lab bridges must not go",
                             "stop it (service libvirtd stop), then: halab libvirtd start"))
        return problems

    def prepare(self, spec: LabSpec, state: LabState, progress: Progress) -> tuple[VmImage, str, str]:
        """What every VM lab needs before its VMs: the VM image, the accelerator, the lab's key pair and its
        network. Returns (VM image, accelerator, the lab's public key)."""
        image = build_image(progress)
        vm = vm_image(image, progress)
        # A libvirtd started while KVM hung guests cannot run kvm domains, even if KVM works now.
        accel = "kvm" if kvm_works(vm.kernel) and not libvirtd.kvm_hidden() else "qemu"
        switch = libvirtd.switch_namespace()
        state.provider_data.update(image=image.hash, accel=accel, switch=switch, domains={})
        private, public = new_keypair()
        private_dir(lab_dir(spec.name), qemu_group())  # 0710: QEMU opens the disks, nobody else lists them
        write_private_key(lab_dir(spec.name) / "id_ed25519", private)
        save_state(state)
        progress(f"creating the lab network ({'KVM' if accel == 'kvm' else 'TCG: no working KVM here'})")
        labnet.create(spec, switch)
        return vm, accel, public

    def up(self, spec: LabSpec, state: LabState, progress: Progress) -> None:
        vm, accel, public = self.prepare(spec, state, progress)
        connection = _connect()
        key_file = lab_dir(spec.name) / "id_ed25519"
        for node in spec.nodes:
            progress(f"creating {node.name}")
            base = _node_dir(spec.name, node.name)
            base.mkdir(parents=True, exist_ok=True)
            _run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(vm.disk),
                  str(base / "root.qcow2")])
            for disk in node.disks:
                _run(["qemu-img", "create", "-q", "-f", "qcow2", str(base / f"disk-{disk.name}.qcow2"),
                      f"{disk.size_mib}M"])
            # The node's disks hold its fence password and the student's work: no other user reads them (libvirt
            # gives them to QEMU's user while the VM runs, and back to root after). The console log likewise.
            for image in [base / "root.qcow2", *(base / f"disk-{d.name}.qcow2" for d in node.disks)]:
                image.chmod(0o600)
            (base / "console.log").touch(mode=0o600)
            host_key = seed_disk(spec, node, public, base / "seed.img")
            try:
                domain = connection.defineXML(domain_xml(spec, node, vm, accel))
                state.provider_data["domains"][node.name] = domain.name()
                save_state(state)
                domain.create()
            except libvirt.libvirtError as exc:
                raise HalabError(f"libvirt cannot start {node.name}: {exc}") from None
            address = str(node.addresses[spec.management_network.name])
            state.nodes.append(NodeInfo(node.name, address, 22, "root", str(key_file), host_key))
            save_state(state)

    def down(self, state: LabState, progress: Progress) -> None:
        names = set(state.provider_data.get("domains", {}).values())
        with suppress(HalabError):  # a missing or broken spec: the state's own list has to do
            names |= {domain_name(state.lab, node) for node in state.spec().node_names}
        try:
            connection = libvirt.open(libvirtd.URI)
        except libvirt.libvirtError:
            if state.provider == self.name and state.provider_data.get("domains"):
                # Removing the disks now would leave defined VMs behind that block the next `up`.
                raise HalabError(f"{libvirtd.not_running_message()}; then run 'halab down {state.lab}' again") from None
            connection = None
        for name in sorted(names) if connection else []:
            try:
                domain = connection.lookupByName(name)
            except libvirt.libvirtError:
                continue  # never defined, or already gone
            progress(f"removing {name}")
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
            except libvirt.libvirtError as exc:
                raise HalabError(f"libvirt cannot remove {name}: {exc}") from None
        labnet.destroy(state.lab, state.provider_data.get("switch") or libvirtd.switch_namespace())
        if state.provider == self.name:
            remove_tree(lab_dir(state.lab) / "nodes")

    def _domain(self, state: LabState, node: str) -> libvirt.virDomain:
        state.node(node)
        try:
            return _connect().lookupByName(domain_name(state.lab, node))
        except libvirt.libvirtError as exc:
            raise HalabError(f"{node}: no such VM ({exc})") from None

    def node_running(self, state: LabState, node: str) -> bool:
        try:
            return bool(self._domain(state, node).isActive())
        except (HalabError, libvirt.libvirtError):
            return False

    def power_off(self, state: LabState, node: str) -> None:
        domain = self._domain(state, node)
        with power_lock(state.lab, node), _libvirt_errors(node):
            if domain.isActive():
                domain.destroy()  # libvirt's "destroy" is pulling the plug, not a shutdown

    def power_on(self, state: LabState, node: str) -> None:
        domain = self._domain(state, node)
        with power_lock(state.lab, node), _libvirt_errors(node):
            if not domain.isActive():
                domain.create()

    def set_link(self, state: LabState, node: str, network: str, up: bool) -> None:
        spec = state.spec()
        index = spec.network_index(spec.node(node), network)
        domain = self._domain(state, node)
        with _libvirt_errors(node):
            if domain.isActive():  # a live-only link change dies with the VM: a powered-off VM has none
                domain.updateDeviceFlags(_interface(state.lab, node, index, up), libvirt.VIR_DOMAIN_AFFECT_LIVE)

    def console_log(self, state: LabState, node: str) -> str:
        try:
            text = (_node_dir(state.lab, node) / "console.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-20:])
