"""Checks for the drbd lab: the DRBD resource, its sync and filesystem, and its place in Pacemaker."""

from __future__ import annotations

from graders.checks import CheckTable, Verdict, fail, ok
from graders.clustering.checks import CHECKS as CLUSTER_CHECKS
from graders.collectors import cib as cib_xml
from graders.collectors import drbd_conf, drbdadm_state, proc_drbd
from graders.collectors.crm_mon import ClusterStatus
from graders.drbd.fencing import FENCE_SCRIPT, UNFENCE_SCRIPT, configured_policy, effective, fencing_problems
from graders.facts import FactMissing, LabFacts, NodeFacts

CHECKS = CheckTable()
CHECKS.reuse(CLUSTER_CHECKS, "membership", "stonith")


def _state(node: NodeFacts, key: str) -> tuple[str, str]:
    out = node.output(key)
    if out["exit"] != 0:
        reason = (out["stderr"] or out["stdout"]).strip().splitlines()
        raise FactMissing(f"the DRBD resource is not up on {node.name} ({reason[-1] if reason else out['exit']})")
    return node.parsed(key, drbdadm_state.parse)


def _dump_of(node: NodeFacts, resource: str) -> drbd_conf.Block:
    """The resource as drbdadm reads it on this node; drbdadm's own error (with the line) if it cannot."""
    out = node.output("drbd_dump")
    if out["exit"] != 0:
        message = " | ".join(line for line in out["stderr"].splitlines() if line.strip())[:300]
        raise FactMissing(f"drbdadm rejects the configuration on {node.name}: {message or 'no resource ' + resource}")
    found = node.parsed("drbd_dump", drbd_conf.parse).find("resource", resource)
    if found is None:
        raise FactMissing(f"no resource {resource} in the DRBD configuration on {node.name}")
    return found


def _dump(facts: LabFacts) -> tuple[str, drbd_conf.Block]:
    return facts.cluster_view(lambda node: _dump_of(node, facts.spec.settings["drbd_resource"]))


@CHECKS.check("drbd-config", "/etc/drbd.d/{drbd_resource}.res is identical on both nodes and drbdadm accepts it",
       "Write /etc/drbd.d/{drbd_resource}.res on one node, copy it to the other, and check it with: "
       "drbdadm dump {drbd_resource}")
def config_identical(facts: LabFacts) -> Verdict:
    texts, problems = facts.per_node(lambda node: node.output("drbd_res"))
    missing = [name for name, out in texts.items() if out["exit"] != 0]
    if problems or missing:
        return fail("; ".join(problems + [f"/etc/drbd.d/{facts.spec.settings['drbd_resource']}.res is missing on "
                                          f"{', '.join(missing)}"] if missing else problems))
    if len({out["stdout"] for out in texts.values()}) > 1:
        return fail("the file differs between the nodes; DRBD needs the same resource definition on both")
    for node in facts.each():
        _dump_of(node, facts.spec.settings["drbd_resource"])  # the syntax, checked by drbdadm itself
    return ok("identical on both nodes; drbdadm dump accepts it")


@CHECKS.check("drbd-config-content", "The resource uses the right hosts, disk, device, addresses and protocol C",
       "on <hostname> { ... } per node, device {drbd_device}, disk {drbd_disk}, meta-disk internal, the "
       "replication network's addresses with port {drbd_port}, and net { protocol C; }")
def config_content(facts: LabFacts) -> Verdict:
    node, resource = _dump(facts)
    s = facts.spec.settings
    problems = []
    for lab_node in facts.spec.members:
        host = resource.find("on", lab_node.name)
        if host is None:
            problems.append(f"no 'on {lab_node.name}' section (each must be named like the node's hostname)")
            continue
        device = host.value("device") or resource.value("device")
        disk = host.value("disk") or resource.value("disk")
        meta = host.value("meta-disk") or resource.value("meta-disk")
        address = (host.values.get("address") or [""])[-1]
        if device != s["drbd_device"]:
            problems.append(f"{lab_node.name}: device is {device}, the lab uses {s['drbd_device']}")
        if disk != s["drbd_disk"]:
            why = (" (there is no /dev/sda in these VMs, and /dev/vda is the system disk: mirroring it would "
                   "destroy the node)" if disk in ("/dev/sda", "/dev/vda") else "")
            problems.append(f"{lab_node.name}: disk is {disk}, the empty lab disk is {s['drbd_disk']}{why}")
        if meta != "internal":
            problems.append(f"{lab_node.name}: meta-disk is {meta}, use internal")
        wanted = f"{lab_node.addresses['repl']}:{s['drbd_port']}"
        if address != wanted:
            problems.append(f"{lab_node.name}: address {address or 'missing'}; replicate over the repl network: "
                            f"{wanted}")
    # The resource's own net section, else the common one (global_common.conf), else DRBD's default, C.
    root = facts.nodes[node].parsed("drbd_dump", drbd_conf.parse)
    protocol = effective(root, resource, "net", "protocol") or "C"
    if protocol != "C":
        problems.append(f"protocol {protocol}: A and B acknowledge writes before the peer has them on disk, so a "
                        "failover can lose data; use C")
    return fail(f"in the configuration on {node}: " + "; ".join(problems)) if problems else ok(
        "hosts, device, disk, internal metadata, replication addresses, protocol C")


