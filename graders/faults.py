"""Fault checks: prove HA by breaking the lab on purpose, measuring recovery, and restoring it.

They run only on a live lab (never from evidence) and only after the checks they depend on passed; their
verdicts and measurements are stored in the evidence so that grading later needs no lab.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graders.checks import Verdict
from graders.collect import probe_http
from graders.collectors import ParseError, crm_mon
from graders.facts import FactMissing, LabFacts
from halab import faults
from halab.errors import HalabError
from halab.lab import Lab

Progress = Callable[[str], None]


@dataclass
class FaultOutcome:
    verdict: Verdict
    measurements: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FaultDef:
    id: str
    title: str
    hint: str
    requires: tuple[str, ...]
    function: Callable[[Lab, LabFacts, Progress], FaultOutcome]


FAULT_CHECKS: dict[str, dict[str, FaultDef]] = {}


def _status(lab: Lab, node: str) -> crm_mon.ClusterStatus | None:
    try:
        result = lab.run(node, "crm_mon -1 --output-as=xml", timeout=10)
        return crm_mon.parse(result.stdout)
    except (HalabError, ParseError):
        return None


def _why_not(status: crm_mon.ClusterStatus | None, survivor: str, victim: str) -> str:
    """Explain a failover that did not happen, from the survivor's point of view."""
    if status is None or not status.connected:
        return f"Pacemaker on {survivor} does not answer"
    if not status.quorate:
        return (f"{survivor} lost quorum when {victim} died, so Pacemaker stopped everything instead of taking "
                "over (a two-node cluster needs 'two_node: 1' in the quorum section)")
    node = status.nodes.get(victim)
    if node and node.unclean:
        return f"{victim} is still UNCLEAN: the cluster is waiting for fencing to confirm it is off"
    if status.failures:
        return "failed actions: " + "; ".join(status.failures[:2])
    return "the resources did not start on a surviving node"


def failover(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    spec = lab.spec
    address = spec.settings["floating_ip"]
    rto = float(spec.settings.get("recovery_time_objective_s", 30))
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    holder = next((r.nodes[0] for r in status.resources if r.agent.endswith("IPaddr2") and r.active and r.nodes),
                  None)
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    survivors = [n for n in spec.node_names if n != holder]
    progress(f"fault check: powering off {holder}, which holds {address}")
    faults.power_off(lab, holder)
    started = time.monotonic()
    deadline = started + max(2 * rto, 60)
    seconds = None
    while time.monotonic() < deadline:
        page = probe_http(f"http://{address}/", timeout=1)
        if page["status"] == 200:
            moved = _status(lab, survivors[0])
            resource = next((r for r in moved.resources if r.agent.endswith("IPaddr2")), None) if moved else None
            if resource and resource.active and resource.nodes and resource.nodes[0] in survivors:
                seconds = round(time.monotonic() - started, 1)
                new_holder = resource.nodes[0]
                break
        time.sleep(0.5)
    reason = "" if seconds is not None else _why_not(_status(lab, survivors[0]), survivors[0], holder)
    progress(f"fault check: restoring {holder}")
    restored = _restore(lab, holder)
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto}
    if seconds is None:
        measurements["failover_seconds"] = None
        verdict = Verdict(False, f"after powering off {holder}, {address} was not served by another node within "
                                 f"{deadline - started:.0f} s: {reason}.{restored}")
    else:
        measurements.update(failover_seconds=seconds, failover_to=new_holder)
        passed = seconds <= rto
        verdict = Verdict(passed, f"powered off {holder}; {address} answered from {new_holder} after {seconds} s "
                                  f"(objective: {rto:g} s).{restored}",
                          "" if passed else "Lower the token timeout or fencing delay so recovery meets the objective.")
    return FaultOutcome(verdict, measurements)


def _restore(lab: Lab, node: str) -> str:
    """Bring the victim back and wait for it to rejoin; returns a note for the feedback if it did not."""
    try:
        faults.restore(lab, node)
    except HalabError as exc:
        return f" Restoring {node} failed: {exc}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = _status(lab, node)
        if status and status.connected and all(n.online for n in status.nodes.values()):
            # Without resource-stickiness Pacemaker may now move resources back (failback): let the
            # transition finish, so the cluster is left as settled as it was found.
            with contextlib.suppress(HalabError):
                lab.run(node, "crm_resource --wait --timeout=60s", timeout=70)
            return ""
        time.sleep(2)
    return f" {node} is back on but has not rejoined the cluster yet."


FAULT_CHECKS["clustering"] = {
    "failover": FaultDef(
        "failover", "Power loss of the active node: the web service moves to the other node in time",
        "The survivor must keep quorum (two_node for two nodes), fence the lost node, and start the group.",
        ("membership", "stonith", "floating-ip", "web-server"), failover,
    ),
}


def run_fault(kind: str, check_id: str, lab: Lab, facts: LabFacts, passed: dict[str, bool],
              progress: Progress) -> FaultOutcome:
    definition = FAULT_CHECKS[kind][check_id]
    missing = [c for c in definition.requires if not passed.get(c)]
    if missing:
        return FaultOutcome(Verdict(False, f"not run: these checks must pass first: {', '.join(missing)}"))
    try:
        return definition.function(lab, facts, progress)
    except (FactMissing, HalabError) as exc:
        return FaultOutcome(Verdict(False, f"the fault check could not complete: {exc}"))
