"""Solve the load-balancing lab: the application on both web servers, HAProxy with cookie persistence and round
robin on both balancers, keepalived with a track_script, preemption (the default) so lb1 is master whenever it
is up.

Everything is done with the tools the course teaches (a2enmod, a2enconf, systemctl, sysctl, haproxy -c,
keepalived -t), on the nodes.
"""

from __future__ import annotations

from graders.loadbalancing import live
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.common import must, wait_until

NONLOCAL_BIND = "/etc/sysctl.d/90-nonlocal-bind.conf"


def address(spec: LabSpec, node: str) -> str:
    return str(spec.node(node).addresses[spec.management_network.name])


def haproxy_cfg(spec: LabSpec) -> str:
    """Debian's global and defaults sections, plus the lab's frontend and backend."""
    servers = "".join(f"    server {web} {address(spec, web)}:80 check inter 2s fall 2 rise 2 cookie {web}\n"
                      for web in live.names(spec, "web"))
    return f"""\
global
    log /dev/log local0
    log /dev/log local1 notice
    chroot /var/lib/haproxy
    stats socket /run/haproxy/admin.sock mode 660 level admin
    stats timeout 30s
    user haproxy
    group haproxy
    daemon

defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 50s
    timeout server 50s

frontend web
    bind {spec.settings['virtual_ip']}:80
    default_backend app

backend app
    # New visitors in turn; HAProxy's cookie keeps each on its server afterwards.
    balance roundrobin
    cookie SERVERID insert indirect nocache
    option httpchk GET {spec.settings['app_path']}/health
    http-check expect status 200
    # A request that finds its server dead (before the check notices) is retried on the other one.
    option redispatch
    retries 2
{servers}"""


def keepalived_conf(spec: LabSpec, node: str) -> str:
    first = node == live.names(spec, "balancer")[0]
    return f"""\
global_defs {{
    router_id {node}
    enable_script_security
    script_user root
}}

vrrp_script chk_haproxy {{
    script "/usr/bin/killall -0 haproxy"
    interval 1
    fall 2
    rise 2
}}

vrrp_instance VI_WEB {{
    state {'MASTER' if first else 'BACKUP'}
    interface eth0
    virtual_router_id {spec.settings['vrrp_router_id']}
    priority {150 if first else 100}
    advert_int 1
    virtual_ipaddress {{
        {spec.settings['virtual_ip']}/{spec.management_network.subnet.prefixlen}
    }}
    track_script {{
        chk_haproxy
    }}
}}
"""


def web_tier(lab: Lab, progress: Progress) -> None:
    for web in live.web_servers(lab):
        progress(f"enabling the application on {web}")
        must(lab, web, "a2enmod -q cgid && a2enconf -q halab-app && systemctl enable apache2 "
                       "&& systemctl restart apache2", timeout=120)


def balancers(lab: Lab, progress: Progress) -> None:
    spec = lab.spec
    for node in live.balancers(lab):
        progress(f"configuring HAProxy and keepalived on {node}")
        lab.write_file(node, NONLOCAL_BIND, "# HAProxy binds the virtual IP even while the peer holds it.\n"
                                            "net.ipv4.ip_nonlocal_bind = 1\n")
        must(lab, node, f"sysctl -p {NONLOCAL_BIND}")
        lab.write_file(node, "/etc/haproxy/haproxy.cfg", haproxy_cfg(spec))
        must(lab, node, "haproxy -c -q -f /etc/haproxy/haproxy.cfg && systemctl enable haproxy "
                        "&& systemctl restart haproxy", timeout=60)
        lab.write_file(node, "/etc/keepalived/keepalived.conf", keepalived_conf(spec, node))
        must(lab, node, "keepalived -t && systemctl enable keepalived && systemctl restart keepalived", timeout=60)


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    web_tier(lab, progress)
    balancers(lab, progress)
    first = live.balancers(lab)[0]
    wait_until(f"{first} to hold the virtual IP and serve", lambda: live.holders(lab) == [first]
               and live.request(lab).ok, timeout=60, explain=lambda: f"holders: {live.holders(lab)}")