@CHECKS.check("drbd-connected", "DRBD is up and connected on both nodes",
       "drbdadm create-md {drbd_resource} and drbdadm up {drbd_resource} on both nodes; check with "
       "drbdadm status {drbd_resource}")
def connected(facts: LabFacts) -> Verdict:
    states, problems = facts.per_node(lambda node: _state(node, "drbd_cstate"))
    for name, (cstate, _) in states.items():
        if cstate == "StandAlone":
            problems.append(f"{name} is StandAlone: it refused the peer (split brain, or different configs); "
                            "see dmesg")
        elif cstate in ("WFConnection", "Connecting"):
            problems.append(f"{name} is waiting for its peer ({cstate}): is "
                            f"{facts.spec.settings['drbd_resource']} up there, and the repl network OK?")
        elif cstate not in ("Connected", "SyncSource", "SyncTarget"):
            problems.append(f"{name} is {cstate}")
    return fail("; ".join(problems)) if problems else ok("connected on both nodes")


@CHECKS.check("drbd-uptodate", "Both disks are UpToDate (the initial sync is done)",
       "Force the initial sync from ONE node only: drbdadm primary --force {drbd_resource}; then wait for "
       "UpToDate/UpToDate.")
def uptodate(facts: LabFacts) -> Verdict:
    states, problems = facts.per_node(lambda node: _state(node, "drbd_dstate"))
    for name, (disk, peer) in states.items():
        if disk == "UpToDate" and peer == "UpToDate":
            continue
        if disk == "Inconsistent" and peer in ("Inconsistent", "DUnknown"):
            problems.append(f"{name}: {disk}/{peer}: the initial sync was never started")
        else:
            progress = facts.nodes[name].parsed("proc_drbd", _proc_sync)
            problems.append(f"{name}: {disk}/{peer}" + (f" (sync'ed {progress:g} %)" if progress is not None else ""))
    return fail("; ".join(problems)) if problems else ok("UpToDate/UpToDate")


def _proc_sync(text: str) -> float | None:
    devices = proc_drbd.parse(text)
    return next((d.synced_percent for d in devices.values() if d.synced_percent is not None), None)


@CHECKS.check("drbd-filesystem", "A filesystem on {drbd_device}, mounted on the primary only",
       "mkfs.ext4 {drbd_device} on the primary (once); only a Primary can mount it, and only one node at a time.")
def filesystem(facts: LabFacts) -> Verdict:
    s = facts.spec.settings
    mounted = [n.name for n in facts.each() if n.reachable and n.output("mounts")["exit"] == 0]
    roles, problems = facts.per_node(lambda node: _state(node, "drbd_role"))
    primaries = [name for name, (role, _) in roles.items() if role == "Primary"]
    if problems:
        return fail("; ".join(problems))
    if len(primaries) != 1:
        return fail(f"{len(primaries)} nodes are Primary; exactly one must be")
    if mounted != primaries:
        return fail(f"{s['drbd_device']} is mounted on {', '.join(mounted) or 'no node'}; it must be mounted on the "
                    f"primary ({primaries[0]}) only")
    blkid = facts.nodes[primaries[0]].output("blkid")
    fstype = next((line.split("=", 1)[1] for line in blkid["stdout"].splitlines() if line.startswith("TYPE=")), "")
    target = facts.nodes[primaries[0]].output("mounts")["stdout"].split()
    if not fstype:
        return fail(f"no filesystem on {s['drbd_device']}")
    if len(target) < 2 or target[1] != s["mount_point"]:
        return fail(f"{s['drbd_device']} is mounted on {target[1] if len(target) > 1 else '?'}, not {s['mount_point']}")
    return ok(f"{fstype} on {s['drbd_device']}, mounted at {s['mount_point']} on {primaries[0]} only")


def _status(facts: LabFacts) -> ClusterStatus:
    """Pacemaker's view, provided it is in charge: in maintenance mode it reports but manages nothing."""
    node, status = facts.cluster_view(lambda node: node.crm_mon())
    if status.maintenance:
        raise FactMissing(f"the cluster is in maintenance mode (seen from {node}): Pacemaker is not managing "
                          "DRBD; leave it with: crm configure property maintenance-mode=false")
    return status


