"""Second, independent solutions of the labs, to prove that the graders accept any correct configuration and
not only the reference solution's: pcs instead of crmsh, other resource names, other agents and policies."""

from __future__ import annotations

from halab.lab import Lab
from halab.runtime import peers
from solutions.clustering import resources_started, wait_for_cluster
from solutions.common import must, on_all, wait_until


def cluster_password(lab: Lab) -> str:
    """The lab's own hacluster password, set at `halab up` (halab/peers.py), as `halab status` shows it."""
    password = peers.cluster_password(lab.name)
    assert password, f"lab {lab.name} has no hacluster password"
    return password


def pcs_cluster(lab: Lab, setup_options: str = "") -> None:
    """A cluster made the way 'Clusters from Scratch' makes one: pcsd, pcs host auth, pcs cluster setup
    (which writes corosync.conf and the authkey), with one knet link per ring network."""
    spec = lab.spec
    rings = list(spec.settings.get("ring_networks") or [spec.management_network.name])
    lan = spec.management_network.name
    # pcsd runs and hacluster has the lab's password from `halab up`.
    on_all(lab, "systemctl is-active --quiet pcsd && rm -f /etc/corosync/corosync.conf")
    for node in spec.member_names:
        lab.write_file(node, "/var/www/html/index.html", f"<p>served by {node}, set up with pcs</p>\n")
    first = spec.member_names[0]
    hosts = " ".join(f"{n.name} addr={n.addresses[lan]}" for n in spec.members)
    must(lab, first, f"pcs host auth {hosts} -u hacluster -p {cluster_password(lab)}", timeout=120)
    nodes = " ".join(n.name + "".join(f" addr={n.addresses[net]}" for net in rings) for n in spec.members)
    must(lab, first, f"pcs cluster setup {spec.settings['cluster_name']} {nodes} {setup_options} "
                     "--start --enable --wait=180", timeout=240)
    wait_for_cluster(lab, len(spec.members), timeout=180)


def pcs_web_group(lab: Lab, fence_options: str, group: str = "site") -> None:
    spec = lab.spec
    first = spec.member_names[0]
    hosts = " ".join(spec.member_names)
    prefix = spec.management_network.subnet.prefixlen
    must(lab, first, f"pcs stonith create power fence_halab pcmk_host_list='{hosts}' {fence_options}")
    must(lab, first, "pcs property set stonith-enabled=true")
    must(lab, first, f"pcs resource create vip ocf:heartbeat:IPaddr2 ip={spec.settings['floating_ip']} "
                     f"cidr_netmask={prefix} --group {group}")
    must(lab, first, "pcs resource create httpd ocf:heartbeat:apache configfile=/etc/apache2/apache2.conf "
                     f"statusurl=http://localhost/server-status --group {group}")


def infrastructure_with_pcs(lab: Lab) -> None:
    """Both links active (no priorities needed), lower timeouts set by pcs, a fixed fence delay per node
    (node1 wins a fence race) instead of a priority delay, and ethmonitor on the lan interface instead of ping."""
    pcs_cluster(lab, "transport knet link_mode=active totem token=500 consensus=700")
    pcs_web_group(lab, "pcmk_delay_base='node1:2s;node2:0s'")
    first = lab.spec.member_names[0]
    must(lab, first, "pcs resource create lanwatch ocf:heartbeat:ethmonitor interface=eth0 link_status_only=true "
                     "repeat_count=1 repeat_interval=1 op monitor interval=2s clone")
    must(lab, first, "pcs constraint location site rule score=-INFINITY ethmonitor-eth0 ne 1")
    wait_until("the site group and lanwatch to start",
               lambda: resources_started(lab, "vip", "httpd", "lanwatch", "power"), timeout=120)
