"""Solve the virtualization lab: a libvirt network on both hypervisors, the guest from the provided disk with
virt-install, and Pacemaker running it as a VirtualDomain resource that live-migrates over SSH.

This is the course seed's example with its mistakes fixed: the network is defined, started and autostarted
under ONE name (the seed defines network.xml and then starts `default`); virt-install uses --memory and
--osinfo (not the old --ram and the deprecated, ignored --os-type) and --import boots a disk that exists
(the seed "imports" an empty new disk, which has nothing to boot).
"""

from __future__ import annotations

import shlex

from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.clustering import configure, fencing_crm, form_cluster, resources_started
from solutions.common import must, on_all, wait_until


def network_xml(spec: LabSpec) -> str:
    """A libvirt network that plugs guests into the hypervisor's bridge on the VM network."""
    s = spec.settings
    return (f"<network>\n  <name>{s['vm_network']}</name>\n  <forward mode='bridge'/>\n"
            f"  <bridge name='{s['vm_bridge']}'/>\n</network>\n")


def define_network(lab: Lab, progress: Progress) -> None:
    s = lab.spec.settings
    progress(f"defining, starting and autostarting the libvirt network {s['vm_network']} on every hypervisor")
    for node in lab.spec.member_names:
        lab.write_file(node, s["network_xml"], network_xml(lab.spec))
        # Defined and started only where it is not (solving a solved or broken lab again: `halab break`, `halab
        # solve`; net-define refuses a second network of the same name, as the file gives no UUID).
        net = s["vm_network"]
        must(lab, node, f"{{ virsh net-info {net} >/dev/null 2>&1 || virsh net-define {s['network_xml']}; }} && "
                        f"{{ virsh net-info {net} | grep -q '^Active: *yes' || virsh net-start {net}; }} && "
                        f"virsh net-autostart {net}")


def virt_install(spec: LabSpec) -> str:
    s = spec.settings
    # cache=none: no host page cache in the way when the guest moves to another hypervisor mid-write.
    return (f"virt-install --name {s['guest_name']} --memory {s['guest_memory_mib']} --vcpus 1 "
            f"--osinfo linux2022 --import --disk path={s['guest_disk']},cache=none "
            f"--network network={s['vm_network']} --graphics none --noautoconsole")


def guest_answers(lab: Lab, node: str) -> bool:
    address = lab.spec.settings["guest_address"]
    return lab.run(node, f"curl -sf -m 2 http://{address}/cgi-bin/status", timeout=10).ok


def managed(lab: Lab) -> bool:
    """Whether Pacemaker already runs the guest from its XML on the shared storage (the lab was solved before)."""
    s = lab.spec.settings
    return lab.run(lab.spec.member_names[0], f"test -s {s['guest_config']} && cibadmin --query --xpath "
                                             "\"//primitive[@type='VirtualDomain']\" >/dev/null", timeout=30).ok


def install_guest(lab: Lab, progress: Progress) -> None:
    """The VM from the provided disk on hv1, its XML on the shared storage, and the same domain on hv2; once
    Pacemaker runs it, only libvirt's autostart is turned off where the guest is defined (never a second copy)."""
    s = lab.spec.settings
    first, *others = lab.spec.member_names
    if managed(lab):
        progress(f"{s['guest_name']} already runs under Pacemaker: turning off libvirt's autostart where defined")
        on_all(lab, f"! virsh dominfo {s['guest_name']} 2>/dev/null | grep -q '^Persistent: *yes' || "
                    f"virsh autostart --disable {s['guest_name']}")
        return
    progress(f"creating {s['guest_name']} on {first} with virt-install --import")
    must(lab, first, virt_install(lab.spec), timeout=120)
    wait_until(f"{s['guest_name']} to answer on {s['guest_address']}", lambda: guest_answers(lab, first), timeout=60)
    must(lab, first, f"virsh dumpxml --inactive {s['guest_name']} > {s['guest_config']}")
    for node in others:
        must(lab, node, f"virsh define {s['guest_config']}")
    # Pacemaker decides where the guest runs: libvirt must never start it by itself on a second hypervisor.
    on_all(lab, f"virsh autostart --disable {s['guest_name']}")


def migration_keys(lab: Lab, progress: Progress) -> None:
    """root on each hypervisor may log in to the others with a key (the ssh migration transport), and knows
    their host keys: the pinned keys of the lab, so nothing is trusted on first use."""
    progress("exchanging SSH keys between the hypervisors for the migration")
    nodes = lab.spec.member_names
    keys = []
    for node in nodes:
        must(lab, node, "test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519")
        keys.append(lab.read_file(node, "/root/.ssh/id_ed25519.pub").decode().strip())
    host_keys = "".join(f"{info.name},{info.address} {info.host_key}\n" for info in lab.state().nodes)
    for node in nodes:
        for key in keys:  # once each, however often the lab is solved
            quoted, authorized = shlex.quote(key), "/root/.ssh/authorized_keys"
            must(lab, node, f"grep -qxF {quoted} {authorized} || echo {quoted} >> {authorized}")
        lab.write_file(node, "/root/.ssh/known_hosts", host_keys)
    for node in nodes:
        for peer in nodes:
            if peer != node:
                must(lab, node, f"virsh -c qemu+ssh://{peer}/system uri")


def crm_config(spec: LabSpec) -> str:
    s = spec.settings
    return fencing_crm(spec) + f"""\
primitive vm-{s['guest_name']} ocf:heartbeat:VirtualDomain \\
    params config={s['guest_config']} hypervisor=qemu:///system migration_transport=ssh \\
    meta allow-migrate=true \\
    op start timeout=120s op stop timeout=120s op monitor interval=10s timeout=30s \\
    op migrate_to timeout=120s op migrate_from timeout=120s
"""


def solve(lab: Lab, progress: Progress) -> None:
    spec = lab.spec
    define_network(lab, progress)
    install_guest(lab, progress)
    migration_keys(lab, progress)
    form_cluster(lab, progress)
    configure(lab, crm_config(spec), progress)
    name = f"vm-{spec.settings['guest_name']}"
    wait_until(f"{name} to run under Pacemaker", lambda: resources_started(lab, name, "fence-lab"), timeout=120)
