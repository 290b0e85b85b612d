"""The clustering kind's fault check: power off the node holding the floating IP and time the failover.

`service_recovery` is shared with the kinds that derive from clustering: it breaks the node holding the
floating IP in some way, measures until the service answers from another node, and always restores."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collect import probe_http
from graders.facts import LabFacts
from graders.faults import cluster_status, fault_timeline, objective, why_not, with_fault
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress

# A node's boot mark tells whether it was fenced: a container shares the host's kernel, so its PID 1 start time
# changes when it is power-cycled; a VM gets a new boot id.
BOOT_MARK = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"


def boot_mark(lab: Lab, node: str, timeout: float = 5) -> str | None:
    """The node's boot mark now; None when it does not answer."""
    try:
        result = lab.run(node, BOOT_MARK, timeout=timeout)
    except HalabError:
        return None
    return result.stdout.strip() if result.ok else None


@dataclass(frozen=True)
class Recovery:
    holder: str  # the node that held the service and was broken
    seconds: float | None  # until the service answered from another node; None if it never did
    outcome: str  # the node that took over, or why none did
    waited: float  # how long the check waited
    restored: str  # a note for the feedback if restoring did not fully work
    timeline: list[dict[str, Any]]  # graders/timeline.py


def ip_holder(lab: Lab) -> str | None:
    """The member holding the floating IP now: asked live, since an earlier fault check may have moved it
    since the facts were collected."""
    for node in lab.spec.member_names:
        status = cluster_status(lab, node)
        if status and status.connected:
            return holder_in(status)
    return None


def holder_in(status: Any) -> str | None:
    ip = next((r for r in status.resources if r.agent.endswith("IPaddr2") and r.active and r.nodes), None)
    return ip.nodes[0] if ip else None


def service_recovery(lab: Lab, progress: Progress, inject: Callable[[str], None], what: str,
                     limit: float) -> Recovery | None:
    """Break the node holding the floating IP with ``inject(node)`` (``what`` says how, for the progress line),
    wait up to ``limit`` seconds for the page to answer from another member, then restore the node and wait
    for it to rejoin. None when no node holds the floating IP."""
    spec = lab.spec
    address = spec.settings["floating_ip"]
    holder = ip_holder(lab)
    if holder is None:
        return None
    survivors = [n for n in spec.member_names if n != holder]
    progress(f"fault check: {what} {holder}, which holds {address}")
    fault_at, started = time.time(), time.monotonic()
    deadline = started + limit
    samples: list[tuple[float, bool]] = []  # (when, answered): the client's side of the timeline

    def moved() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            answered = probe_http(f"http://{address}/", timeout=1)["status"] == 200
            samples.append((time.time(), answered))
            if answered:
                status = cluster_status(lab, survivors[0])
                ip = next((r for r in status.resources if r.agent.endswith("IPaddr2")), None) if status else None
                if ip and ip.active and ip.nodes and ip.nodes[0] in survivors:
                    return round(time.monotonic() - started, 1), ip.nodes[0]
            time.sleep(0.5)
        return None, why_not(cluster_status(lab, survivors[0]), survivors[0], holder, fault_at)

    (seconds, outcome), restored = with_fault(lab, holder, lambda: inject(holder), moved, progress)
    events = fault_timeline(lab, fault_at, what, holder, samples)
    return Recovery(holder, seconds, outcome, deadline - started, restored, events)


def failover(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    address = lab.spec.settings["floating_ip"]
    rto, applies = objective(lab, "recovery_time_objective_s", 30)
    recovery = service_recovery(lab, progress, lambda node: faults.power_off(lab, node), "powering off",
                                max(2 * rto, 60))
    if recovery is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    holder, seconds = recovery.holder, recovery.seconds
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto, "rto_applies_to": applies}
    if seconds is None:
        measurements["failover_seconds"] = None
        verdict = Verdict(False, f"after powering off {holder}, {address} was not served by another node within "
                                 f"{recovery.waited:.0f} s: {recovery.outcome}.{recovery.restored}")
    else:
        measurements.update(failover_seconds=seconds, failover_to=recovery.outcome)
        passed = seconds <= rto
        verdict = Verdict(passed, f"powered off {holder}; {address} answered from {recovery.outcome} after {seconds} s "
                                  f"(objective for {applies}: {rto:g} s).{recovery.restored}",
                          "" if passed else "Lower the token timeout or fencing delay so recovery meets the objective.")
    return FaultOutcome(verdict, measurements, recovery.timeline)
