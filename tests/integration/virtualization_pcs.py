"""A second, independent solution of the virtualization lab, to prove the graders accept any correct one:
pcs instead of crmsh, other resource names, the guest defined but first started by Pacemaker, and live
migration over libvirt's TCP transport instead of SSH (libvirtd-tcp.socket; auth_tcp = "none" is for a lab
network only). Used by tests/integration/test_virtualization.py.
"""

from __future__ import annotations

from halab.lab import Lab
from halab.types import Progress
from solutions.clustering import resources_started
from solutions.common import must, on_all, wait_until
from tests.integration.alternatives import cluster_password

NETWORK = """<network>
  <name>{vm_network}</name>
  <forward mode="bridge" />
  <bridge name="{vm_bridge}" />
</network>
"""


def libvirt_over_tcp(lab: Lab) -> None:
    """libvirtd also listens on TCP 16509 (socket activation), without authentication."""
    on_all(lab, "sed -i 's/^#\\?auth_tcp = .*/auth_tcp = \"none\"/' /etc/libvirt/libvirtd.conf && "
                "systemctl stop libvirtd.service && systemctl enable --now libvirtd-tcp.socket && "
                "systemctl start libvirtd.service")
    for node in lab.spec.member_names:
        for peer in lab.spec.member_names:
            if peer != node:
                must(lab, node, f"virsh -c qemu+tcp://{peer}/system uri")


def guest(lab: Lab) -> None:
    s = lab.spec.settings
    first, second = lab.spec.member_names
    for node in (first, second):
        lab.write_file(node, s["network_xml"], NETWORK.format_map(s))
        must(lab, node, f"virsh net-define {s['network_xml']}")
        must(lab, node, f"virsh net-start {s['vm_network']}")
        must(lab, node, f"virsh net-autostart {s['vm_network']}")
    # --noreboot: defined, not started; Pacemaker starts it. --os-variant is the older name of --osinfo.
    must(lab, first, f"virt-install --name {s['guest_name']} --memory {s['guest_memory_mib']} --os-variant linux2022 "
                     f"--vcpus 1 --import --disk {s['guest_disk']},bus=virtio --network network={s['vm_network']},"
                     "model=virtio --graphics none --noautoconsole --noreboot", timeout=120)
    must(lab, first, f"virsh dumpxml --inactive {s['guest_name']} > {s['guest_config']} && "
                     f"virsh -c qemu+tcp://{second}/system define {s['guest_config']}")
    on_all(lab, f"virsh autostart --disable {s['guest_name']}")


def pcs_cluster(lab: Lab, progress: Progress) -> None:
    s = lab.spec.settings
    lan = lab.spec.management_network.name
    hosts = " ".join(f"{n.name} addr={n.addresses[lan]}" for n in lab.spec.members)
    first = lab.spec.member_names[0]
    progress("pcs: authenticating the nodes and setting up the cluster")
    # pcs cluster destroy first, as on any Debian node: pcs reads Debian's default corosync.conf (a "node1"
    # at 127.0.0.1) as a cluster, and `pcs host auth` then tries to send its known-hosts to that node.
    # pcsd runs and hacluster has the lab's own password from `halab up` (halab status shows it).
    on_all(lab, "pcs cluster destroy && systemctl is-active --quiet pcsd", timeout=120)
    must(lab, first, f"pcs host auth {hosts} -u hacluster -p {cluster_password(lab)}", timeout=120)
    must(lab, first, f"pcs cluster setup {s['cluster_name']} {hosts} --start --enable --force", timeout=180)
    wait_until("the pcs cluster", lambda: "2 nodes configured" in lab.run(first, "pcs status").stdout
               and "Online: [ hv1 hv2 ]" in lab.run(first, "pcs status").stdout, timeout=180, interval=2)
    progress("pcs: fencing and the guest as a VirtualDomain resource")
    must(lab, first, "pcs property set stonith-enabled=true")
    must(lab, first, f"pcs stonith create fence-power fence_halab pcmk_host_list=\"{' '.join(lab.spec.member_names)}\"")
    must(lab, first, "pcs resource defaults update resource-stickiness=100")
    must(lab, first, f"pcs resource create guest ocf:heartbeat:VirtualDomain config={s['guest_config']} "
                     "hypervisor=qemu:///system migration_transport=tcp meta allow-migrate=true "
                     "op monitor interval=15s timeout=30s op start timeout=120s op stop timeout=120s "
                     "op migrate_to timeout=120s op migrate_from timeout=120s")


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    libvirt_over_tcp(lab)
    guest(lab)
    pcs_cluster(lab, progress)
    wait_until("the guest under Pacemaker", lambda: resources_started(lab, "guest", "fence-power"), timeout=180)
    # Started means QEMU runs; the guest needs a few more seconds to boot and answer.
    address = lab.spec.settings["guest_address"]
    wait_until("the guest to answer", lambda: lab.run(lab.spec.member_names[0],
                                                     f"curl -sf -m 2 http://{address}/cgi-bin/status").ok, timeout=60)
