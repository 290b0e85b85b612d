"""The loadbalancing kind's break-fix scenarios (issue 24; the contract is graders/scenario.py).

Each breaks the reference solution's lab (solutions/loadbalancing.py: backend ``app`` with servers web1 and web2,
``option httpchk GET {app_path}/health``, the stats socket /run/haproxy/admin.sock, vrrp_script ``chk_haproxy``,
lb1 master with priority 150, lb2 backup with 100, net.ipv4.ip_nonlocal_bind in
/etc/sysctl.d/90-nonlocal-bind.conf) the way such a pair goes wrong in real life. The root-cause checks read
what the lab's own checks read (HAProxy's files and statistics, keepalived's own report of its configuration and
state, the sysctl files in effect at boot), so any names, layout, VRRP version or equivalent syntax passes, and
the masking repair (``masks``) does not.
"""

from __future__ import annotations

import re

from graders.checks import Verdict
from graders.collectors.haproxy_cfg import Line
from graders.facts import FactMissing, LabFacts
from graders.loadbalancing import checks, traffic_checks, views, vrrp_checks
from graders.loadbalancing.views import BALANCER
from graders.scenario import Copy, Run, Scenario, Step, Swap, cause_verdict
from halab.spec import LabSpec

KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
ADMIN_SOCKET = "/run/haproxy/admin.sock"
SYSCTL_FILE = "/etc/sysctl.d/90-nonlocal-bind.conf"
RESTART_KEEPALIVED = "systemctl restart keepalived"
RELOAD_HAPROXY = f"haproxy -c -q -f {HAPROXY_CFG} && systemctl reload haproxy"
# HAProxy that failed to bind was restarted by systemd (Restart=always) until its start limit: "Start request
# repeated too quickly" refuses the next start until the failure is reset.
RESTART_HAPROXY = "systemctl reset-failed haproxy; systemctl restart haproxy"
TRACK_COMMAND = "/usr/bin/killall -0 haproxy"  # the reference solution's vrrp_script


class Balancers(Scenario):
    """Where to look in this lab when the root cause is not repaired yet."""

    hint = ("Find what changed since the lab worked, layer by layer: the client (curl through the virtual IP), VRRP "
            "(ip -brief address and journalctl -u keepalived on both balancers), HAProxy (systemctl status, journalctl "
            "-u haproxy, 'show stat' on its socket), the config files and sysctl settings on each balancer; repair "
            "that. Hiding the symptom does not count.")


def balancers(spec: LabSpec) -> list[str]:
    return [node.name for node in spec.with_role(BALANCER)]


def web_servers(spec: LabSpec) -> list[str]:
    return [node.name for node in spec.with_role(views.WEB)]


def on_balancers(spec: LabSpec, command: str) -> list[Step]:
    return [Run(node, command) for node in balancers(spec)]


def set_script(command: str) -> str:
    """sed that makes every vrrp_script's `script` line run ``command`` (not script_user: it needs a space)."""
    return f"sed -i -E 's#^([[:space:]]*script[[:space:]]+).*#\\1\"{command}\"#' {KEEPALIVED_CONF}"


