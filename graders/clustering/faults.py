"""The clustering kind's fault check: power off the node holding the floating IP and time the failover."""

from __future__ import annotations

import time
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collect import probe_http
from graders.facts import LabFacts
from graders.faults import Progress, cluster_status, power_cut, why_not
from halab.lab import Lab


def failover(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    spec = lab.spec
    address = spec.settings["floating_ip"]
    rto = float(spec.settings.get("recovery_time_objective_s", 30))
    _, status = facts.cluster_view(lambda node: node.crm_mon())
    holder = next((r.nodes[0] for r in status.resources if r.agent.endswith("IPaddr2") and r.active and r.nodes),
                  None)
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: no node holds the floating IP"))
    survivors = [n for n in spec.member_names if n != holder]
    progress(f"fault check: powering off {holder}, which holds {address}")
    started = time.monotonic()
    deadline = started + max(2 * rto, 60)

    def moved() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            if probe_http(f"http://{address}/", timeout=1)["status"] == 200:
                status = cluster_status(lab, survivors[0])
                ip = next((r for r in status.resources if r.agent.endswith("IPaddr2")), None) if status else None
                if ip and ip.active and ip.nodes and ip.nodes[0] in survivors:
                    return round(time.monotonic() - started, 1), ip.nodes[0]
            time.sleep(0.5)
        return None, why_not(cluster_status(lab, survivors[0]), survivors[0], holder)

    (seconds, new_holder), restored = power_cut(lab, holder, moved, progress)
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
