"""The infrastructure kind, live side: cut a cluster link, the client-facing cable, the power, and both rings
of a node, measure what the cluster does, and restore. (`halab fault infrastructure partition NODE` is the
clustering kind's: graders/clustering/quorum.py.)

A node's boot mark (graders/clustering/faults.py) tells whether it was fenced.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.clustering.checks import ring_networks
from graders.clustering.faults import boot_mark, holder_in, ip_holder, service_recovery
from graders.collectors import ParseError, cfgtool
from graders.facts import LabFacts
from graders.faults import Probe, cluster_status, fault_timeline, objective, restore_and_rejoin
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress


def _links(lab: Lab, node: str) -> cfgtool.Links | None:
    try:
        return cfgtool.parse(lab.run(node, "corosync-cfgtool -s", timeout=10).stdout)
    except (HalabError, ParseError):
        return None


def _link_down(links: cfgtool.Links | None, link: int) -> bool:
    peers = links.links.get(link, {}) if links else {}
    return any(state != "connected" for state in peers.values() if state != "localhost")


def _link_up(links: cfgtool.Links | None, link: int) -> bool:
    peers = links.links.get(link, {}) if links else {}
    return bool(peers) and all(state in ("connected", "localhost") for state in peers.values())


def _wait(condition: Callable[[], bool], seconds: float, interval: float = 0.25) -> float | None:
    """Seconds until ``condition`` held, or None if it did not within ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return round(time.monotonic() - started, 1)
        time.sleep(interval)
    return None


def _settle_seconds(lab: Lab) -> float:
    """Long enough for Corosync to act on a lost link if it were going to: twice token plus consensus."""
    totem = lab.run(lab.spec.member_names[0], "corosync-cmapctl runtime.config.totem.token", timeout=10).stdout
    token = next((int(p) for p in totem.split() if p.isdigit()), 3000)
    return max(5.0, 3.4 * token / 1000)


