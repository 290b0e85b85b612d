"""A second, independent solution of the load-balancing lab: everything the reference (solutions/loadbalancing.py)
does one way, done another way that is just as correct.

- Apache: its own conf snippet (lab-app.conf) with `a2enmod cgi` (which picks cgid for the threaded MPM).
- HAProxy: a directory of files (CONFIG=/etc/haproxy/conf.d in /etc/default/haproxy), its own stats socket
  path, one `listen` section instead of frontend + backend, other server names (one given by host name),
  balancing and health checks in `defaults` (leastconn, default-server check, `http-check send`), persistence
  by a stick table on the source address, and the virtual IP bound with `transparent` instead of
  net.ipv4.ip_nonlocal_bind.
- keepalived: the instance in an included file, both balancers `state BACKUP` with `nopreempt`, VRRP over
  unicast to the peer, and a track_script of its own that asks HAProxy's stats socket (track_process cannot
  work in a container: the kernel's process events do not reach it).
"""

from __future__ import annotations

from halab.lab import Lab
from halab.spec import LabSpec
from halab.types import Progress
from solutions.common import must, wait_until

SOCKET = "/run/haproxy/lb.sock"
APP_CONF = """\
ScriptAlias /app /usr/lib/halab/web/app
<Directory /usr/lib/halab/web>
    Require all granted
</Directory>
"""
ALIVE_SCRIPT = f"""\
#!/bin/sh
# HAProxy is alive when its runtime API answers.
echo "show info" | nc -U -w 1 {SOCKET} | grep -q '^Name: HAProxy'
"""


def names(spec: LabSpec, role: str) -> list[str]:
    return [node.name for node in spec.with_role(role)]


def ip(spec: LabSpec, node: str) -> str:
    return str(spec.node(node).addresses[spec.management_network.name])


def global_cfg(spec: LabSpec) -> str:
    return f"""\
global
    log /dev/log local0
    chroot /var/lib/haproxy
    stats socket {SOCKET} mode 600 level admin
    user haproxy
    group haproxy
    daemon

defaults
    mode http
    log global
    timeout connect 3s
    timeout client 30s
    timeout server 30s
    balance leastconn
    option httpchk
    http-check send meth GET uri {spec.settings['app_path']}/health
    default-server check inter 1s fall 3 rise 2
"""


def site_cfg(spec: LabSpec) -> str:
    first, second = names(spec, "web")
    return f"""\
listen site
    bind {spec.settings['virtual_ip']}:80 transparent
    stick-table type ip size 100k expire 30m
    stick on src
    server alpha {ip(spec, first)}:80
    server beta {second}:80
"""


def vrrp_conf(spec: LabSpec, node: str) -> str:
    peer = next(n for n in names(spec, "balancer") if n != node)
    priority = 120 if node == names(spec, "balancer")[0] else 110
    return f"""\
vrrp_script haproxy_alive {{
    script "/etc/keepalived/haproxy-alive"
    interval 1
    fall 2
    rise 1
}}

vrrp_instance LB {{
    state BACKUP
    nopreempt
    interface eth0
    virtual_router_id {spec.settings['vrrp_router_id']}
    priority {priority}
    advert_int 1
    unicast_src_ip {ip(spec, node)}
    unicast_peer {{
        {ip(spec, peer)}
    }}
    virtual_ipaddress {{
        {spec.settings['virtual_ip']}/24 dev eth0 label eth0:vip
    }}
    track_script {{
        haproxy_alive
    }}
}}
"""


KEEPALIVED_MAIN = """\
global_defs {
    enable_script_security
    script_user root
}
include /etc/keepalived/conf.d/*.conf
"""


def solve(lab: Lab, progress: Progress = lambda _m: None) -> None:
    spec = lab.spec
    for web in names(spec, "web"):
        progress(f"{web}: Apache with lab-app.conf")
        lab.write_file(web, "/etc/apache2/conf-available/lab-app.conf", APP_CONF)
        must(lab, web, "a2enmod -q cgi && a2enconf -q lab-app && systemctl enable --now apache2 "
                       "&& systemctl restart apache2", timeout=120)
    for node in names(spec, "balancer"):
        progress(f"{node}: HAProxy from /etc/haproxy/conf.d, keepalived with an include")
        must(lab, node, "mkdir -p /etc/haproxy/conf.d /etc/keepalived/conf.d")
        lab.write_file(node, "/etc/default/haproxy", 'CONFIG="/etc/haproxy/conf.d"\n')
        lab.write_file(node, "/etc/haproxy/conf.d/00-global.cfg", global_cfg(spec))
        lab.write_file(node, "/etc/haproxy/conf.d/10-site.cfg", site_cfg(spec))
        must(lab, node, "haproxy -c -q -f /etc/haproxy/conf.d && systemctl enable haproxy && systemctl restart haproxy")
        lab.write_file(node, "/etc/keepalived/haproxy-alive", ALIVE_SCRIPT, 0o755)
        lab.write_file(node, "/etc/keepalived/keepalived.conf", KEEPALIVED_MAIN)
        lab.write_file(node, "/etc/keepalived/conf.d/lb.conf", vrrp_conf(spec, node))
        must(lab, node, "keepalived -t && systemctl enable keepalived && systemctl restart keepalived")
    vip = spec.settings["virtual_ip"]

    def served() -> bool:
        holders = [n for n in names(spec, "balancer") if f" {vip}/" in lab.run(n, "ip -brief address show").stdout]
        client = names(spec, "client")[0]
        return len(holders) == 1 and lab.run(client, f"curl -sf -m 2 http://{vip}/app/health").ok

    wait_until("one balancer to hold the virtual IP and serve", served, timeout=60)