class RouterIdMismatch(Balancers, Swap):
    name = "vrid-mismatch"
    summary = ("lb2's virtual_router_id was changed (a router id taken from another pair's template): the two "
               "balancers are now in different VRRP groups, each thinks it is alone, and both hold the virtual IP.")
    expected_failures = ("vrrp-instance", "vrrp-tracking", "vip-single-holder")
    settle_seconds = 6.0

    def values(self, spec: LabSpec) -> tuple[str, str]:
        right = int(spec.settings["vrrp_router_id"])
        return str(right), str(right % 255 + 1)

    def swap(self, spec: LabSpec, old: str, new: str) -> list[Step]:
        sed = f"sed -i -E 's/(virtual_router_id[[:space:]]+){old}([[:space:]]*)$/\\1{new}\\2/' {KEEPALIVED_CONF}"
        return [Run(balancers(spec)[-1], f"{sed} && {RESTART_KEEPALIVED}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (vrrp_checks.vrrp_instance, vrrp_checks.vip_single_holder),
                             "both balancers are in the lab's VRRP group, and only one holds the address")


EXPECT_OPTIONS = ("min-recv", "ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code",
                  "comment")


def accepts_error(line: Line) -> str:
    """What an `http-check expect` line accepts that a failing health check answers (404, 500, 503), or ""."""
    words = list(line.words[2:])
    negated = bool(words) and words[0] == "!"
    words = words[1:] if negated else words
    while len(words) > 1 and words[0] in EXPECT_OPTIONS:  # each takes one value
        words = words[2:]
    if len(words) < 2:
        return ""
    matcher, pattern = words[0], words[1]
    errors = ("404", "500", "503")
    if matcher == "status":
        wanted = set()
        for part in pattern.split(","):
            low, _, high = part.partition("-")
            if low.isdigit() and (not high or high.isdigit()):
                wanted |= {str(code) for code in range(int(low), int(high or low) + 1)}
        accepted = [code for code in errors if (code in wanted) != negated]
    elif matcher == "rstatus":
        try:
            accepted = [code for code in errors if bool(re.search(pattern, code)) != negated]
        except re.error:
            return ""
    else:
        return ""
    return ", ".join(accepted)


def _check_expectations(facts: LabFacts) -> list[str]:
    """The backends' health-check expectations that let an error page count as healthy, by balancer."""
    problems: list[str] = []
    found, missing = facts.per_node(lambda node: checks.site_backend(facts, node), BALANCER)
    problems += missing
    for name, (_, backend) in found.items():
        lines = backend.own("http-check", "expect") or (backend.parent.own("http-check", "expect")
                                                         if backend.parent else [])
        for line in lines:
            accepted = accepts_error(line)
            if accepted:
                problems.append(f"'{' '.join(line.words)}' in {backend.name} on {name} ({line.where}) counts HTTP "
                                f"{accepted} as healthy: a server whose application fails still gets visitors")
    return problems


class HealthCheckWrongUrl(Balancers):
    name = "healthcheck-wrong-url"
    summary = ("HAProxy's health check asks /health (a common default) instead of the application's "
               "{app_path}/health on both balancers: Apache answers 404, every server is DOWN, visitors get 503.")
    expected_failures = ("servers-up", "balancing-split", "session-persistence")
    settle_seconds = 8.0  # inter 2s fall 2

    @staticmethod
    def _url(spec: LabSpec, old: str, new: str) -> list[Step]:
        sed = f"sed -i -E 's#(option[[:space:]]+httpchk.*[[:space:]]){old}([[:space:]]|$)#\\1{new}\\2#' {HAPROXY_CFG}"
        return on_balancers(spec, f"{sed} && {RELOAD_HAPROXY}")

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._url(spec, f"{spec.settings['app_path']}/health", "/health")

    def repairs(self, spec: LabSpec) -> list[Step]:
        unmask = f"sed -i -E 's#^([[:space:]]*http-check[[:space:]]+expect[[:space:]]).*#\\1status 200#' {HAPROXY_CFG}"
        return [*on_balancers(spec, unmask), *self._url(spec, "/health", f"{spec.settings['app_path']}/health")]

    def masks(self, spec: LabSpec) -> list[Step]:
        # Make the check accept the 404 it gets: every server is UP again, including one whose application is gone.
        sed = f"sed -i -E 's#^([[:space:]]*http-check[[:space:]]+expect[[:space:]]).*#\\1status 200,404#' {HAPROXY_CFG}"
        return on_balancers(spec, f"{sed} && {RELOAD_HAPROXY}")

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, _check_expectations(facts), (traffic_checks.servers_up, checks.haproxy_backend),
                             "the health checks pass because the application answers them, not because errors count")


class ServerInMaintenance(Balancers):
    name = "server-maintenance"
    summary = ("web2 was put in maintenance on both balancers through HAProxy's runtime API (`disable server`) "
               "before patching it, and never enabled again: every visitor goes to web1.")
    expected_failures = ("servers-up", "balancing-split")
    settle_seconds = 2.0

    def _api(self, spec: LabSpec, command: str) -> list[Step]:
        return on_balancers(spec, f"echo '{command}' | nc -U -w 3 {ADMIN_SOCKET}")

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._api(spec, f"disable server app/{web_servers(spec)[-1]}")

    def repairs(self, spec: LabSpec) -> list[Step]:
        return self._api(spec, f"enable server app/{web_servers(spec)[-1]}")

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (traffic_checks.servers_up, checks.haproxy_backend),
                             "both web servers are in service on both balancers")


