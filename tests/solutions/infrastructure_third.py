"""A third solution of the infrastructure lab, written from the Corosync and Pacemaker manuals (corosync.conf(5),
"Pacemaker Explained": fencing, rules) with the choices the reference (passive links, priority-fencing-delay,
ping with a -inf rule) and the pcs alternative (active links, a node map delay, ethmonitor) do not make:

- round-robin links (link_mode: rr), token 800 ms with consensus left to its default (1.2 x token);
- one fence device per node, the one that fences node1 with a fixed pcmk_delay_base (so node1 wins a fence
  race, as Pacemaker's own metadata documents), and the service preferring node1, the node that wins;
- a cloned ping with an attribute name of its own and a rule that scores nodes by it (score-attribute)
  rather than banning the cut-off node.

And its broken variants (tests/solutions/broken.py).
"""

from __future__ import annotations

from halab.lab import Lab
from halab.types import Progress
from solutions.clustering import configure, corosync_conf, form_cluster, wait_for_web, write_pages
from tests.solutions.broken import Broken

TOTEM = "    token: 800\n    link_mode: rr\n"


def crm_config(lab: Lab) -> str:
    spec = lab.spec
    first, second = spec.member_names
    prefix = spec.management_network.subnet.prefixlen
    return f"""\
property stonith-enabled=true
rsc_defaults resource-stickiness=100
primitive shoot-{first} stonith:fence_halab params pcmk_host_list={first} pcmk_delay_base=1s \\
    op monitor interval=60s
primitive shoot-{second} stonith:fence_halab params pcmk_host_list={second} op monitor interval=60s
primitive site-ip IPaddr2 params ip={spec.settings['floating_ip']} cidr_netmask={prefix} op monitor interval=5s
primitive site-httpd apache params configfile=/etc/apache2/apache2.conf \\
    statusurl="http://localhost/server-status" op monitor interval=5s
group site site-ip site-httpd
primitive lan-ping ocf:pacemaker:ping params host_list={spec.settings['client_address']} name=lanok \\
    multiplier=1000 dampen=1s attempts=1 timeout=1 op monitor interval=2s timeout=10s
clone lan-ping-clone lan-ping
location site-on-lan site rule lanok: defined lanok
location site-prefers-{first} site 200: {first}
"""


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    write_pages(lab, progress)
    form_cluster(lab, progress, corosync_conf(lab.spec, TOTEM))
    configure(lab, crm_config(lab), progress)
    first, second = lab.spec.member_names
    wait_for_web(lab, ("site-ip", "site-httpd", f"shoot-{first}", f"shoot-{second}"), timeout=180)  # its own names


def broken(lab: Lab) -> list[Broken]:
    first, second = lab.spec.member_names
    conf, saved = "/etc/corosync/corosync.conf", "/root/corosync.conf.good"
    priority = r"\n    interface {{\n        linknumber: {0}\n        knet_link_priority: {1}\n    }}"
    passive = "s/link_mode: rr/link_mode: passive" + priority.format(0, 2) + priority.format(1, 1) + "/"
    both = f"for n in {first} {second}; do ssh $n"
    return [
        Broken("link_mode changed in the files and only reloaded: knet still runs round robin", first,
               f"{both} \"cp {conf} {saved} && sed -i '{passive}' {conf}\"; done && corosync-cfgtool -R",
               f"{both} mv {saved} {conf}; done && corosync-cfgtool -R", "link-policy",
               "knet runs active or rr"),
        Broken("the same fixed delay on both devices: nobody wins a fence race", first,
               f"crm resource param shoot-{second} set pcmk_delay_base 1s",
               f"crm resource param shoot-{second} delete pcmk_delay_base", "fence-race", "no fencing delay"),
        Broken("a token so low that a busy host gets a healthy node fenced", first,
               f"cp {conf} {saved} && sed -i 's/token: 800/token: 100/' {conf}", f"mv {saved} {conf}",
               "token-timeouts", "too low"),
        Broken("ring1 left out on one node", second,
               f"cp {conf} {saved} && sed -i '/ring1_addr/d' {conf}", f"mv {saved} {conf}",
               "corosync-conf-identical", "differs between"),
        Broken("the service no longer follows the client-facing link", first,
               "crm configure delete site-on-lan",
               "crm configure location site-on-lan site rule lanok: defined lanok", "link-monitoring",
               "no location rule on 'lanok'"),
    ]
