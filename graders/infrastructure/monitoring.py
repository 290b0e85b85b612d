"""The link-monitoring check: a cloned connectivity monitor on every node and a location rule on the node
attribute it sets, so that the service leaves a node that lost its client-facing cable.

Either agent counts, with any resource names: ``ocf:pacemaker:ping`` (attribute ``pingd`` unless its ``name``
parameter says otherwise; ``multiplier`` times the reachable hosts) pinging the client, or
``ocf:heartbeat:ethmonitor`` on the client network's interface (attribute ``ethmonitor-<interface>``, 1 when
the link is up, 0 when it is down). The rule is judged by what it does: evaluated for a node whose monitor
reports the link lost and for one whose link is fine, the lost node must end up less preferred by more
than the resource-stickiness (or banned outright), whatever the rule's form (``-inf: not_defined pingd or
pingd lte 0``, ``pingd: defined pingd``, ``ethmonitor-eth0 ne 1``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.checks import Verdict, fail, ok
from graders.clustering.fencing import seconds
from graders.collectors.cib import Cib, Primitive, Rule
from graders.facts import LabFacts
from graders.infrastructure.checks import CHECKS

INFINITY = 1_000_000  # Pacemaker's INFINITY


@dataclass(frozen=True)
class Monitor:
    primitive: Primitive
    attribute: str
    good: float  # the attribute's value on a node whose link is fine
    watches: str  # what it watches, for the feedback


def _client_interface(facts: LabFacts) -> str:
    network = facts.spec.settings.get("client_network", facts.spec.management_network.name)
    return f"eth{[n.name for n in facts.spec.networks].index(network)}"


def cluster_addresses(facts: LabFacts) -> dict[str, str]:
    """Addresses a node of the cluster answers from itself (the floating IP, the members' own), and whose they are:
    pinging one of them tells nothing about the client network."""
    spec = facts.spec
    found = {str(spec.settings["floating_ip"]): "the floating IP"}
    for node in spec.members:
        found.update({str(address): node.name for address in node.addresses.values()})
    return found


def _monitors(cib: Cib, facts: LabFacts) -> tuple[list[Monitor], list[str]]:
    """The connectivity monitors that watch the client network, and why the others do not count."""
    client, interface = str(facts.spec.settings.get("client_address", "")), _client_interface(facts)
    ours = cluster_addresses(facts)
    found, problems = [], []
    for primitive in cib.by_agent("ping", "pingd"):
        hosts = primitive.params.get("host_list", "").split()
        if client not in hosts:
            problems.append(f"{primitive.id} pings {' '.join(hosts) or 'nothing'}, not the client ({client})")
            continue
        own = [f"{host} ({ours[host]})" for host in hosts if host in ours]
        if own:
            # The node holding the floating IP (or the pinged node itself) answers whatever its cable: pingd stays up
            # on exactly the node that lost the clients.
            problems.append(f"{primitive.id} also pings {', '.join(own)}: a node answers that from itself, whatever "
                            "its cable, so losing the lan never lowers its score; ping the client only")
            continue
        multiplier = float(primitive.params.get("multiplier", "1") or 1)
        found.append(Monitor(primitive, primitive.params.get("name", "pingd"), multiplier,
                             f"pings {client}"))
    for primitive in cib.by_agent("ethmonitor"):
        watched = primitive.params.get("interface", "")
        if watched != interface:
            problems.append(f"{primitive.id} watches {watched or 'no interface'}, not the client network's "
                            f"{interface}")
            continue
        found.append(Monitor(primitive, primitive.params.get("name", f"ethmonitor-{watched}"), 1.0,
                             f"watches {watched}"))
    return found, problems


def _score(text: str) -> float:
    text = text.strip().upper().lstrip("+")
    if text in ("INFINITY", "INF"):
        return INFINITY
    if text in ("-INFINITY", "-INF"):
        return -INFINITY
    try:
        return float(text)
    except ValueError:
        return 0.0


def _holds(rule: Rule, attributes: dict[str, float]) -> bool:
    results = []
    for expression in rule.expressions:
        value = attributes.get(expression.attribute)
        if expression.operation == "defined":
            results.append(value is not None)
        elif expression.operation == "not_defined":
            results.append(value is None)
        elif value is None:
            results.append(False)  # a comparison with an undefined attribute is false in Pacemaker
        else:
            wanted = _score(expression.value) if expression.value.strip() else 0.0
            results.append({"eq": value == wanted, "ne": value != wanted, "lt": value < wanted,
                            "lte": value <= wanted, "gt": value > wanted, "gte": value >= wanted}
                           .get(expression.operation, False))
    if not results:
        return True
    return any(results) if rule.boolean_op == "or" else all(results)


def _preference(rules: tuple[Rule, ...], attributes: dict[str, float]) -> float:
    total = 0.0
    for rule in rules:
        if _holds(rule, attributes):
            total += attributes.get(rule.score_attribute, 0.0) if rule.score_attribute else _score(rule.score)
    return max(-INFINITY, min(INFINITY, total))


def _service_ids(cib: Cib, facts: LabFacts) -> set[str]:
    """The ids a location constraint on the service may name: the floating IP, the web server, their group."""
    address = facts.spec.settings["floating_ip"]
    ips = [p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == address]
    return {i for p in ips for i in (p.id, p.group) if i}


def _rule_verdict(cib: Cib, facts: LabFacts, monitor: Monitor) -> str:
    """Empty if some location rule on the service moves it off a node whose link is lost; else why not."""
    service = _service_ids(cib, facts)
    if not service:
        return f"no IPaddr2 resource for {facts.spec.settings['floating_ip']} to keep off a cut-off node"
    stickiness = _score(cib.resource_defaults.get("resource-stickiness", "0"))
    reasons = []
    for constraint in cib.constraints:
        if constraint.kind != "rsc_location" or not constraint.rules:
            continue
        if constraint.attributes.get("rsc") not in service:
            reasons.append(f"{constraint.id} constrains {constraint.attributes.get('rsc')}, not the service "
                           f"({', '.join(sorted(service))})")
            continue
        if not any(e.attribute == monitor.attribute for r in constraint.rules for e in r.expressions):
            reasons.append(f"{constraint.id} tests no {monitor.attribute!r} (the attribute {monitor.primitive.id} "
                           "sets)")
            continue
        # A monitor that lost its link sets the attribute to 0 (it is undefined only where it never ran).
        lost = _preference(constraint.rules, {monitor.attribute: 0.0})
        good = _preference(constraint.rules, {monitor.attribute: monitor.good})
        if lost <= -INFINITY or good - lost > stickiness:
            return ""
        reasons.append(f"{constraint.id} gives a cut-off node {lost:g} and a connected one {good:g}: not enough "
                       f"to beat resource-stickiness {stickiness:g}, so the service would stay")
    return "; ".join(reasons) or f"no location rule on {monitor.attribute!r} for the service"


@CHECKS.check("link-monitoring", "The cluster moves the service off a node that lost its client-facing cable",
              "clone a ping resource (ocf:pacemaker:ping host_list=<client> dampen=2s) or ethmonitor "
              "(interface=eth0), then: location service-on-connected web rule -inf: not_defined pingd or "
              "pingd lte 0")
def link_monitoring(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    monitors, problems = _monitors(cib, facts)
    if not monitors:
        return fail("; ".join(problems) or "no connectivity monitor (ocf:pacemaker:ping or ocf:heartbeat:ethmonitor)"
                    " is configured, so a node that loses its lan cable keeps the service nobody can reach")
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    members = set(facts.spec.member_names)
    for monitor in monitors:
        if monitor.primitive.clone is None:
            problems.append(f"{monitor.primitive.id} is not cloned: it must run on every node to compare them")
            continue
        if not any(seconds(interval) > 0 for interval in monitor.primitive.monitors):
            problems.append(f"{monitor.primitive.id} has no recurring monitor operation: {monitor.attribute} is set "
                            "once when it starts and never again, so a lost cable changes nothing "
                            "(op monitor interval=2s)")
            continue
        running = {n for r in status.resources if r.id == monitor.primitive.id and r.active for n in r.nodes}
        if running != members:
            problems.append(f"{monitor.primitive.id} runs on {', '.join(sorted(running)) or 'no node'}, not on every "
                            "node")
            continue
        why_not = _rule_verdict(cib, facts, monitor)
        if not why_not:
            return ok(f"{monitor.primitive.id} ({monitor.primitive.agent}) {monitor.watches} on every node, and a "
                      f"location rule on {monitor.attribute} moves the service off a node that lost the clients")
        problems.append(why_not)
    return fail("; ".join(problems))
