"""Checks of the load-balancing lab: keepalived (VRRP), the virtual IP, and the backup's readiness.

keepalived is judged from its config test and from the running daemon's own report (its data file: the
configuration after includes, each instance's state and priorities, each tracked script's status), so any
layout of its configuration passes.
"""

from __future__ import annotations

from graders.checks import Verdict, fail, ok
from graders.collectors import cat_config, ip_brief, ss
from graders.collectors.haproxy_cfg import split_address
from graders.collectors.keepalived_data import Instance, KeepalivedData
from graders.facts import FactMissing, LabFacts, NodeFacts
from graders.loadbalancing import views
from graders.loadbalancing.checks import CHECKS, HTTP_PORT, problems_verdict, site
from graders.loadbalancing.views import BALANCER

NONLOCAL_BIND = "net.ipv4.ip_nonlocal_bind"
FREE_BIND_OPTIONS = ("transparent", "freebind")  # HAProxy bind options that bind an address not (yet) local


@CHECKS.check("keepalived-config-valid", "keepalived accepts its configuration on both balancers (keepalived -t)",
              "Write /etc/keepalived/keepalived.conf on each balancer; keepalived -t prints what is wrong. A script "
              "needs global_defs { enable_script_security; script_user root } (notebook 5b, 5b.4 and 5b.6).")
def keepalived_config_valid(facts: LabFacts) -> Verdict:
    tests, problems = facts.per_node(views.keepalived_test, BALANCER)
    for name, test in tests.items():
        if test.missing:
            problems.append(f"{name} has no keepalived configuration yet ({test.first_problem()})")
        elif not test.valid:
            problems.append(f"keepalived rejects its configuration on {name}: " + "; ".join(test.messages[:3]))
    bug = [name for name, test in tests.items() if test.script_user_bug]
    note = (f" (on {', '.join(bug)} keepalived 2.2.7's own test killed itself over script_user, a bug fixed in 2.2.8: "
            "the file was tested again with script_user root, and the users it named exist)") if bug else ""
    return problems_verdict(problems) or ok(f"valid on {', '.join(tests)}{note}")


def instance(facts: LabFacts, node: NodeFacts) -> Instance:
    """The node's VRRP instance for the lab's virtual IP and router id."""
    vip, vrid = facts.spec.settings["virtual_ip"], int(facts.spec.settings["vrrp_router_id"])
    data = views.keepalived(node)
    for candidate in data.instances:
        if candidate.router_id == vrid and candidate.has_address(vip):
            return candidate
    with_vip = [i for i in data.instances if i.has_address(vip)]
    if with_vip:
        raise FactMissing(f"keepalived on {node.name}: instance {with_vip[0].name} holds {vip} with virtual_router_id "
                          f"{with_vip[0].router_id}; this lab's router id is {vrid}")
    names = ", ".join(f"{i.name} (router id {i.router_id})" for i in data.instances) or "none"
    raise FactMissing(f"keepalived on {node.name} has no vrrp_instance with {vip} in its virtual_ipaddress "
                      f"(instances: {names})")


@CHECKS.check("vrrp-instance", "One VRRP instance for {virtual_ip} (router id {vrrp_router_id}), priorities set",
              "vrrp_instance VI_WEB (any name) { interface eth0; virtual_router_id {vrrp_router_id}; priority 150 "
              "(100 on the backup); advert_int 1; virtual_ipaddress { {virtual_ip}/24 } } on both balancers.")
def vrrp_instance(facts: LabFacts) -> Verdict:
    found, problems = facts.per_node(lambda node: instance(facts, node), BALANCER)
    if problems:
        return fail("; ".join(problems))
    priorities = {name: i.priority for name, i in found.items()}
    if len(set(priorities.values())) < len(priorities):
        return fail(f"both balancers have priority {next(iter(priorities.values()))}: give the one that should be "
                    "master a higher priority (with equal ones the higher IP address wins, by accident)")
    intervals = {i.advert_interval for i in found.values()}
    if len(intervals) > 1:
        return fail(f"the advert intervals differ ({', '.join(sorted(intervals))}): keepalived drops adverts whose "
                    "interval is not its own", "Use the same advert_int on both balancers.")
    master = max(priorities, key=priorities.__getitem__)
    return ok(", ".join(f"{name}: {found[name].name} priority {p}" for name, p in priorities.items())
              + f"; {master} is the preferred master")


