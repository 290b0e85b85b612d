"""Solve the infrastructure lab: Corosync on two knet links (passive, ring0 preferred) with lowered timeouts,
fencing with a priority delay, the web group, and a cloned ping of the client that moves the service off a
node whose client-facing cable is gone. Done with corosync-keygen, systemctl and crmsh, as a student would."""

from __future__ import annotations

from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.clustering import configure, corosync_conf, fencing_crm, form_cluster, wait_for_web, write_pages

# Passive links, ring0 preferred; a dead peer is noticed after token + consensus (1.2 x token) = 1.3 s.
TOTEM = """\
    token: 600
    link_mode: passive
    interface {
        linknumber: 0
        knet_link_priority: 2
    }
    interface {
        linknumber: 1
        knet_link_priority: 1
    }
"""


def crm_config(spec: LabSpec) -> str:
    """Fencing with a priority delay (the node running the web group wins a fence race), the web group, and
    link monitoring: ping the client from every node, keep the group off a node that cannot reach it."""
    prefix = spec.management_network.subnet.prefixlen
    fencing = fencing_crm(spec).replace("property stonith-enabled=true", "property stonith-enabled=true "
                                        "priority-fencing-delay=1s")
    return fencing + f"""\
primitive web-ip IPaddr2 params ip={spec.settings['floating_ip']} cidr_netmask={prefix} op monitor interval=10s
primitive web-server apache params configfile=/etc/apache2/apache2.conf \\
    statusurl="http://localhost/server-status" op monitor interval=10s
group web web-ip web-server meta priority=10
primitive ping-client ocf:pacemaker:ping params host_list={spec.settings['client_address']} multiplier=1000 \\
    dampen=1s attempts=1 timeout=1 op monitor interval=2s timeout=10s
clone ping-clone ping-client
location web-on-connected web rule -inf: not_defined pingd or pingd lte 0
"""


def solve(lab: Lab, progress: Progress) -> None:
    write_pages(lab, progress)
    form_cluster(lab, progress, corosync_conf(lab.spec, TOTEM))
    configure(lab, crm_config(lab.spec), progress)
    wait_for_web(lab)
