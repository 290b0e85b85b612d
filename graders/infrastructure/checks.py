"""Checks for the infrastructure lab: two Corosync links and their policy, both links up between every pair,
timeouts lowered on purpose, and a fence delay so that a two-node partition cannot kill both nodes.

The Corosync, Pacemaker and web service checks are the clustering lab's (reused: the nodelist check reads
the lab's ``ring_networks`` and wants ring0_addr on ring0 and ring1_addr on ring1). Link monitoring is in
monitoring.py.
"""

from __future__ import annotations

from graders.checks import CheckTable, Verdict, fail, ok
from graders.clustering import fencing
from graders.clustering.checks import CHECKS as CLUSTER_CHECKS
from graders.clustering.checks import cluster_conf, ring_networks
from graders.collectors import knet_traffic
from graders.collectors.cib import Cib
from graders.collectors.corosync_conf import Section
from graders.facts import FactMissing, LabFacts, NodeFacts

CHECKS = CheckTable()
CHECKS.reuse(CLUSTER_CHECKS, "corosync-conf-identical", "corosync-cluster-name", "corosync-nodelist",
             "corosync-transport", "corosync-quorum", "authkey", "services-running", "membership", "stonith",
             "floating-ip", "web-server", "together-in-order", "no-leftover-constraints", "crm-verify")

DEFAULT_TOKEN_MS = 3000  # Corosync 3.1 and later (Debian 12 has 3.1.7); it was 1000 ms before 3.1
LINK_MODES = {
    "passive": "one link carries the traffic and the other stands by; the link with the highest "
               "knet_link_priority is used, the next one takes over when it fails",
    "active": "every link carries traffic at once: a lost packet on one link costs nothing, for twice the traffic",
    "rr": "round robin over the links",
}


def _totem(facts: LabFacts) -> tuple[str, Section]:
    node, conf = cluster_conf(facts)
    totem = conf.first("totem")  # type: ignore[attr-defined]
    if totem is None:
        raise FactMissing(f"corosync.conf on {node} has no totem section")
    return node, totem


@CHECKS.check("link-policy", "A link policy chosen on purpose: link_mode and/or link priorities",
              "In totem: link_mode: passive (with knet_link_priority per 'interface { linknumber: N }' section) "
              "or link_mode: active.")
def link_policy(facts: LabFacts) -> Verdict:
    node, totem = _totem(facts)
    mode = totem.values.get("link_mode")
    priorities = {i.values.get("linknumber", "0"): i.values["knet_link_priority"]
                  for i in totem.all("interface") if "knet_link_priority" in i.values}
    if mode is not None and mode not in LINK_MODES:
        return fail(f"link_mode is {mode!r} on {node}; Corosync knows passive, active and rr")
    if mode is None and not priorities:
        return fail(f"corosync.conf on {node} sets neither link_mode nor knet_link_priority: knet then runs "
                    "passive with equal priorities and picks the link itself; choose which link carries the "
                    "cluster's traffic, or use both (active)")
    chosen = mode or "passive"
    if chosen == "passive" and len(set(priorities.values())) < 2 and len(ring_networks(facts)) > 1:
        return fail(f"link_mode passive on {node} without different knet_link_priority values: both links have "
                    "the same priority, so which one carries the traffic is left to chance; give the preferred "
                    "link the higher priority")
    stale = _stale_link_mode(facts, chosen)
    if stale:
        return fail(stale, "link_mode is read when corosync starts: restart corosync on each node in turn (systemctl "
                           "restart corosync); corosync-cfgtool -R reloads the timeouts, not the link mode")
    detail = ", ".join(f"link {n}: priority {p}" for n, p in sorted(priorities.items()))
    return ok(f"link_mode {chosen}: {LINK_MODES[chosen]}" + (f" ({detail})" if detail else ""))