def _script_problems(node: str, data: KeepalivedData, chosen: Instance, haproxy_active: bool) -> list[str]:
    problems = []
    for tracked in chosen.scripts:
        script = data.scripts.get(tracked.name)
        if script and script.status != "GOOD" and haproxy_active:
            problems.append(f"track_script {tracked.name} on {node} fails ({script.status}) although HAProxy runs: "
                            f"test its command by hand ({script.command})")
    for tracked in chosen.processes:
        process = data.processes.get(tracked.name)
        if process is None:
            continue
        if process.process != "haproxy":
            problems.append(f"track_process {tracked.name} on {node} watches '{process.process}', not haproxy")
        elif haproxy_active and not process.quorum:
            problems.append(f"track_process {tracked.name} on {node} sees {process.current} haproxy processes although "
                            "HAProxy runs: keepalived learns of processes from the kernel's process events, which "
                            "do not reach a container (journal: 'Failed to set/clear process event listen'); use a "
                            "track_script here (track_process works on real machines and VMs)")
    return problems


def _weight_problems(found: dict[str, Instance]) -> list[str]:
    """A tracked failure with a weight only lowers the priority: the VIP moves only if the peer then wins."""
    problems = []
    for name, chosen in found.items():
        tracked = chosen.scripts + chosen.processes
        if not tracked or all(t.weight == 0 for t in tracked):
            continue  # weight 0: a failure puts the instance in FAULT, which always gives the address up
        failing = chosen.priority + sum(t.weight for t in tracked if t.weight < 0)
        for peer, other in found.items():
            if peer == name:
                continue
            healthy = other.priority + sum(t.weight for t in other.scripts + other.processes if t.weight > 0)
            if failing >= healthy:
                problems.append(f"when HAProxy dies on {name} its priority drops to {failing}, not below {peer}'s "
                                f"{healthy}: {peer} does not take over (use a larger weight, or weight 0)")
            elif not other.preempt:
                problems.append(f"{peer} has nopreempt, so it never takes the address from {name} whose priority only "
                                "drops: with nopreempt, track HAProxy without a weight (a failure then puts the "
                                "instance in FAULT, which gives the address up)")
    return problems


@CHECKS.check("vrrp-tracking", "keepalived tracks HAProxy, so the address moves when HAProxy dies",
              "vrrp_script chk_haproxy { script \"/usr/bin/killall -0 haproxy\"; interval 1; fall 2; rise 2 } and "
              "track_script { chk_haproxy } in the vrrp_instance, on both balancers.")
def vrrp_tracking(facts: LabFacts) -> Verdict:
    found, problems = facts.per_node(lambda node: instance(facts, node), BALANCER)
    described = []
    for name, chosen in found.items():
        if not chosen.scripts and not chosen.processes:
            problems.append(f"{chosen.name} on {name} tracks nothing: when HAProxy dies there, the address stays on a "
                            "balancer that cannot serve it")
            continue
        active = views.units(facts.nodes[name], "is_active", views.BALANCER_UNITS).get("haproxy") == "active"
        problems += _script_problems(name, views.keepalived(facts.nodes[name]), chosen, active)
        described.append(f"{name}: " + ", ".join([f"script {t.name}" for t in chosen.scripts]
                                                 + [f"process {t.name}" for t in chosen.processes]))
    problems += _weight_problems(found)
    return problems_verdict(problems) or ok("; ".join(described))


def _needs_nonlocal_bind(facts: LabFacts, node: NodeFacts) -> bool:
    """Whether HAProxy on the node binds the virtual IP itself, which needs the address to be local (or the
    kernel's permission to bind one that is not)."""
    found = site(facts, node)
    host, _ = split_address(found.bind.words[1].split(",")[0])
    return host == facts.spec.settings["virtual_ip"] and not any(o in found.bind.words for o in FREE_BIND_OPTIONS)


@CHECKS.check("backup-ready", "The backup is ready: HAProxy listens on {virtual_ip}:80 on both balancers",
              "Put 'net.ipv4.ip_nonlocal_bind = 1' in /etc/sysctl.d/90-nonlocal-bind.conf on both balancers, "
              "sysctl --system, then restart HAProxy.")
