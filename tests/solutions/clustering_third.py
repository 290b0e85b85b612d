"""A third solution of the clustering lab, written from ClusterLabs' "Clusters from Scratch" (pcs, 2.1 edition)
with the choices it makes where the reference (crmsh, solutions/clustering.py) makes others:

- the cluster made by pcs through pcsd (pcs host auth with the lab's hacluster password, pcs cluster setup,
  which writes corosync.conf with node names as ring0_addr and makes the authkey);
- one fence device per node (pcmk_host_list of one node each) instead of one for both;
- ClusterIP and WebSite tied by a colocation and an order constraint instead of a group, with the
  manual's resource names and monitor intervals;
- resource-stickiness as a resource default set by pcs.

And the mistakes a student makes on it, each with the check that catches it (tests/solutions/broken.py).
"""

from __future__ import annotations

from halab.lab import Lab
from halab.types import Progress
from solutions.clustering import resources_started, wait_for_cluster
from solutions.common import must, on_all, wait_until
from tests.integration.alternatives import cluster_password
from tests.solutions.broken import Broken


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    spec = lab.spec
    nodes = spec.member_names
    first = nodes[0]
    progress("pcs: the cluster, through pcsd")
    # A node that ran a cluster before (the module's earlier solution) is cleaned the way the manual says.
    on_all(lab, "pcs cluster destroy", timeout=120)
    for node in nodes:
        lab.write_file(node, "/var/www/html/index.html", f"<html><body>My Test Site - {node}</body></html>\n")
    must(lab, first, f"pcs host auth {' '.join(nodes)} -u hacluster -p {cluster_password(lab)}", timeout=120)
    must(lab, first, f"pcs cluster setup {spec.settings['cluster_name']} {' '.join(nodes)} --start --enable",
         timeout=240)
    wait_for_cluster(lab, len(nodes), timeout=180, what="the cluster pcs made")
    progress("pcs: a fence device per node, ClusterIP and WebSite")
    for node in nodes:
        must(lab, first, f"pcs stonith create fence-{node} fence_halab pcmk_host_list={node} "
                         "op monitor interval=60s")
    must(lab, first, "pcs property set stonith-enabled=true")
    must(lab, first, "pcs resource defaults update resource-stickiness=100")
    prefix = spec.management_network.subnet.prefixlen
    must(lab, first, f"pcs resource create ClusterIP ocf:heartbeat:IPaddr2 ip={spec.settings['floating_ip']} "
                     f"cidr_netmask={prefix} op monitor interval=30s")
    must(lab, first, "pcs resource create WebSite ocf:heartbeat:apache configfile=/etc/apache2/apache2.conf "
                     "statusurl=http://localhost/server-status op monitor interval=1min")
    must(lab, first, "pcs constraint colocation add WebSite with ClusterIP INFINITY")
    must(lab, first, "pcs constraint order ClusterIP then WebSite")
    wait_until("ClusterIP, WebSite and the fence devices to start",
               lambda: resources_started(lab, "ClusterIP", "WebSite", *(f"fence-{n}" for n in nodes)), timeout=180)


def broken(lab: Lab) -> list[Broken]:
    """Mistakes on this solution, each undone after it was graded."""
    first, second = lab.spec.member_names[:2]
    return [
        Broken("a fence device whose host list names a node that is not in the lab", first,
               f"pcs stonith update fence-{second} pcmk_host_list=node9",
               f"pcs stonith update fence-{second} pcmk_host_list={second}",
               "stonith", f"0 devices can fence {second}"),
        Broken("fencing turned off", first, "pcs property set stonith-enabled=false",
               "pcs property set stonith-enabled=true", "stonith", "stonith-enabled is false"),
        Broken("an authkey other users can read", second, "chmod 644 /etc/corosync/authkey",
               "chmod 400 /etc/corosync/authkey", "authkey", f"mode 0644 on {second}"),
        Broken("a move that left its constraint behind", first, f"pcs resource ban WebSite {second}",
               "pcs resource clear WebSite", "no-leftover-constraints", "cli-ban"),
        Broken("the web server no longer tied to the IP", first,
               "pcs constraint delete colocation-WebSite-ClusterIP-INFINITY",
               "pcs constraint colocation add WebSite with ClusterIP INFINITY", "together-in-order",
               "missing a colocation"),
    ]
