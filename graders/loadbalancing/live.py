"""The load-balancing kind's live helpers: one request from the lab's client, where the virtual IP is now,
HAProxy's view of its servers, and breaking and mending the services the fault checks break."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from graders.collectors import ParseError, curl, haproxy_stat, ip_brief, keepalived_data
from graders.loadbalancing import commands
from graders.loadbalancing.views import BALANCER, CLIENT, WEB
from halab.errors import HalabError
from halab.lab import Lab
from halab.spec import LabSpec

SESSION_JAR = "/tmp/halab-fault-session"  # on the client: the cookie jar of the fault checks' visitor


def settings_command(lab: Lab, template: str) -> str:
    """A command of commands.py with this lab's settings filled in."""
    return template.format_map(lab.spec.settings)


def request(lab: Lab, jar: str | None = None) -> curl.Reply:
    """One request through the virtual IP from the client; with ``jar``, keeping cookies as a browser does.
    Short timeouts: a fault check measures seconds, so one lost request must not cost many."""
    client = lab.spec.with_role(CLIENT)[0].name
    options = ["--connect-timeout 0.5", "--max-time 1.5"] + ([f"-b {jar} -c {jar}"] if jar else [])
    command = settings_command(lab, commands.request("http://{virtual_ip}{app_path}", *options))
    try:
        replies = curl.parse(lab.run(client, command, timeout=10).stdout)
    except (HalabError, ParseError) as exc:
        return curl.Reply(0, "", None, "", "", 0.0, f"the client could not send it: {exc}")
    return replies[0] if replies else curl.Reply(0, "", None, "", "", 0.0, "curl printed nothing")


def names(spec: LabSpec, role: str) -> list[str]:
    return [node.name for node in spec.with_role(role)]


def balancers(lab: Lab) -> list[str]:
    return names(lab.spec, BALANCER)


def web_servers(lab: Lab) -> list[str]:
    return names(lab.spec, WEB)


def holders(lab: Lab, among: list[str] | None = None) -> list[str]:
    """The balancers (of ``among``: never ask a node that is powered off) that hold the virtual IP now."""
    found = []
    for node in among if among is not None else balancers(lab):
        with contextlib.suppress(HalabError, ParseError):
            if ip_brief.holds(ip_brief.parse(lab.run(node, "ip -brief address show", timeout=5).stdout),
                              lab.spec.settings["virtual_ip"]):
                found.append(node)
    return found


def other(names: list[str], one: str) -> str:
    return next(name for name in names if name != one)


def keepalived_state(lab: Lab, node: str) -> keepalived_data.KeepalivedData | None:
    try:
        result = lab.run(node, settings_command(lab, commands.BALANCER["keepalived_data"]), timeout=10)
        return keepalived_data.parse(result.stdout) if result.ok else None
    except (HalabError, ParseError):
        return None


def vrrp_instance(lab: Lab, node: str) -> keepalived_data.Instance | None:
    data = keepalived_state(lab, node)
    vip = lab.spec.settings["virtual_ip"]
    return next((i for i in data.instances if i.has_address(vip)), None) if data else None


def server_status(lab: Lab, balancer: str, web: str) -> str:
    """What HAProxy on the balancer thinks of the web server: UP, DOWN, ... ("" if it cannot tell)."""
    address = str(lab.spec.node(web).addresses[lab.spec.management_network.name])
    with contextlib.suppress(HalabError, ParseError):
        result = lab.run(balancer, settings_command(lab, commands.BALANCER["haproxy_stat"]), timeout=10)
        rows = [r for r in haproxy_stat.parse(result.stdout).servers() if r.address.split(":")[0] == address]
        return rows[0].status if rows else ""
    return ""


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> float | None:
    """Seconds until ``condition`` held, or None when it did not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return round(time.monotonic() - started, 1)
        time.sleep(interval)
    return None


def must(lab: Lab, node: str, command: str, timeout: float = 60) -> None:
    result = lab.run(node, command, timeout=timeout)
    if not result.ok:
        raise HalabError(f"{node}: '{command}' failed: {(result.stderr or result.stdout).strip()[-200:]}")


# A crash that a restart does not cure: the unit is masked until restored, so systemd's Restart=always (Debian's
# haproxy.service has it) cannot bring HAProxy back within 100 ms, and only keepalived's tracking can help.
KILL_HAPROXY = "systemctl mask --runtime --quiet haproxy && pkill --signal KILL --exact haproxy"
RESTART_HAPROXY = "systemctl unmask --runtime --quiet haproxy; systemctl reset-failed haproxy; systemctl start haproxy"


def kill_haproxy(lab: Lab, node: str) -> None:
    must(lab, node, KILL_HAPROXY)


def restart_haproxy(lab: Lab, node: str) -> None:
    must(lab, node, RESTART_HAPROXY, timeout=60)


def settled(lab: Lab) -> bool:
    """The lab serves again: one balancer holds the virtual IP and a request through it succeeds."""
    return len(holders(lab)) == 1 and request(lab).ok


def settle_note(lab: Lab, timeout: float = 60) -> str:
    """Wait for the lab to serve again after a fault; a sentence for the feedback if it does not."""
    if wait_for(lambda: settled(lab), timeout, interval=1) is None:
        return f" The lab did not serve through {lab.spec.settings['virtual_ip']} again within {timeout:g} s."
    return ""