def backup_ready(facts: LabFacts) -> Verdict:
    vip = facts.spec.settings["virtual_ip"]
    sockets, problems = facts.per_node(views.listeners, BALANCER)
    for name, found in sockets.items():
        node = facts.nodes[name]
        state = views.units(node, "is_active", views.BALANCER_UNITS).get("haproxy")
        if state != "active":
            problems.append(f"HAProxy is not running on {name} ({state}): if it cannot bind {vip} because the peer "
                            "holds the address, see the hint")
            continue
        if ss.listening(found, vip, HTTP_PORT, "haproxy") is None:
            holder = "it holds the address" if views.holds_vip(facts, node) else "it does not hold the address"
            problems.append(f"HAProxy does not listen on {vip}:80 on {name} ({holder}): a backup whose HAProxy "
                            f"cannot bind {vip} fails to start, and serves nothing when the address comes to it")
            continue
        if _needs_nonlocal_bind(facts, node):
            boot = cat_config.boot_value(views.boot_sysctls(node), NONLOCAL_BIND)
            if boot is None or boot.value != "1":
                now = views.runtime_sysctl(node)
                problems.append(f"{NONLOCAL_BIND} is {now} on {name} now but "
                                + (f"{boot.value} at boot ({boot.file})" if boot else "not set at boot")
                                + f": after a reboot HAProxy cannot bind {vip} until keepalived adds it")
    return problems_verdict(problems) or ok(f"HAProxy listens on {vip}:80 on {', '.join(sockets)}")


@CHECKS.check("keepalived-service", "keepalived runs on both balancers and starts at boot",
              "systemctl enable --now keepalived on each balancer.")
def keepalived_service(facts: LabFacts) -> Verdict:
    problems = views.service_problems(facts, BALANCER, views.BALANCER_UNITS, only="keepalived")
    return problems_verdict(problems) or ok("keepalived active and enabled")


def _split_brain(facts: LabFacts, holders: list[str]) -> str:
    """Why two balancers both think they are master."""
    vrids = {}
    for name in holders:
        try:
            data = views.keepalived(facts.nodes[name])
        except FactMissing:
            return f"{name} holds it without keepalived (added by hand?)"
        vrids[name] = sorted({i.router_id for i in data.instances if i.has_address(facts.spec.settings["virtual_ip"])})
    if len({tuple(v) for v in vrids.values()}) > 1:
        return ("their virtual_router_id differ (" + ", ".join(f"{n}: {v}" for n, v in vrids.items())
                + "), so each thinks it is alone")
    return ("they do not hear each other's VRRP adverts (IP protocol 112 to 224.0.0.18, or to your unicast_peer "
            "addresses): check the interface, the router id and any authentication")


@CHECKS.check("vip-single-holder", "Exactly one balancer holds {virtual_ip}, as keepalived's master",
              "Start keepalived on both balancers; the one with the higher priority becomes master and adds the "
              "address.")
def vip_single_holder(facts: LabFacts) -> Verdict:
    vip = facts.spec.settings["virtual_ip"]
    interfaces, problems = facts.per_node(views.addresses, BALANCER)
    if problems:
        return fail("; ".join(problems))
    holders = [name for name, found in interfaces.items() if ip_brief.holds(found, vip)]
    if len(holders) > 1:
        return fail(f"split brain: {' and '.join(holders)} both hold {vip}, so the network sends visitors to either at "
                    f"random: {_split_brain(facts, holders)}", "Exactly one VRRP master must exist: same "
                    "virtual_router_id on both, and the adverts must reach the peer.")
    if not holders:
        states = []
        for name in interfaces:
            try:
                chosen = instance(facts, facts.nodes[name])
                states.append(f"{name}: {chosen.name} is {chosen.state}")
            except FactMissing as exc:
                states.append(str(exc))
        return fail(f"no balancer holds {vip} ({'; '.join(states)})")
    holder = holders[0]
    try:
        state = instance(facts, facts.nodes[holder]).state
    except FactMissing as exc:
        return fail(f"{vip} is on {holder}, but not through keepalived: {exc}")
    if state != "MASTER":
        return fail(f"{vip} is on {holder}, whose keepalived instance is {state}, not MASTER (added by hand?)")
    return ok(f"{holder} holds {vip} as VRRP master")