class NonlocalBindMissing(Balancers):
    name = "nonlocal-bind-missing"
    summary = ("lb2 lost its net.ipv4.ip_nonlocal_bind file (a config management run replaced /etc/sysctl.d) and "
               "HAProxy was restarted there: the backup cannot bind the virtual IP it does not hold, so HAProxy "
               "fails on it and a failover would find nothing listening.")
    expected_failures = ("haproxy-service", "backup-ready", "servers-up")
    masked_failures = ("backup-ready",)  # set at runtime only: gone at the next boot
    settle_seconds = 3.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        backup = balancers(spec)[-1]
        return [Run(backup, f"rm -f {SYSCTL_FILE} && sysctl -q -w net.ipv4.ip_nonlocal_bind=0 && "
                            "{ systemctl restart haproxy || true; }")]

    def repairs(self, spec: LabSpec) -> list[Step]:
        backup = balancers(spec)[-1]
        return [Run(backup, f"printf 'net.ipv4.ip_nonlocal_bind = 1\\n' > {SYSCTL_FILE} && sysctl -q -p {SYSCTL_FILE} "
                            f"&& {{ {RESTART_HAPROXY}; }}")]

    def masks(self, spec: LabSpec) -> list[Step]:
        return [Run(balancers(spec)[-1], f"sysctl -q -w net.ipv4.ip_nonlocal_bind=1 && {{ {RESTART_HAPROXY}; }}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (vrrp_checks.backup_ready, checks.haproxy_service),
                             "HAProxy listens on the virtual IP on both balancers, and will after a reboot")


TRIVIAL_COMMANDS = ("true", ":")


def _trivial_scripts(facts: LabFacts) -> list[str]:
    """Tracked scripts that succeed whatever HAProxy does (`true`, `exit 0`), by balancer."""
    found, problems = facts.per_node(lambda node: vrrp_checks.instance(facts, node), BALANCER)
    for name, chosen in found.items():
        data = views.keepalived(facts.nodes[name])
        for tracked in chosen.scripts:
            script = data.scripts.get(tracked.name)
            if script is None:
                continue
            words = script.command.replace("'", " ").replace('"', " ").split()
            if words and (words[0].rsplit("/", 1)[-1] in TRIVIAL_COMMANDS or words[-2:] == ["exit", "0"]):
                problems.append(f"track_script {tracked.name} on {name} runs '{script.command}', which succeeds "
                                "whether HAProxy runs or not: the address would stay when HAProxy dies")
    return problems


class TrackScriptWrongProcess(Balancers):
    name = "track-script-wrong-process"
    summary = ("lb1's vrrp_script checks a process named haproxyd, which never exists: the script always fails, "
               "lb1's instance stays in FAULT and lb2 holds the address although lb1 is healthy.")
    expected_failures = ("vrrp-tracking",)
    settle_seconds = 6.0

    def _script(self, spec: LabSpec, command: str) -> list[Step]:
        return [Run(balancers(spec)[0], f"{set_script(command)} && {RESTART_KEEPALIVED}")]

    def breaks(self, spec: LabSpec) -> list[Step]:
        return self._script(spec, "/usr/bin/killall -0 haproxyd")

    def repairs(self, spec: LabSpec) -> list[Step]:
        return self._script(spec, TRACK_COMMAND)

    def masks(self, spec: LabSpec) -> list[Step]:
        # A script that always succeeds: lb1 is master again, and HAProxy's death no longer moves the address.
        return self._script(spec, "/bin/true")

    def root_cause(self, facts: LabFacts) -> Verdict:
        try:
            problems = _trivial_scripts(facts)
        except FactMissing as exc:
            problems = [str(exc)]
        return cause_verdict(facts, problems, (vrrp_checks.vrrp_tracking, vrrp_checks.vip_single_holder),
                             "keepalived tracks HAProxy itself on both balancers, and the check passes")


class ConfigCopied(Balancers):
    name = "keepalived-config-copied"
    summary = ("lb2's keepalived.conf was replaced by a copy of lb1's (state MASTER, priority 150): equal "
               "priorities, so the higher IP address wins and lb2 takes the address from the intended master.")
    expected_failures = ("vrrp-instance",)
    settle_seconds = 6.0

    def breaks(self, spec: LabSpec) -> list[Step]:
        first, last = balancers(spec)[0], balancers(spec)[-1]
        return [Copy(first, last, KEEPALIVED_CONF), Run(last, RESTART_KEEPALIVED)]

    def repairs(self, spec: LabSpec) -> list[Step]:
        first, last = balancers(spec)[0], balancers(spec)[-1]
        sed = (f"sed -i -E -e 's/^([[:space:]]*priority[[:space:]]+)150/\\1100/' -e 's/^([[:space:]]*state[[:space:]]+)"
               f"MASTER/\\1BACKUP/' -e 's/^([[:space:]]*router_id[[:space:]]+){first}$/\\1{last}/' {KEEPALIVED_CONF}")
        return [Run(last, f"{sed} && {RESTART_KEEPALIVED}")]

    def root_cause(self, facts: LabFacts) -> Verdict:
        return cause_verdict(facts, [], (vrrp_checks.vrrp_instance, vrrp_checks.vip_single_holder),
                             "the balancers have different priorities: the intended master holds the address")


SCENARIOS: list[Scenario] = [RouterIdMismatch(), HealthCheckWrongUrl(), ServerInMaintenance(), NonlocalBindMissing(),
                             TrackScriptWrongProcess(), ConfigCopied()]
