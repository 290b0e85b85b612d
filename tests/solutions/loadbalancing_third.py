"""A third solution of the load-balancing lab, written from HAProxy's configuration manual (2.6: peers, stick
tables) and keepalived.conf(5), with choices neither the reference nor the second solution makes:

- VRRP version 3 (vrrp_version 3) with half-second adverts, both balancers `state BACKUP` with priorities,
  preemption left on;
- the track script run as a dedicated non-root user (enable_script_security, script_user keepalived_script):
  Debian 12's keepalived 2.2.7 then kills its own `keepalived -t` (fixed in 2.2.8), which the grader
  recognises; `pgrep -x haproxy` needs no privilege, where `killall -0` would (and `pidof`, a link to
  killall5, runs as killall5 once keepalived resolves the script's path for its security check);
- persistence by a stick table on the source address, shared between the balancers by a `peers` section, so
  a visitor keeps its server when the virtual IP moves to the other balancer.

And its broken variants (tests/solutions/broken.py).
"""

from __future__ import annotations

from graders.loadbalancing import live
from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.common import must, wait_until
from tests.solutions.broken import Broken

SCRIPT_USER = "keepalived_script"
KEEPALIVED = "/etc/keepalived/keepalived.conf"


def address(spec: LabSpec, node: str) -> str:
    return str(spec.node(node).addresses[spec.management_network.name])


def haproxy_cfg(spec: LabSpec) -> str:
    peers = "".join(f"    peer {node} {address(spec, node)}:10000\n" for node in live.names(spec, "balancer"))
    servers = "".join(f"    server {web} {address(spec, web)}:80 check inter 1s fall 2 rise 2\n"
                      for web in live.names(spec, "web"))
    return f"""\
global
    daemon
    maxconn 2000
    user haproxy
    group haproxy
    stats socket /run/haproxy/admin.sock mode 600 level admin expose-fd listeners
    log /dev/log local0 info

defaults
    log global
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

peers balancers
{peers}
frontend visitors
    bind {spec.settings['virtual_ip']}:80
    default_backend application

backend application
    balance roundrobin
    stick-table type ip size 100k expire 30m peers balancers
    stick on src
    option httpchk
    http-check send meth GET uri {spec.settings['app_path']}/health
    http-check expect status 200
{servers}"""


def keepalived_conf(spec: LabSpec, node: str) -> str:
    first = node == live.names(spec, "balancer")[0]
    return f"""\
global_defs {{
    vrrp_version 3
    enable_script_security
    script_user {SCRIPT_USER}
}}

vrrp_script haproxy_runs {{
    script "/usr/bin/pgrep -x haproxy"
    interval 1
    fall 2
    rise 1
}}

vrrp_instance front {{
    state BACKUP
    interface eth0
    virtual_router_id {spec.settings['vrrp_router_id']}
    priority {200 if first else 100}
    advert_int 0.5
    virtual_ipaddress {{
        {spec.settings['virtual_ip']}/{spec.management_network.subnet.prefixlen} dev eth0
    }}
    track_script {{
        haproxy_runs
    }}
}}
"""


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    spec = lab.spec
    for web in live.web_servers(lab):
        must(lab, web, "a2enmod -q cgid && a2enconf -q halab-app && systemctl enable apache2 && "
                       "systemctl restart apache2", timeout=120)
    for node in live.balancers(lab):
        progress(f"{node}: HAProxy with a shared stick table, keepalived VRRPv3 with a script user")
        lab.write_file(node, "/etc/sysctl.d/60-haproxy-vip.conf", "net.ipv4.ip_nonlocal_bind = 1\n")
        must(lab, node, "sysctl -q -p /etc/sysctl.d/60-haproxy-vip.conf")  # --system also tries the host's keys
        lab.write_file(node, "/etc/haproxy/haproxy.cfg", haproxy_cfg(spec))
        must(lab, node, "haproxy -c -q -f /etc/haproxy/haproxy.cfg && systemctl enable haproxy && "
                        "systemctl restart haproxy", timeout=60)
        must(lab, node, f"id {SCRIPT_USER} || useradd --system --no-create-home --shell /usr/sbin/nologin "
                        f"{SCRIPT_USER}")
        lab.write_file(node, KEEPALIVED, keepalived_conf(spec, node))
        # No `keepalived -t` here: 2.2.7's kills itself with a script_user; the daemon loads the file.
        must(lab, node, "systemctl enable keepalived && systemctl restart keepalived", timeout=60)
    first = live.balancers(lab)[0]
    wait_until(f"{first} to hold the virtual IP and serve", lambda: live.holders(lab) == [first]
               and live.request(lab).ok, timeout=60, explain=lambda: f"holders: {live.holders(lab)}")


def broken(lab: Lab) -> list[Broken]:
    first, second = live.balancers(lab)
    return [
        Broken("a script user that does not exist", second,
               f"sed -i 's/script_user {SCRIPT_USER}/script_user nosuchuser/' {KEEPALIVED}",
               f"sed -i 's/script_user nosuchuser/script_user {SCRIPT_USER}/' {KEEPALIVED}",
               "keepalived-config-valid", "Error setting global script uid/gid"),
        Broken("a typo in keepalived.conf", second, f"sed -i 's/advert_int 0.5/advert_intt 0.5/' {KEEPALIVED}",
               f"sed -i 's/advert_intt 0.5/advert_int 0.5/' {KEEPALIVED}", "keepalived-config-valid",
               "advert_intt"),
        Broken("HAProxy no longer health-checks its servers", first,
               "cp /etc/haproxy/haproxy.cfg /root/haproxy.good && sed -i 's/ check inter 1s fall 2 rise 2//' "
               "/etc/haproxy/haproxy.cfg", "mv /root/haproxy.good /etc/haproxy/haproxy.cfg", "haproxy-backend",
               "check"),
    ]