@CHECKS.check("pacemaker-drbd", "Pacemaker runs DRBD as a promotable clone: one Promoted, one Unpromoted",
       "primitive drbd-{drbd_resource} ocf:linbit:drbd params drbd_resource={drbd_resource}; "
       "clone drbd-{drbd_resource}-clone drbd-{drbd_resource} meta "
       "promotable=true promoted-max=1 notify=true")
def pacemaker_drbd(facts: LabFacts) -> Verdict:
    instances = [r for r in _status(facts).resources if r.agent == "ocf:linbit:drbd"]
    if not instances:
        return fail("no ocf:linbit:drbd resource in the cluster")
    roles = sorted((r.role, ",".join(r.nodes)) for r in instances)
    promoted = [nodes for role, nodes in roles if role == "Promoted"]
    unpromoted = [nodes for role, nodes in roles if role == "Unpromoted"]
    if len(promoted) != 1 or len(unpromoted) != len(facts.spec.members) - 1:
        return fail("the DRBD clone's instances are " + ", ".join(f"{r} on {n or 'no node'}" for r, n in roles))
    return ok(f"Promoted on {promoted[0]}, Unpromoted on {', '.join(unpromoted)}")


@CHECKS.check("pacemaker-data", "The filesystem and the floating IP run on the promoted node",
       "primitive data-fs Filesystem params device={drbd_device} directory={mount_point} fstype=ext4; a floating "
       "IPaddr2; group data data-fs data-ip")