def _stale_link_mode(facts: LabFacts, chosen: str) -> str:
    """Where the links knet uses now contradict the file's link_mode (a file changed and reloaded with
    corosync-cfgtool -R, which does not change it): why, or "". Judged only on a node whose links are all
    connected (a cut link carries nothing in any mode), and not at all from evidence without the statistics."""
    wanted = len(ring_networks(facts))
    problems = []
    for node in facts.each():
        try:
            traffic = node.parsed("knet_traffic", knet_traffic.parse)
            links = node.links()
        except FactMissing:
            continue
        connected = all(state in ("connected", "localhost") for link in range(wanted)
                        for state in links.links.get(link, {"?": "missing"}).values())
        if len(traffic.links) < 2 or not traffic.carrying or not connected:
            continue
        runs = "passive" if len(traffic.carrying) == 1 else "active or rr"
        if (chosen == "passive") != (runs == "passive"):
            used = ", ".join(str(link) for link in traffic.carrying)
            problems.append(f"on {node.name} knet runs {runs} (data on link {used}) while corosync.conf says "
                            f"link_mode: {chosen}")
    return "; ".join(problems)


def _node_ids(facts: LabFacts) -> dict[str, str]:
    """Node id -> name, from the nodelist (cfgtool prints ids only)."""
    _, conf = cluster_conf(facts)
    section = conf.first("nodelist")  # type: ignore[attr-defined]
    return {e.values["nodeid"]: e.values.get("name", f"nodeid {e.values['nodeid']}")
            for e in (section.all("node") if section else []) if "nodeid" in e.values}


@CHECKS.check("links-connected", "Both Corosync links are connected between every pair of nodes",
              "corosync-cfgtool -s on each node must show every link 'connected' to every peer; check the "
              "ringN_addr addresses and that each ring's cable is plugged in.")
def links_connected(facts: LabFacts) -> Verdict:
    wanted = len(ring_networks(facts))
    peers = len(facts.spec.members) - 1
    names = _node_ids(facts)
    links, problems = facts.per_node(lambda node: node.links())
    for name, found in links.items():
        for link in range(wanted):
            if link not in found.links:
                problems.append(f"{name} has no link {link}")
                continue
            states = {names.get(str(i), f"nodeid {i}"): s for i, s in found.links[link].items() if s != "localhost"}
            down = sorted(peer for peer, state in states.items() if state != "connected")
            if down:
                problems.append(f"on {name}, link {link} to {', '.join(down)} is "
                                f"{states[down[0]]}")
            elif len(states) < peers:
                problems.append(f"on {name}, link {link} sees {len(states)} of {peers} peers")
    if problems:
        return fail("; ".join(problems))
    return ok(f"links 0-{wanted - 1} connected between {', '.join(links)}")


