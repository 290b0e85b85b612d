"""Quorum made live (clustering3), the live side: a node cut off from the others, and what each side does.
(The pure check of the no-quorum policy is in checks.py.)

`partition_fault` is `halab fault LAB partition NODE` for every Pacemaker lab: it drops the cluster traffic
between NODE and the other members on every ring while every cable stays plugged in (iptables in the node's
network namespace, as Pacemaker's CTS does), so the host still reaches the node and can watch it.

`quorum_loss` is the fault check: it cuts the node holding the service off from the others. With three votes
the two others keep quorum (2 of 3) and the cut-off node loses it (1 of 3): the minority must stop its
resources (the no-quorum policy) and must not fence anyone, the majority fences it and takes the service over.
Measured from the moment of the cut: when the minority knew it had no quorum, when its copy of the floating
IP was gone, whether and when it was fenced, and when the service answered from the majority (the grader's
client asks the floating IP every half second in the background: the first answer after the outage, once the
check has seen the majority hold the service).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.clustering.faults import boot_mark, holder_in, ip_holder
from graders.collect import probe_http
from graders.facts import LabFacts
from graders.faults import Probe, Progress, cluster_status, fault_timeline, objective, restore_and_rejoin
from graders.timeline import answered_again
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults


def partition_fault(lab: Lab, node: str) -> str:
    """`halab fault LAB partition NODE`: drop the cluster traffic between NODE and the other members on every
    ring while every cable stays plugged in (what a misconfigured firewall does)."""
    spec = lab.spec
    member = spec.node(node)
    if member not in spec.members:
        raise HalabError(f"{node} is not a cluster member of lab '{lab.base}'")
    rings = list(spec.settings.get("ring_networks") or [spec.management_network.name])
    peers = [str(n.addresses[net]) for n in spec.members if n is not member for net in rings]
    faults.drop_traffic(lab, node, peers)
    return (f"{node} drops all traffic from and to {', '.join(peers)} (its cluster peers on {', '.join(rings)}); "
            f"the cables stay plugged in. Undo: halab fault {lab.base} restore {node}")


@dataclass
class Watch:
    """What the fault check saw, each as seconds after the cut (None: not seen)."""

    started: float = field(default_factory=time.monotonic)
    minority_no_quorum: float | None = None
    minority_ip_gone: float | None = None
    minority_fenced: float | None = None
    majority_served: float | None = None
    both_held: float | None = None  # the floating IP on both sides at once: split brain
    served_by: str = ""

    def at(self) -> float:
        return round(time.monotonic() - self.started, 1)


def _holds_ip(lab: Lab, node: str, address: str) -> bool | None:
    """Whether the node has the floating IP now; None when it does not answer (powered off, booting)."""
    try:
        result = lab.run(node, "ip -brief address show", timeout=3)
    except HalabError:
        lab.drop_connection(node)
        return None
    return any(word.startswith(f"{address}/") for word in result.stdout.split())


def _minority_known(watch: Watch) -> bool:
    """Everything the check asks of the cut-off node is known: no more SSH to it (each attempt at a node that
    is off waits for its timeout, which would blur the majority's measurement)."""
    return watch.minority_ip_gone is not None and (watch.minority_no_quorum is not None
                                                   or watch.minority_fenced is not None)


MINORITY_RETRY_S = 5.0  # after the cut-off node did not answer (fenced, booting), ask it again only this much later


def _observe(lab: Lab, minority: str, majority: list[str], mark: str | None, watch: Watch, limit: float) -> None:
    """Poll both sides every half second until the majority serves and the minority's part is known. A node that
    does not answer costs an SSH timeout per question, so a minority that stopped answering (fenced, rebooting) is
    asked again only every MINORITY_RETRY_S: asking it every round delayed the majority's measurement by some 20 s
    in a student's run (the service had answered 0.2 s after the fencing, the check saw it at 30.6 s). The time
    the majority served is then taken from the client's own samples (quorum_loss), which run in a thread at
    their own pace; this loop only confirms that the majority holds the service."""
    address = lab.spec.settings["floating_ip"]
    deadline = watch.started + limit
    retry_at = 0.0
    while time.monotonic() < deadline:
        minority_holds = None
        if not _minority_known(watch) and time.monotonic() >= retry_at:
            now_mark = boot_mark(lab, minority, timeout=3)
            if now_mark is None:
                retry_at = time.monotonic() + MINORITY_RETRY_S
            else:
                if watch.minority_fenced is None and now_mark != mark:
                    watch.minority_fenced = watch.at()
                minority_holds = _holds_ip(lab, minority, address)
            if watch.minority_ip_gone is None and minority_holds is not True:
                watch.minority_ip_gone = watch.at()
            if watch.minority_no_quorum is None and now_mark is not None:
                status = cluster_status(lab, minority)
                if status is not None and status.connected and not status.quorate:
                    watch.minority_no_quorum = watch.at()
        status = cluster_status(lab, majority[0])
        holder = holder_in(status) if status and status.quorate else None
        if holder in majority:
            if minority_holds and watch.both_held is None:
                watch.both_held = watch.at()
            if watch.majority_served is None and probe_http(f"http://{address}/", timeout=1)["status"] == 200:
                watch.majority_served, watch.served_by = watch.at(), holder
        if watch.majority_served is not None and _minority_known(watch):
            return
        time.sleep(0.5)


def quorum_loss(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Cut the node holding the service off from the other members, watch both sides, then restore."""
    rto, applies = objective(lab, "recovery_time_objective_s", 30)
    minority = ip_holder(lab)
    if minority is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    majority = [n for n in lab.spec.member_names if n != minority]
    if len(majority) < 2:
        return FaultOutcome(Verdict(False, "not run: quorum loss needs at least three nodes (with two, two_node "
                                           "keeps both halves quorate and only fencing decides)"))
    mark = boot_mark(lab, minority)
    progress(f"fault check: cutting {minority} (which holds the service) off from {', '.join(majority)}")
    watch, probe = Watch(), Probe(lab)
    fault_at = time.time()
    try:
        with probe.background():
            partition_fault(lab, minority)
            watch.started, cut_at = time.monotonic(), time.time()
            _observe(lab, minority, majority, mark, watch, max(2 * rto, 60))
    finally:
        progress(f"fault check: reconnecting {minority}")
        restored = restore_and_rejoin(lab, minority)
    if watch.majority_served is not None:  # the client's own first answer from the majority, if it saw the outage
        answered = answered_again(probe.samples, cut_at + watch.majority_served)
        if answered is not None and answered > cut_at:
            watch.majority_served = round(answered - cut_at, 1)
    events = fault_timeline(lab, fault_at, "cutting off", minority, probe.samples)
    if watch.minority_fenced is None:  # fenced and still booting when the check ended: the majority's log says so
        watch.minority_fenced = next((e["t"] for e in events if e["event"].startswith(f"{minority} fenced")), None)
    if watch.minority_fenced is not None and (watch.minority_ip_gone or 0) > watch.minority_fenced:
        watch.minority_ip_gone = watch.minority_fenced  # its IP went with its power; we saw it at the next question
    measurements: dict[str, Any] = {
        "quorum_loss_node": minority, "quorum_loss_majority": majority,
        "minority_no_quorum_seconds": watch.minority_no_quorum, "minority_stopped_seconds": watch.minority_ip_gone,
        "minority_fenced_seconds": watch.minority_fenced, "majority_service_seconds": watch.majority_served,
        "quorum_loss_rto_seconds": rto, "quorum_loss_rto_applies_to": applies,
    }
    return FaultOutcome(_verdict(minority, majority, watch, rto, applies, restored), measurements, events)


def _verdict(minority: str, majority: list[str], watch: Watch, rto: float, applies: str, restored: str) -> Verdict:
    cut = f"cut {minority} off from {' and '.join(majority)}"
    if watch.both_held is not None:
        return Verdict(False, f"{cut}: the floating IP ran on both sides at once {watch.both_held} s later (split "
                              f"brain): {minority} kept its resources without quorum.{restored}",
                       "Set no-quorum-policy back to stop (the default), and keep fencing on.")
    if watch.majority_served is None:
        return Verdict(False, f"{cut}: the service did not answer from {' or '.join(majority)} within "
                              f"{max(2 * rto, 60):.0f} s.{restored}",
                       "Two votes of three are a majority: the two nodes must fence the lost one and take over. "
                       "Check fencing (stonith_admin --history) and crm_mon on the majority.")
    if watch.minority_ip_gone is None:
        return Verdict(False, f"{cut}: {minority} still held the floating IP when the check ended.{restored}")
    how = (f"lost quorum after {watch.minority_no_quorum} s" if watch.minority_no_quorum is not None
           else "never reported its quorum")
    fenced = (f"fenced by the majority after {watch.minority_fenced} s" if watch.minority_fenced is not None
              else "not fenced")
    story = (f"{cut}: {minority} {how}, its floating IP was gone after {watch.minority_ip_gone} s ({fenced}); "
             f"the service answered from {watch.served_by} after {watch.majority_served} s")
    passed = watch.majority_served <= rto
    return Verdict(passed, f"{story} (objective for {applies}: {rto:g} s).{restored}",
                   "" if passed else "The majority waits for the token to expire, fences the cut-off node, then "
                                     "starts the service: the timeline shows which of these took the time (a long "
                                     "token, a fence delay, a slow start).")
