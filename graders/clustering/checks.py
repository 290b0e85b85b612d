"""Checks for the clustering labs (2 and 3 nodes): Corosync, Pacemaker, fencing, a floating IP web service.

Each check explains what it found on which node, and why it matters in a real cluster.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from graders.checks import CheckTable, Verdict, fail, ok
from graders.clustering import fencing
from graders.collectors.cib import Cib, Primitive
from graders.facts import FactMissing, LabFacts, NodeFacts

CHECKS = CheckTable()
WEB_TYPES = ("apache", "nginx", "apache2")


def _unreachable_note(facts: LabFacts) -> str:
    down = facts.unreachable()
    return f" ({', '.join(down)} unreachable, not checked)" if down else ""


def ring_networks(facts: LabFacts) -> list[str]:
    """The lab network of each Corosync link, in link order: the lab's ``ring_networks`` setting, or just
    the management network (one link)."""
    return list(facts.spec.settings.get("ring_networks") or [facts.spec.management_network.name])


def cluster_conf(facts: LabFacts) -> tuple[str, object]:
    """This lab's corosync.conf. A file whose nodelist names none of the lab's nodes (Debian's default, say)
    earns nothing, even where its settings happen to be right: the points are for the student's work."""
    node, conf = facts.cluster_view(lambda node: node.corosync_conf())
    known = set(facts.spec.member_names) | {str(a) for n in facts.spec.members for a in n.addresses.values()}
    section = conf.first("nodelist")
    # Addresses decide it (ring0_addr may also be a resolvable name): Debian's default lists "node1" at 127.0.0.1.
    listed = {v for entry in (section.all("node") if section else []) for k, v in entry.values.items()
              if k.endswith("_addr")}
    if not listed & known:
        raise FactMissing(f"corosync.conf on {node} does not describe this cluster yet: its nodelist has none of "
                          f"the lab's nodes ({', '.join(facts.spec.member_names)})")
    return node, conf


@CHECKS.check("corosync-conf-identical", "corosync.conf is valid and identical on every node",
       "Write /etc/corosync/corosync.conf on one node and copy it to the others (scp, or crm/pcs cluster sync): "
       "notebook 3, section 3.5, task 1.")
def conf_identical(facts: LabFacts) -> Verdict:
    texts, problems = facts.per_node(lambda node: node.corosync_conf_text() or _missing(node))
    if problems:
        return fail("; ".join(problems))
    for name in texts:
        facts.nodes[name].corosync_conf()  # a syntax error fails the check with Corosync's own complaint
    cluster_conf(facts)
    names = list(texts)
    for other in names[1:]:
        if texts[other] != texts[names[0]]:
            diff = [line for line in difflib.unified_diff(texts[names[0]].splitlines(), texts[other].splitlines(),
                                                          names[0], other, lineterm="", n=0)][2:5]
            return fail(f"corosync.conf differs between {names[0]} and {other}: " + " | ".join(diff),
                        "Every node must run the same configuration; copy the file from one node to the others.")
    return ok(f"identical on {', '.join(names)}")


def _missing(node: NodeFacts) -> str:
    raise FactMissing(f"/etc/corosync/corosync.conf is missing or empty on {node.name}")


@CHECKS.check("corosync-cluster-name", "Corosync cluster name",
       "Set 'cluster_name' in the totem section (notebook 3, section 3.5, task 1).")
def cluster_name(facts: LabFacts) -> Verdict:
    node, conf = cluster_conf(facts)
    wanted = facts.spec.settings.get("cluster_name", "")
    found = conf.get("totem.cluster_name")  # type: ignore[attr-defined]
    if found != wanted:
        return fail(f"totem.cluster_name is {found!r} on {node}; this lab's cluster is named {wanted!r}")
    return ok(f"cluster_name: {wanted}")


@CHECKS.check("corosync-nodelist", "Every node is in the nodelist with name, nodeid and address",
       "Add one 'node { name: ..., nodeid: ..., ring0_addr: ... }' block per node, each key on its own line "
       "(notebook 3, section 3.1).")
def nodelist(facts: LabFacts) -> Verdict:
    node, conf = cluster_conf(facts)
    section = conf.first("nodelist")  # type: ignore[attr-defined]
    entries = section.all("node") if section else []
    if not entries:
        return fail(f"corosync.conf on {node} has no nodelist with node entries")
    rings = ring_networks(facts)
    # A ringN_addr may be a name the nodes' /etc/hosts resolves (pcs cluster setup writes the node names there).
    resolves = {name: address for address, name in facts.spec.host_entries()}
    problems, ids = [], []
    by_name = {entry.values.get("name"): entry for entry in entries}

    def address(entry: object, link: int) -> str | None:
        found = entry.values.get(f"ring{link}_addr")  # type: ignore[attr-defined]
        return resolves.get(found or "", found)

    for lab_node in facts.spec.members:
        # By name, or (crm cluster init writes no names: Pacemaker then names nodes after their hostnames) by
        # the address of its first link.
        entry = by_name.get(lab_node.name) or next(
            (e for e in entries if "name" not in e.values and address(e, 0) == str(lab_node.addresses[rings[0]])),
            None)
        if entry is None:
            problems.append(f"{lab_node.name} is missing")
            continue
        for link, network in enumerate(rings):
            found, wanted = entry.values.get(f"ring{link}_addr"), str(lab_node.addresses[network])
            if found is None and link > 0:
                problems.append(f"{lab_node.name} has no ring{link}_addr (its address on {network} is {wanted}): "
                                f"link {link} is missing, so the cluster hangs on one network")
            elif address(entry, link) != wanted:
                where = f"its address on {network} is" if len(rings) > 1 else "its address is"
                problems.append(f"{lab_node.name} has ring{link}_addr {found!r}, {where} {wanted}")
        ids.append(entry.values.get("nodeid"))
    if any(i is None or not i.isdigit() for i in ids) or len(set(ids)) != len(ids):
        problems.append("every node needs its own numeric 'nodeid'")
    extra = set(by_name) - set(facts.spec.member_names) - {None}
    if extra:
        problems.append(f"unknown nodes listed: {', '.join(sorted(str(e) for e in extra))}")
    if len(entries) != len(facts.spec.members):
        problems.append(f"{len(entries)} node entries for {len(facts.spec.members)} lab nodes")
    if problems:
        return fail(f"nodelist on {node}: " + "; ".join(problems))
    unnamed = " (no names: Pacemaker names each node after its hostname)" if None in by_name else ""
    return ok(f"{len(entries)} nodes with ids and addresses{unnamed}")


@CHECKS.check("corosync-transport", "Corosync uses the knet transport",
       "Use 'transport: knet' (the Corosync 3 default): encrypted, and it supports several redundant links.")
def transport(facts: LabFacts) -> Verdict:
    node, conf = cluster_conf(facts)
    value = conf.get("totem.transport") or "knet"  # type: ignore[attr-defined]
    if value != "knet":
        return fail(f"totem.transport is {value!r} on {node}: that is Corosync 2 style unicast UDP, "
                    "which cannot encrypt cluster traffic and has a single link")
    return ok("knet")


@CHECKS.check("corosync-quorum", "Quorum is votequorum, with two_node exactly when there are two nodes",
       "quorum { provider: corosync_votequorum } and, for a two-node cluster only, two_node: 1 (notebook 3, "
       "sections 3.1 and 3.6).")
def quorum_config(facts: LabFacts) -> Verdict:
    node, conf = cluster_conf(facts)
    provider = conf.get("quorum.provider")  # type: ignore[attr-defined]
    if provider != "corosync_votequorum":
        return fail(f"quorum.provider is {provider!r} on {node}; without votequorum the cluster has no quorum")
    two_node = conf.get("quorum.two_node") or "0"  # type: ignore[attr-defined]
    count = len(facts.spec.members)
    if count == 2 and two_node != "1":
        return fail(f"no 'two_node: 1' on {node}: with 2 nodes each having 1 vote, quorum is 2 votes, so when "
                    "one node dies the survivor has 1 vote, loses quorum and stops every resource instead of "
                    "taking them over")
    if count > 2 and two_node == "1":
        return fail(f"two_node: 1 on {node}, but this cluster has {count} nodes: two_node is only for exactly "
                    "two; a majority of votes already survives the loss of one node")
    return ok("votequorum" + (" with two_node" if count == 2 else f", majority of {count} votes"))


@CHECKS.check("authkey", "The authkey is the same on every node, mode 0400, owned by root",
       "Run corosync-keygen on one node, copy /etc/corosync/authkey to the others with scp -p, mode 0400 "
       "(notebook 3, section 3.5, task 2).")
def authkey(facts: LabFacts) -> Verdict:
    keys, problems = facts.per_node(lambda node: node.authkey())
    for name, info in keys.items():
        if info.mode != "400":
            problems.append(f"mode 0{info.mode} on {name}: other users can read the key and forge cluster "
                            "traffic; it must be 0400")
        if info.owner != "root":
            problems.append(f"owned by {info.owner} on {name}, not root")
    if len({info.sha256 for info in keys.values()}) > 1:
        problems.append("the key differs between nodes (" + ", ".join(f"{n}: {k.sha256[:8]}…"
                        for n, k in keys.items()) + "): nodes with different keys cannot decrypt each other")
    if problems:
        return fail("; ".join(problems))
    return ok(f"same key on {', '.join(keys)}, mode 0400")


def _units(facts: LabFacts, key: str, wanted: str,
           accept: Callable[[dict[str, str]], dict[str, str]] = dict, note: str = "") -> Verdict:
    """Every node's corosync and pacemaker in the ``wanted`` state (after ``accept``, which may count an
    equivalent state as the wanted one)."""
    states, problems = facts.per_node(lambda node: accept(node.units(key)))
    wrong: dict[tuple[str, str], list[str]] = {}
    for name, units in states.items():
        for unit, state in units.items():
            if state != wanted:
                wrong.setdefault((unit, state), []).append(name)
    problems += [f"{unit} is {state} on {', '.join(nodes)}" for (unit, state), nodes in wrong.items()]
    return fail("; ".join(problems)) if problems else ok(f"corosync and pacemaker {wanted} on every node{note}")


@CHECKS.check("services-running", "Corosync and Pacemaker are running on every node",
       "systemctl start corosync pacemaker (on every node; check journalctl -u corosync if it fails).")
def services_running(facts: LabFacts) -> Verdict:
    return _units(facts, "is_active", "active")


@CHECKS.check("services-enabled", "Corosync and Pacemaker start at boot",
       "systemctl enable corosync pacemaker, so that a fenced (rebooted) node rejoins by itself (notebook 3, "
       "section 3.5, task 3).")
def services_enabled(facts: LabFacts) -> Verdict:
    return _units(facts, "is_enabled", "enabled", _pulled_by_pacemaker,
                  " (an enabled Pacemaker starts Corosync at boot: it requires it)")


def _pulled_by_pacemaker(units: dict[str, str]) -> dict[str, str]:
    """pacemaker.service Requires= corosync.service: an enabled Pacemaker starts Corosync at boot too, unless
    Corosync is masked (crm cluster init enables only pacemaker)."""
    if units.get("pacemaker") == "enabled" and units.get("corosync") not in ("enabled", "masked"):
        return {**units, "corosync": "enabled"}
    return dict(units)


@CHECKS.check("membership", "Every node is an online member and the cluster is quorate",
       "Check corosync-quorumtool -s and crm_mon -1 on each node; look at journalctl -u corosync for link errors; "
       "a node UNCLEAN in the first minute is normal (notebook 3, section 3.2).")
def membership(facts: LabFacts) -> Verdict:
    seen_from, status = facts.cluster_view(lambda node: node.crm_mon())
    problems = []
    for name in facts.spec.member_names:
        node = status.nodes.get(name)
        if node is None:
            problems.append(f"{name} is not a cluster node")
        elif not node.online:
            problems.append(f"{name} is offline" + (" and UNCLEAN (it must be fenced)" if node.unclean else ""))
        elif node.standby:
            problems.append(f"{name} is in standby")
    if not status.quorate:
        problems.append("the partition has no quorum, so Pacemaker stops all resources")
    if problems:
        return fail(f"seen from {seen_from}: " + "; ".join(problems) + _unreachable_note(facts))
    return ok(f"{len(facts.spec.members)} nodes online, quorate (DC: {status.dc})")


@CHECKS.check("stonith", "Fencing is enabled and every node can be fenced by a running device",
       "crm configure primitive fence-lab stonith:fence_halab params pcmk_host_list=\"{cluster_nodes}\"; "
       "crm configure property stonith-enabled=true (notebook 3, sections 3.4 and 3.5, task 4).")
def stonith(facts: LabFacts) -> Verdict:
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    configured = [r for r in status.resources if r.agent.startswith("stonith:")]
    if not status.stonith_enabled:
        return fail("stonith-enabled is false: a node that stops answering cannot be fenced, so the cluster "
                    "cannot safely recover its resources (risk of split brain)")
    if not configured:
        return fail("no fence device (stonith resource) is configured")
    _, cib = facts.cluster_view(lambda node: node.cib())
    members = facts.spec.member_names
    can = fencing.fencers(cib, status, members)
    problems = []
    for node in (n for n in members if not can[n]):
        lists = [f"{d.id}: {k}={d.params[k]!r}" for d in fencing.devices(cib) for k in ("pcmk_host_list",
                 "pcmk_host_map") if k in d.params]
        why = f" ({'; '.join(lists)}: {', '.join(members)} are this lab's nodes)" if lists else ""
        stopped = [r.id for r in configured if r.id not in fencing.running(status)]
        problems.append(f"0 devices can fence {node}{why}" + (f"; not running: {', '.join(stopped)}" if stopped
                                                                 else ""))
    failed = sorted({(node, device) for (node, device), count in status.fail_counts.items() if count > 0
                     and device in {r.id for r in configured}})
    problems += [f"fence device {device} failed on {node} (fail count {status.fail_counts[(node, device)]}): "
                 f"Pacemaker keeps it off {node} until the failure is cleared (crm resource cleanup {device})"
                 for node, device in failed]
    if problems:
        return fail("; ".join(problems))
    return ok("stonith enabled; " + ", ".join(f"{node} by {' or '.join(can[node])}" for node in members))


def _ip_primitive(cib: Cib, address: str) -> Primitive | None:
    return next((p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == address), None)


def _web_primitive(cib: Cib) -> Primitive | None:
    return next(iter(cib.by_agent(*WEB_TYPES)), None)


@CHECKS.check("floating-ip", "The floating IP runs on one node",
       "crm configure primitive web-ip IPaddr2 params ip=<floating IP> cidr_netmask=24 (notebook 3, section 3.5, "
       "task 5).")
def floating_ip(facts: LabFacts) -> Verdict:
    address = facts.spec.settings["floating_ip"]
    _, cib = facts.cluster_view(lambda node: node.cib())
    primitive = _ip_primitive(cib, address)
    if primitive is None:
        return fail(f"no IPaddr2 resource with ip={address}")
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    resource = status.resource(primitive.id)
    if resource is None or not resource.active or len(resource.nodes) != 1:
        return fail(f"{primitive.id} is not running on exactly one node ({resource.role if resource else 'unknown'})")
    holder = facts.nodes.get(resource.nodes[0])
    if holder and holder.reachable and f"{address}/" not in holder.addresses():
        return fail(f"Pacemaker says {primitive.id} runs on {holder.name}, but {holder.name} does not have {address}")
    return ok(f"{primitive.id} ({address}) on {resource.nodes[0]}")


@CHECKS.check("web-server", "The web server runs under Pacemaker and answers on the floating IP",
       "crm configure primitive web-server apache params configfile=/etc/apache2/apache2.conf "
       "statusurl=http://localhost/server-status; and put a page in /var/www/html/index.html (notebook 3, "
       "section 3.5, task 5).")
def web_server(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    primitive = _web_primitive(cib)
    if primitive is None:
        return fail("no web server resource (ocf:heartbeat:apache, nginx, or systemd:apache2) is configured")
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    resource = status.resource(primitive.id)
    if resource is None or not resource.active:
        failures = status.failures_of(primitive.id)
        detail = f"; failed actions: {'; '.join(failures)}" if failures else ""
        return fail(f"{primitive.id} is not running{detail}")
    probe = facts.probes.get("http", {})
    if probe.get("status") != 200:
        return fail(f"{primitive.id} runs on {', '.join(resource.nodes)}, but {probe.get('url', 'the floating IP')} "
                    f"does not answer: {probe.get('error') or probe.get('status')}")
    return ok(f"{primitive.id} on {', '.join(resource.nodes)}; the floating IP serves "
              f"{probe.get('body', '').strip()[:60]!r}")


@CHECKS.check("together-in-order", "The floating IP and the web server run together, IP first",
       "Put both in a group (IP first): crm configure group web web-ip web-server; or add colocation and "
       "order constraints (notebook 3, section 3.3).")
def together_in_order(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    ip = _ip_primitive(cib, facts.spec.settings["floating_ip"])
    web = _web_primitive(cib)
    if ip is None or web is None:
        return fail("needs both the floating IP and the web server resources first")
    if ip.group and ip.group == web.group:
        members = cib.groups[ip.group]
        if members.index(ip.id) < members.index(web.id):
            return ok(f"group {ip.group}: {' then '.join(members)}")
        return fail(f"in group {ip.group} the web server starts before the IP it must listen on")
    # Without None: an ungrouped resource has no group, and a constraint without rsc must not match it.
    ip_ids, web_ids = {ip.id, ip.group} - {None}, {web.id, web.group} - {None}
    colocated = ordered = False
    for constraint in cib.constraints:
        for attrs in constraint.pairs():  # resource sets as pairs too
            pair = {attrs.get("rsc"), attrs.get("with-rsc")}
            if constraint.kind == "rsc_colocation" and pair & ip_ids and pair & web_ids:
                colocated = colocated or attrs.get("score", "INFINITY") in ("INFINITY", "+INFINITY")
            if constraint.kind == "rsc_order" and attrs.get("first") in ip_ids and attrs.get("then") in web_ids:
                ordered = True
    missing = [what for what, present in (("a colocation (INFINITY)", colocated), ("an order IP -> web", ordered))
               if not present]
    if missing:
        return fail(f"{ip.id} and {web.id} are not tied together: missing {' and '.join(missing)}")
    return ok("colocation and order constraints tie the web server to the IP")


@CHECKS.check("no-leftover-constraints", "No leftover move/ban constraints",
       "crm resource clear <resource> (or pcs resource clear) removes what 'move' and 'ban' left behind "
       "(notebook 3, section 3.5, task 6).")
def no_leftovers(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    leftovers = [c.id for c in cib.constraints if c.id.startswith(("cli-ban", "cli-prefer"))]
    if leftovers:
        return fail(f"leftover constraints from crm resource move/ban: {', '.join(leftovers)}; they pin resources "
                    "and can stop failover")
    return ok("none")


@CHECKS.check("crm-verify", "crm_verify -L finds no errors",
       "Run crm_verify -L -V on a node and fix what it reports.")
def crm_verify(facts: LabFacts) -> Verdict:
    def verify(node: NodeFacts) -> dict:
        node.crm_mon()  # only meaningful where Pacemaker runs
        return node.output("crm_verify")

    node, out = facts.cluster_view(verify)
    if out["exit"] != 0:
        errors = [line for line in (out["stderr"] + out["stdout"]).splitlines() if line.strip()][:3]
        return fail(f"crm_verify -L on {node} exits {out['exit']}: {' | '.join(errors)}")
    return ok("the live configuration is valid")


SAFE_POLICIES = {"stop": "stops every resource (the default)", "freeze": "keeps what runs, starts nothing",
                 "demote": "demotes promoted instances, stops the others",
                 "suicide": "fences itself"}


@CHECKS.check("no-quorum-policy", "A partition without quorum does not run resources (no-quorum-policy)",
              "Leave no-quorum-policy at its default (stop), or set freeze, demote or suicide; never ignore, which "
              "runs resources without quorum. See notebook 3, section 3.6.")
def no_quorum_policy(facts: LabFacts) -> Verdict:
    node, cib = facts.cluster_view(lambda n: n.cib())
    policy = cib.properties.get("no-quorum-policy", "stop")
    if policy == "ignore":
        return fail(f"no-quorum-policy is 'ignore' (seen from {node}): a node cut off from the others goes on "
                    "running its resources and tries to fence the majority, so both sides may run the service")
    if policy not in SAFE_POLICIES:
        return fail(f"no-quorum-policy is {policy!r}, which Pacemaker does not know (it knows: ignore, "
                    f"{', '.join(SAFE_POLICIES)})")
    return ok(f"no-quorum-policy {policy}: a partition without quorum {SAFE_POLICIES[policy]}")
