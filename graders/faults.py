"""Fault checks: prove HA by breaking the lab on purpose, measuring recovery, and restoring it.

They run only on a live lab (never from evidence) and only after the checks they depend on passed; their
verdicts and measurements are stored in the evidence so that grading later needs no lab.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from graders.checks import Verdict
from graders.collect import probe_http
from graders.collectors import ParseError, crm_mon
from graders.facts import FactMissing, LabFacts
from halab import faults
from halab.errors import HalabError
from halab.lab import Lab

Progress = Callable[[str], None]
T = TypeVar("T")


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
    started = time.monotonic()
    deadline = started + max(2 * rto, 60)

    def moved() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            if probe_http(f"http://{address}/", timeout=1)["status"] == 200:
                status = _status(lab, survivors[0])
                ip = next((r for r in status.resources if r.agent.endswith("IPaddr2")), None) if status else None
                if ip and ip.active and ip.nodes and ip.nodes[0] in survivors:
                    return round(time.monotonic() - started, 1), ip.nodes[0]
            time.sleep(0.5)
        return None, _why_not(_status(lab, survivors[0]), survivors[0], holder)

    (seconds, new_holder), restored = _power_cut(lab, holder, moved, progress)
    reason = new_holder
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


def _power_cut(lab: Lab, node: str, wait: Callable[[], T], progress: Progress) -> tuple[T, str]:
    """Power the node off, run ``wait``, and always power it on again, even if ``wait`` fails or the user
    presses Ctrl-C: a fault check restores what it broke. Returns wait's result and a restore note."""
    faults.power_off(lab, node)
    try:
        result = wait()
    finally:
        progress(f"fault check: restoring {node}")
        restored = _restore(lab, node)
    return result, restored


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


def _promoted(status: crm_mon.ClusterStatus | None) -> str | None:
    if status is None:
        return None
    return next((r.nodes[0] for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"
                 and r.nodes), None)


def failover_data(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Power off the DRBD primary; the peer must be promoted, mount the filesystem, and show the file
    written just before the failure with the same checksum."""
    s = lab.spec.settings
    rto = float(s.get("recovery_time_objective_s", 90))
    holder = _promoted(_status(lab, lab.spec.node_names[0]))
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: DRBD is not promoted on any node"))
    survivor = next(n for n in lab.spec.node_names if n != holder)
    probe = f"{s['mount_point']}/halab-failover-check"
    written = lab.run(holder, f"head -c 1M /dev/urandom > {probe} && sync && sha256sum {probe}", timeout=60)
    if not written.ok:
        return FaultOutcome(Verdict(False, f"not run: cannot write {probe} on {holder}: {written.stderr.strip()}"))
    checksum = written.stdout.split()[0]
    progress(f"fault check: powering off {holder}, the DRBD primary")
    started = time.monotonic()
    deadline = started + max(2 * rto, 120)

    def taken_over() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            if _promoted(_status(lab, survivor)) == survivor:
                with contextlib.suppress(HalabError):
                    result = lab.run(survivor, f"mountpoint -q {s['mount_point']} && sha256sum {probe}", timeout=30)
                    if result.ok:
                        return round(time.monotonic() - started, 1), result.stdout.split()[0]
            time.sleep(1)
        return None, _why_not(_status(lab, survivor), survivor, holder)

    (seconds, found_or_reason), restored = _power_cut(lab, holder, taken_over, progress)
    found, reason = (found_or_reason, "") if seconds is not None else (None, found_or_reason)
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto, "failover_seconds": seconds,
                                    "data_intact": found == checksum if found else None}
    if seconds is None:
        return FaultOutcome(Verdict(False, f"after powering off {holder}, {survivor} did not take over the data within "
                                           f"{deadline - started:.0f} s: {reason}.{restored}"), measurements)
    measurements["failover_to"] = survivor
    if found != checksum:
        return FaultOutcome(Verdict(False, f"{survivor} took over after {seconds} s, but {probe} has another checksum: "
                                           f"data written before the failure was lost.{restored}"), measurements)
    return FaultOutcome(Verdict(seconds <= rto, f"powered off {holder}; {survivor} was promoted and mounted the data "
                                                f"after {seconds} s (objective {rto:g} s), file intact.{restored}"),
                        measurements)


FAULT_CHECKS["drbd"] = {
    "failover-data": FaultDef(
        "failover-data", "Power loss of the primary: the peer takes over the data, intact",
        "Pacemaker must promote DRBD on the survivor (after fencing the lost node) and then mount the filesystem.",
        ("membership", "stonith", "pacemaker-drbd", "pacemaker-data", "drbd-uptodate"), failover_data,
    ),
}

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