def pacemaker_data(facts: LabFacts) -> Verdict:
    status = _status(facts)
    _, cib = facts.cluster_view(lambda node: node.cib())
    s = facts.spec.settings
    fs = next((p for p in cib.by_agent("Filesystem") if p.params.get("device") == s["drbd_device"]), None)
    ip = next((p for p in cib.by_agent("IPaddr2") if p.params.get("ip") == s["floating_ip"]), None)
    if fs is None or ip is None:
        return fail("missing: " + " and ".join(w for w, p in ((f"a Filesystem resource for {s['drbd_device']}", fs),
                                                            (f"an IPaddr2 for {s['floating_ip']}", ip)) if p is None))
    promoted = next((r.nodes for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"), ())
    problems = []
    for primitive in (fs, ip):
        running = status.resource(primitive.id)
        if running is None or not running.active:
            problems.append(f"{primitive.id} is not running")
        elif running.nodes != promoted:
            problems.append(f"{primitive.id} runs on {', '.join(running.nodes)}, DRBD is promoted on "
                            f"{', '.join(promoted) or 'no node'}")
    return fail("; ".join(problems)) if problems else ok(f"{fs.id} and {ip.id} on {promoted[0]}, the promoted node")


@CHECKS.check("pacemaker-constraints", "The data services are colocated with, and ordered after, the promoted role",
       "colocation data-with-promoted inf: data drbd-{drbd_resource}-clone:Promoted; "
       "order data-after-promote Mandatory: drbd-{drbd_resource}-clone:promote data:start")
def pacemaker_constraints(facts: LabFacts) -> Verdict:
    _, cib = facts.cluster_view(lambda node: node.cib())
    clones = {clone for clone, child in cib.clones.items()
              if cib.primitives.get(child) and cib.primitives[child].agent == "ocf:linbit:drbd"}
    device = facts.spec.settings["drbd_device"]
    data = {i for p in cib.by_agent("Filesystem") if p.params.get("device") == device for i in (p.id, p.group) if i}
    if not data:
        return fail(f"needs the Filesystem resource for {device} first")
    plain = [pair for c in cib.constraints for pair in c.pairs()]  # resource sets as pairs too
    # Through other resources too: the filesystem colocated with the IP, the IP with the Promoted role, and
    # ordered promote -> IP -> filesystem, is as good as tied to the role directly.
    follows = _closure(cib, data, [(a.get("rsc"), a.get("with-rsc")) for a in plain if a.get("rsc") and _tied(a)])
    promote_first = {a.get("then", "") for a in plain
                     if a.get("first") in clones and a.get("first-action") == "promote"}
    after_promote = _closure(cib, promote_first, [(a.get("first"), a.get("then")) for a in plain if a.get("then")
                                                  and a.get("first-action", "start") == "start"], ordering=True)
    colocated = any(a.get("rsc") in follows and a.get("with-rsc") in clones and _tied(a, ("Promoted", "Master"))
                    for a in plain)
    ordered = bool(data & after_promote)
    missing = [w for w, present in (("a colocation with the Promoted role", colocated),
                                    ("an order after promote", ordered)) if not present]
    return fail("missing " + " and ".join(missing) + " of the DRBD clone") if missing else ok(
        "colocated with and ordered after the promoted role")


def _tied(colocation: dict[str, str], roles: tuple[str | None, ...] = (None, "Started")) -> bool:
    """A mandatory colocation with the other resource in one of ``roles``."""
    return colocation.get("score") in ("INFINITY", "+INFINITY") and colocation.get("with-rsc-role") in roles


def _closure(cib: cib_xml.Cib, start: set[str], links: list[tuple[str | None, str | None]],
             ordering: bool = False) -> set[str]:
    """``start`` and what the links (from, to) reach from it. Placed with a group member is placed with its group;
    started after a group, each of its members is (but not the group after one of its members)."""
    found, todo = set(), set(start)
    while todo:
        found |= todo
        family = ({m for g in todo for m in cib.groups.get(g, [])} if ordering else
                  {cib.primitives[i].group for i in todo if i in cib.primitives and cib.primitives[i].group})
        todo = ({str(b) for a, b in links if a in found and b} | {g for g in family if g}) - found
    return found


@CHECKS.check("split-brain-resolved", "An induced split brain was resolved, keeping the survivor's data",
       "On the victim: umount {mount_point} if it is mounted there; drbdadm secondary {drbd_resource}; drbdadm "
       "connect --discard-my-data {drbd_resource}. On the survivor: drbdadm connect {drbd_resource}. Then: crm "
       "resource refresh; crm configure property maintenance-mode=false (notebook 4, section 4.6, task split-brain; "
       "section 4.7 when the victim was the Primary)")
def split_brain(facts: LabFacts) -> Verdict:
    induced = facts.raw.get("split_brain")
    if not isinstance(induced, dict) or "markers" not in induced:
        return fail("no split brain has been induced yet: run 'halab fault drbd split-brain node2', then resolve it")
    victim, survivor, markers = induced.get("victim"), induced.get("survivor"), induced["markers"]
    for verdict in (connected(facts), uptodate(facts)):
        if not verdict.passed:
            return fail(f"after the split brain: {verdict.feedback}")
    listing = next((n.output("data_listing")["stdout"].split() for n in facts.each()
                    if n.reachable and n.output("data_listing")["exit"] == 0), None)
    if listing is None:
        return fail("the DRBD filesystem is not mounted anywhere, so the data cannot be checked")
    if markers.get("survivor") not in listing:
        return fail(f"the file {survivor} wrote during the split brain ({markers.get('survivor')}) is gone: the "
                    "survivor's data was discarded instead of the victim's")
    if markers.get("victim") in listing:
        return fail(f"the victim's ({victim}) write during the split brain is still there: its changes were not "
                    "discarded")
    _, cib = facts.cluster_view(lambda node: node.cib())
    if cib.properties.get("maintenance-mode") == "true":
        return fail("the data is right, but the cluster is still in maintenance mode: Pacemaker is not managing it")
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    drbd = {p.id for p in cib.by_agent("drbd")}
    left = status.failures_of(*drbd)
    # Still a pass (the split brain is resolved), but a failure left there costs the next failover: say so now.
    note = (f". But Pacemaker lists a failed action: {'; '.join(left[:2])} (a role changed behind its back?); "
            "clear it with crm resource cleanup: left there, Pacemaker restarts DRBD on that node at its next "
            "transition, a failover's too" if left else "")
    return ok(f"{victim}'s changes discarded, {survivor}'s kept, UpToDate/UpToDate and connected again{note}")


@CHECKS.check("drbd-resource-fencing", "DRBD fences the peer's disk through Pacemaker (resource-level fencing)",
       "In /etc/drbd.d/{drbd_resource}.res on both nodes (DRBD 8.4 syntax): disk { fencing resource-only; } and "
       "handlers { fence-peer \"/usr/lib/drbd/crm-fence-peer.sh\"; after-resync-target "
       "\"/usr/lib/drbd/crm-unfence-peer.sh\"; }; then drbdadm adjust {drbd_resource} on both nodes "
       "(notebook 4, section 4.6, task resource-fencing)")
def resource_fencing(facts: LabFacts) -> Verdict:
    resource = facts.spec.settings["drbd_resource"]

    def problems_of(node: NodeFacts) -> list[str]:
        return fencing_problems(node.parsed("drbd_dump", drbd_conf.parse), _dump_of(node, resource))

    found, missing = facts.per_node(problems_of)
    if missing:
        return fail("; ".join(missing))
    if not any(found.values()):
        policy = {configured_policy(n.parsed("drbd_dump", drbd_conf.parse), _dump_of(n, resource))
                  for n in facts.each()}
        return ok(f"fencing {', '.join(sorted(p for p in policy if p))} with {FENCE_SCRIPT} and {UNFENCE_SCRIPT} "
                  "(after-resync-target) on every node")
    texts = {name: "; ".join(problems) for name, problems in found.items() if problems}
    if len(set(texts.values())) == 1 and len(texts) == len(found):
        return fail(f"on every node: {next(iter(texts.values()))}")
    return fail(" | ".join(f"{name}: {text}" for name, text in texts.items()))
