"""The loadbalancing kind: two HAProxy balancers sharing a virtual IP with keepalived (VRRP), in front of two
web servers that run the same application (active/active), and a client that plays the visitors (lab
loadbalancing). No Pacemaker: its nodes have the roles balancer, web and client."""

from graders.loadbalancing import traffic_checks, vrrp_checks  # noqa: F401 - they add their checks to CHECKS
from graders.loadbalancing.checks import CHECKS
from graders.loadbalancing.commands import BALANCER, CLIENT, WEB
from halab.spec.kinds import FaultDef, Injection, Kind, register

_FAULTS = "graders.loadbalancing.faults"
_VIP_READY = ("vip-single-holder", "backup-ready", "vrrp-instance")

KIND = register(Kind(
    name="loadbalancing",
    settings=("virtual_ip", "vrrp_router_id", "app_path", "client_addresses", "vip_recovery_time_objective_s",
              "web_recovery_time_objective_s"),
    tasks=("web", "haproxy", "keepalived", "traffic", "failover"),
    roles=("balancer", "web", "client"),
    role_commands={"balancer": BALANCER, "web": WEB, "client": CLIENT},
    checks=CHECKS.defs,
    faults={
        "web-server-failure": FaultDef(
            "web-server-failure", "A web server fails: its sessions continue on the other one",
            "HAProxy must health-check both servers and break a session's persistence when its server is DOWN.",
            ("web-app", "haproxy-backend", "session-persistence", "servers-up"), f"{_FAULTS}:web_server_failure"),
        "haproxy-failure": FaultDef(
            "haproxy-failure", "HAProxy dies on the master: the virtual IP moves to the backup in time",
            "keepalived must track HAProxy (track_script or track_process) so that its death gives the address up.",
            (*_VIP_READY, "vrrp-tracking", "haproxy-service"), f"{_FAULTS}:haproxy_failure"),
        "balancer-power-loss": FaultDef(
            "balancer-power-loss", "Power loss of the master balancer: the backup answers in time",
            "The backup takes over after three missed adverts: keep advert_int small, and its HAProxy listening.",
            (*_VIP_READY, "keepalived-service", "haproxy-service"), f"{_FAULTS}:balancer_power_loss"),
        "balancer-return": FaultDef(
            "balancer-return", "The master balancer returns: preempt or nopreempt, as configured",
            "Enable haproxy and keepalived at boot; preempt (the default) takes the address back, nopreempt leaves it.",
            (*_VIP_READY, "keepalived-service", "haproxy-service"), f"{_FAULTS}:balancer_return"),
    },
    injections={
        "stop-web": Injection("stop-web", "stop Apache on a web server (NODE: web1 or web2)",
                              f"{_FAULTS}:stop_web_fault", f"{_FAULTS}:start_web_undo"),
        "kill-haproxy": Injection("kill-haproxy", "kill HAProxy on a balancer for good (no automatic restart)",
                                  f"{_FAULTS}:kill_haproxy_fault", f"{_FAULTS}:restart_haproxy_undo"),
    },
    scenarios="graders.loadbalancing.scenarios:SCENARIOS",
))
