"""A third solution of the virtualization lab, written from the libvirt and virt-install manuals and the
VirtualDomain agent's metadata, with choices neither the reference (cache=none, its own key exchange for the
migration) nor the pcs alternative (--os-variant, TCP migration) makes:

- virt-install with --osinfo and the disk's default cache mode, its network given as a libvirt network with a
  virtio model spelled out (for a block device virt-install 4.1 itself writes cache='none' io='native', as its
  log shows: the same cache in effect as the reference's, chosen by the tool);
- the guest destroyed after its definition is saved, so Pacemaker starts it (a cold boot: solve() waits for it
  to answer, as a student would before grading);
- live migration over SSH with what the lab already gives root between its nodes (halab up: a key of the lab's
  and pinned host keys), no key exchange of its own;
- a fence device per hypervisor, and the VirtualDomain resource with its migration options in crm's syntax,
  named for what it runs.

And its broken variants (tests/solutions/broken.py).
"""

from __future__ import annotations

from halab.lab import Lab
from halab.types import Progress
from solutions.clustering import configure, form_cluster, resources_started
from solutions.common import must, on_all, wait_until
from solutions.virtualization import define_network, guest_answers
from tests.solutions.broken import Broken


def install(lab: Lab) -> None:
    s = lab.spec.settings
    first, second = lab.spec.member_names
    must(lab, first, f"virt-install --name {s['guest_name']} --memory {s['guest_memory_mib']} --vcpus 1 --osinfo "
                     f"linux2022 --import --disk {s['guest_disk']} --network network={s['vm_network']},model=virtio "
                     "--graphics none --noautoconsole", timeout=120)
    wait_until(f"{s['guest_name']} to answer", lambda: guest_answers(lab, first), timeout=60)
    must(lab, first, f"virsh dumpxml --inactive {s['guest_name']} > {s['guest_config']} && "
                     f"virsh destroy {s['guest_name']}")
    must(lab, second, f"virsh define {s['guest_config']}")
    on_all(lab, f"virsh autostart --disable {s['guest_name']}")
    for node, peer in ((first, second), (second, first)):  # the lab's own root SSH carries the migration
        must(lab, node, f"virsh -c qemu+ssh://{peer}/system uri")


def crm_config(lab: Lab) -> str:
    s = lab.spec.settings
    devices = "".join(f"primitive power-{n} stonith:fence_halab params pcmk_host_list={n} op monitor interval=60s\n"
                      for n in lab.spec.member_names)
    return f"""\
property stonith-enabled=true
{devices}primitive {s['guest_name']}-domain VirtualDomain \\
    params config={s['guest_config']} hypervisor=qemu:///system migration_transport=ssh \\
    op start timeout=90s op stop timeout=90s op monitor interval=15s timeout=30s \\
    op migrate_to timeout=90s op migrate_from timeout=90s \\
    meta allow-migrate=true target-role=Started
"""


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    define_network(lab, progress)
    progress("virt-install with --osinfo and the default cache mode")
    install(lab)
    form_cluster(lab, progress)
    configure(lab, crm_config(lab), progress)
    s = lab.spec.settings
    first = lab.spec.member_names[0]
    name = f"{s['guest_name']}-domain"
    wait_until(f"{name} to run under Pacemaker",
               lambda: resources_started(lab, name, *(f"power-{n}" for n in lab.spec.member_names)), timeout=180)
    # Started means QEMU runs: the guest boots a few seconds more before it answers (the check asks it at once).
    wait_until(f"{s['guest_name']} to answer", lambda: guest_answers(lab, first), timeout=60)


def broken(lab: Lab) -> list[Broken]:
    s = lab.spec.settings
    first, second = lab.spec.member_names
    name = f"{s['guest_name']}-domain"
    return [
        Broken("a fence device for a node the lab does not have (the clustering lab's names)", first,
               f"crm resource param power-{second} set pcmk_host_list node2",
               f"crm resource param power-{second} set pcmk_host_list {second}", "stonith",
               f"0 devices can fence {second}"),
        Broken("the live XML of the running guest as the resource's config", first,
               f"cp {s['guest_config']} /root/guest.good && virsh dumpxml {s['guest_name']} > {s['guest_config']} "
               f"|| virsh -c qemu+ssh://{second}/system dumpxml {s['guest_name']} > {s['guest_config']}",
               f"mv /root/guest.good {s['guest_config']}", "domain-network", "dumpxml --inactive"),
        Broken("live migration not allowed", first, f"crm resource meta {name} set allow-migrate false",
               f"crm resource meta {name} set allow-migrate true", "vm-resource", "allow-migrate"),
    ]