def _ms(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


@CHECKS.check("token-timeouts", "The token and consensus timeouts are lowered on purpose, and in effect",
              "In totem: token: 1000 (and consensus: 1200, or leave consensus out: it is then 1.2 x token); "
              "restart corosync on every node (or corosync-cfgtool -R) so the running cluster uses them.")
def token_timeouts(facts: LabFacts) -> Verdict:
    node, totem = _totem(facts)
    low, high = (int(v) for v in facts.spec.settings.get("token_range_ms", [300, 2000]))
    token, consensus = _ms(totem.values.get("token")), _ms(totem.values.get("consensus"))
    cost = ("a dead node is noticed after token + consensus ms, then fenced; every millisecond less is a "
            "faster failover, but a node that misses the token for that long (a busy CPU, a congested "
            "switch) is declared dead and fenced although it is healthy")
    if token is None:
        return fail(f"no token in the totem section on {node}: the default {DEFAULT_TOKEN_MS} ms (Corosync 3.1) "
                    f"applies, so a dead node is noticed after about {DEFAULT_TOKEN_MS * 2.2 / 1000:g} s; {cost}")
    if not low <= token <= high:
        side = "too low: false fencing when the host is busy" if token < low else "not lowered enough"
        return fail(f"token is {token} ms on {node}, {side}; this lab wants {low}-{high} ms. {cost}")
    effective = consensus if consensus is not None else int(token * 1.2)
    if consensus is not None and consensus < 1.2 * token:
        return fail(f"consensus is {consensus} ms on {node}, less than 1.2 x token ({token * 1.2:g} ms): "
                    "Corosync needs at least that to agree on a new membership")
    running, problems = facts.per_node(lambda node: _running_token(node))
    stale = [f"{name} runs with token {value} ms" for name, value in running.items() if value != token]
    if problems or stale:
        return fail("; ".join(problems + stale) + f" (corosync.conf says {token} ms): restart corosync, or run "
                    "corosync-cfgtool -R, so that the running cluster uses the new timeouts")
    return ok(f"token {token} ms, consensus {effective} ms: a dead node is noticed after about "
              f"{(token + effective) / 1000:g} s instead of {DEFAULT_TOKEN_MS * 2.2 / 1000:g} s")


def _running_token(node: NodeFacts) -> int:
    value = _ms(node.cmap().get("runtime.config.totem.token"))
    if value is None:
        raise FactMissing(f"Corosync on {node.name} reports no runtime token timeout")
    return value


FENCE_SECONDS = 0.5  # about how long a fencing takes here, from the request to the target's power cut


def fixed_delays(cib: Cib, members: list[str]) -> list[str]:
    """The settings that decide a fence race beforehand (the same node wins every time), described."""
    found = []
    waits = fencing.waits(cib, members)
    if len(waits) == len(members) and len({wait for wait, _ in waits.values()}) > 1:
        # One device with a per-node map, or a device per node with its own pcmk_delay_base: either way,
        # fencing one node waits longer than fencing the other, so that one shoots first and survives.
        first = max(members, key=lambda n: waits[n][0])
        how = ", ".join(f"fencing {n} waits {waits[n][0]:g} s ({waits[n][1]})" for n in members)
        found.append(f"pcmk_delay_base: {how}, so {first} wins a fence race")
    if _seconds(cib.properties.get("priority-fencing-delay")) > 0:
        prioritised = [rid for rid, meta in cib.resource_meta.items() if _seconds(meta.get("priority")) > 0]
        if prioritised or _seconds(cib.resource_defaults.get("priority")) > 0:
            found.append(f"priority-fencing-delay={cib.properties['priority-fencing-delay']} with priority on "
                         f"{', '.join(prioritised) or 'every resource (rsc_defaults)'} (the node running them wins)")
    return found


def _random_delays(cib: Cib) -> list[str]:
    """Random delays (pcmk_delay_max), described: they usually break a fence race, by chance."""
    found = []
    for device in fencing.devices(cib):
        spread = _seconds(device.params.get("pcmk_delay_max"))
        if spread > 0:
            chance = 2 * FENCE_SECONDS / spread - (FENCE_SECONDS / spread) ** 2 if spread > FENCE_SECONDS else 1.0
            found.append(f"{device.id}: pcmk_delay_max={device.params['pcmk_delay_max']} (a random delay: both "
                         f"shots still fire within a fencing's time of each other in about {chance:.0%} of splits "
                         "here; a per-node pcmk_delay_base or priority-fencing-delay leaves nothing to chance)")
    return found


_seconds = fencing.seconds


@CHECKS.check("fence-race", "A two-node partition cannot make both nodes fence each other",
              "crm configure property priority-fencing-delay=1s with meta priority=10 on the service's group; "
              "or a fixed delay per node: crm resource param fence-lab set pcmk_delay_base 'node1:2s;node2:0' (or, "
              "with a device per node, pcmk_delay_base=2s on the one that fences node1)")
def fence_race(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    delays = fixed_delays(cib, facts.spec.member_names) + _random_delays(cib)
    if not delays:
        return fail("no fencing delay: when both cluster links break, each node sees the other die and both shoot "
                    "at the same moment (a fence race): both can end up powered off. A random delay "
                    "(pcmk_delay_max), a fixed delay per node (pcmk_delay_base=\"node1:2s;node2:0\") or a "
                    "priority delay (priority-fencing-delay, which lets the node running the more important "
                    "resources shoot first) makes one side win; it also delays a real failover by up to that "
                    "much")
    return ok("; ".join(delays))