def ring0_cut(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Cut ring0 on the node holding the service: nothing may move, nobody may be fenced, and Corosync must
    report link 0 down and link 1 up; the cable is plugged back in afterwards."""
    holder = ip_holder(lab)
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    ring0 = ring_networks(facts)[0]
    marks = {n: boot_mark(lab, n) for n in lab.spec.member_names}
    settle = _settle_seconds(lab)
    progress(f"fault check: cutting {holder}'s {ring0} cable")
    measurements: dict[str, Any] = {"ring0_cut_on": holder}
    probe, fault_at = Probe(lab), time.time()
    try:
        faults.cut_link(lab, holder, ring0)
        noticed = _wait(lambda: _link_down(_links(lab, holder), 0), 30)
        measurements["ring0_noticed_seconds"] = noticed
        probe.during(settle)  # the client's side for the timeline: it should be served throughout
        links, status = _links(lab, holder), cluster_status(lab, holder)
        fenced = [n for n, mark in marks.items() if boot_mark(lab, n) != mark]
    finally:
        progress(f"fault check: plugging {holder}'s {ring0} cable back in")
        with contextlib.suppress(HalabError):  # restore_and_rejoin below tries again and says why
            faults.restore(lab, holder)
        measurements["ring0_reconnected_seconds"] = _wait(lambda: _link_up(_links(lab, holder), 0), 60)
        restored = restore_and_rejoin(lab, holder)
    events = fault_timeline(lab, fault_at, f"cutting the {ring0} cable of", holder, probe.samples)
    problems = []
    if noticed is None:
        problems.append(f"corosync-cfgtool on {holder} never showed link 0 down within 30 s")
    if links is not None and not _link_up(links, 1):
        problems.append(f"link 1 is not connected on {holder} either: the cluster had no working link")
    if fenced:
        problems.append(f"{', '.join(fenced)} was fenced although a link was still up (a second link must carry "
                        "the cluster through a lost one)")
    if status is None or not status.quorate or not all(n.online for n in status.nodes.values()):
        problems.append(f"the membership changed: {_members(status)}")
    elif holder_in(status) != holder:
        problems.append(f"the service moved away from {holder} ({holder_in(status) or 'nowhere'})")
    if problems:
        return FaultOutcome(Verdict(False, f"cut {holder}'s {ring0}: " + "; ".join(problems) + "." + restored),
                            measurements, events)
    return FaultOutcome(Verdict(True, f"cut {holder}'s {ring0}: Corosync saw link 0 down after {noticed} s and kept "
                                      f"the cluster on link 1 for {settle:g} s: same members, quorate, the service "
                                      f"still on {holder}, nobody fenced.{restored}"), measurements, events)


def _members(status: Any) -> str:
    if status is None:
        return "Pacemaker did not answer"
    nodes = ", ".join(f"{n.name} {'online' if n.online else 'offline'}" for n in status.nodes.values())
    return f"{nodes}, {'quorate' if status.quorate else 'no quorum'}"


def lan_cut(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Unplug the client-facing cable of the node holding the service: it must answer from the other node
    within the lab's recovery-time objective."""
    network = lab.spec.settings.get("client_network", lab.spec.management_network.name)
    rto, applies = objective(lab, "recovery_time_objective_s", 30)
    recovery = service_recovery(lab, progress, lambda node: faults.cut_link(lab, node, network),
                                f"unplugging the {network} cable of", max(2 * rto, 60))
    if recovery is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    measurements = {"lan_cut_on": recovery.holder, "lan_cut_seconds": recovery.seconds,
                    "lan_cut_rto_seconds": rto, "lan_cut_rto_applies_to": applies}
    if recovery.seconds is None:
        return FaultOutcome(Verdict(False, f"unplugged {recovery.holder}'s {network} cable: the service did not "
                                           f"answer from another node within {recovery.waited:.0f} s: "
                                           f"{recovery.outcome}.{recovery.restored}"), measurements, recovery.timeline)
    passed = recovery.seconds <= rto
    return FaultOutcome(Verdict(passed, f"unplugged {recovery.holder}'s {network} cable: the service answered from "
                                        f"{recovery.outcome} after {recovery.seconds} s (objective for {applies}: "
                                        f"{rto:g} s).{recovery.restored}", "" if passed else SLOW_MONITOR),
                        measurements, recovery.timeline)


SLOW_MONITOR = ("The monitor decides how soon a lost cable is noticed: for ping, its monitor interval plus attempts x "
                "timeout plus dampen; for ethmonitor, repeat_count x repeat_interval (5 x 10 s by default) on top "
                "of its monitor interval. Make them short.")


def failover_tuned(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Power off the node holding the service; the failover must beat the lab's target."""
    target, applies = objective(lab, "failover_target_s", 5)
    recovery = service_recovery(lab, progress, lambda node: faults.power_off(lab, node), "powering off",
                                max(4 * target, 60))
    if recovery is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    measurements = {"failover_from": recovery.holder, "failover_seconds": recovery.seconds,
                    "failover_target_seconds": target, "failover_target_applies_to": applies}
    if recovery.seconds is None:
        return FaultOutcome(Verdict(False, f"powered off {recovery.holder}: the service did not come back within "
                                           f"{recovery.waited:.0f} s: {recovery.outcome}.{recovery.restored}"),
                            measurements, recovery.timeline)
    measurements["failover_to"] = recovery.outcome
    passed = recovery.seconds <= target
    return FaultOutcome(Verdict(passed, f"powered off {recovery.holder}; the service answered from {recovery.outcome} "
                                        f"after {recovery.seconds} s (target for {applies}: {target:g} s; with "
                                        f"Corosync's default token it takes about 3 times as long).{recovery.restored}",
                                "" if passed else "Lower token (and consensus), and keep the fence delay short: it "
                                                  "adds to every failover."), measurements, recovery.timeline)


def rings_cut(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Cut both rings of the node that does not hold the service: the two nodes lose each other, and exactly
    one of them must be fenced by the other (fencing proven, not assumed), the service running on the one
    left. The cables are plugged back in and the fenced node must rejoin."""
    holder = ip_holder(lab)
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    victim = next(n for n in lab.spec.member_names if n != holder)
    marks = {n: boot_mark(lab, n) for n in lab.spec.member_names}
    progress(f"fault check: cutting both cluster rings of {victim}")
    fenced: list[str] = []
    probe, fault_at = Probe(lab), time.time()

    def shot() -> bool:
        probe()  # the client's side meanwhile, for the timeline
        return any(boot_mark(lab, n) != m for n, m in marks.items())

    try:
        for network in ring_networks(facts):
            faults.cut_link(lab, victim, network)
        noticed = _wait(shot, 60, 0.5)
        if noticed is not None:
            time.sleep(3)  # a fence race fires both shots within a second or two
            fenced = [n for n, mark in marks.items() if boot_mark(lab, n) != mark]
        survivors = [n for n in lab.spec.member_names if n not in fenced]
        served = bool(survivors) and _wait(lambda: _served_by(lab, survivors[0], probe), 30, 0.5) is not None
    finally:
        progress(f"fault check: plugging {victim}'s rings back in and powering on what was fenced")
        for node in lab.spec.member_names:  # every node on first: after a fence race both wait for each other
            with contextlib.suppress(HalabError):  # restore_and_rejoin below tries again and says why
                faults.restore(lab, node)
        restored = "".join(restore_and_rejoin(lab, n) for n in lab.spec.member_names)
    events = fault_timeline(lab, fault_at, "cutting both rings of", victim, probe.samples)
    measurements = {"rings_cut_on": victim, "fenced": fenced, "fenced_after_seconds": noticed}
    if not fenced:
        return FaultOutcome(Verdict(False, f"cut both rings of {victim}: nobody was fenced within 60 s, so both "
                                           "nodes may run the service at once (split brain); fencing must act."
                                           + restored), measurements, events)
    if len(fenced) > 1:
        return FaultOutcome(Verdict(False, f"cut both rings of {victim}: both nodes were fenced (a fence race: each "
                                           "shot the other); a fence delay makes one side win." + restored,
                                    "pcmk_delay_max on the fence device, or priority-fencing-delay."),
                            measurements, events)
    survivor = survivors[0]
    if not served:
        return FaultOutcome(Verdict(False, f"cut both rings of {victim}: {survivor} fenced {fenced[0]} but the "
                                           f"service does not answer from {survivor}.{restored}"),
                            measurements, events)
    if fenced[0] == holder:
        # The cluster recovered, but through an outage a fence delay exists to avoid: the node that was serving
        # lost the race to the one that was cut off, and the service had to start again on it.
        return FaultOutcome(Verdict(False, f"cut both rings of {victim}, while {holder} ran the service: {victim} won "
                                           f"the fence race and fenced {holder}, so the service went down and started "
                                           f"again on {victim}. The node running the service must win: a fixed delay "
                                           f"that favours another node, or none, lets the cut-off node shoot first."
                                           + restored,
                                    "priority-fencing-delay with a priority on the service's group makes the node "
                                    "running it win; with fixed per-node delays (pcmk_delay_base), keep the service "
                                    "on the favoured node (a location preference)."), measurements, events)
    return FaultOutcome(Verdict(True, f"cut both rings of {victim}: {holder}, which ran the service, fenced {victim} "
                                      f"and kept serving; nobody else was shot.{restored}"), measurements, events)


def _served_by(lab: Lab, node: str, probe: Probe) -> bool:
    status = cluster_status(lab, node)
    return bool(status and holder_in(status) == node and probe())
