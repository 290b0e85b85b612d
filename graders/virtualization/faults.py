"""The virtualization kind's fault checks, live: a live migration of the guest, and the loss of the hypervisor
that runs it. Both measure what a client of the guest sees, and both restore what they change.

The guest's status page (halab/image/guest) gives its kernel's boot id and uptime: the same boot id after a
migration proves the guest kept running; a ping from the other hypervisor, every 50 ms through the
migration, gives the downtime.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collectors import ParseError, guest_status, ping
from graders.collectors.crm_mon import ClusterStatus
from graders.facts import LabFacts
from graders.faults import cluster_status, fault_timeline, power_cut, why_not
from halab.errors import HalabError
from halab.lab import Lab
from halab.types import Progress

PING_INTERVAL = 0.05
PING_LOG = "/run/halab-migration-ping.log"


def _guest(lab: Lab, node: str) -> guest_status.GuestStatus | None:
    """The guest's status page as ``node`` fetches it now; None when it does not answer."""
    address = lab.spec.settings["guest_address"]
    try:
        result = lab.run(node, f"curl -sS -m 2 http://{address}/cgi-bin/status", timeout=10)
        return guest_status.parse(result.stdout) if result.ok else None
    except (HalabError, ParseError):
        return None


def _resource(status: ClusterStatus | None) -> tuple[str, str] | None:
    """(resource id, node running it) of the VirtualDomain resource, when it runs."""
    running = next((r for r in status.resources if r.agent.endswith("VirtualDomain") and r.active and r.nodes),
                   None) if status else None
    return (running.id, running.nodes[0]) if running else None


def _running_on(lab: Lab, node: str, resource: str) -> bool:
    found = _resource(cluster_status(lab, node))
    return found is not None and found == (resource, node)


def _where(lab: Lab, facts: LabFacts) -> tuple[str, str, str] | str:
    """(resource, holder, the other hypervisor), or why the fault check cannot run."""
    found = _resource(cluster_status(lab, lab.spec.member_names[0]))
    if found is None:
        return "not run: the VirtualDomain resource is not running"
    resource, holder = found
    others = [n for n in lab.spec.member_names if n != holder]
    return resource, holder, others[0]


GUEST = ("the guest does not answer", "the guest answers again")  # the grader's probe, in the timeline
SILENCE = 4 * PING_INTERVAL  # a longer gap between two replies: pings lost, the guest did not answer


def ping_samples(run: ping.PingRun, interval: float) -> list[tuple[float, bool]]:
    """The ping's replies as the probe's samples for the timeline: each silence longer than SILENCE is the guest
    not answering, from the first ping that got no reply to the reply that ended it."""
    samples: list[tuple[float, bool]] = []
    for (earlier, _), (later, _) in zip(run.replies, run.replies[1:], strict=False):
        if later - earlier > SILENCE:
            samples += [(earlier + interval, False), (later, True)]
    return samples


def live_migration(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Move the resource to the other hypervisor; the guest must keep running, with a short downtime."""
    where = _where(lab, facts)
    if isinstance(where, str):
        return FaultOutcome(Verdict(False, where))
    resource, source, target = where
    objective = float(lab.spec.settings.get("migration_downtime_objective_s", 2))
    before = _guest(lab, target)
    if before is None:
        return FaultOutcome(Verdict(False, f"not run: the guest does not answer {target} before the migration"))
    address = lab.spec.settings["guest_address"]
    pinger = lab.run(target, f"nohup ping -D -i {PING_INTERVAL} -W 1 {address} > {PING_LOG} 2>&1 & echo $!")
    progress(f"fault check: moving {resource} from {source} to {target} (live migration)")
    started, fault_at = time.monotonic(), time.time()
    seconds, refused = None, ""
    try:
        moved = lab.run(source, f"crm_resource --move --resource {resource} --node {target}", timeout=30)
        refused = "" if moved.ok else (moved.stderr or moved.stdout).strip()
        deadline = started + 120
        while not refused and time.monotonic() < deadline:
            if _running_on(lab, target, resource):
                seconds = round(time.monotonic() - started, 1)
                break
            time.sleep(0.25)
        time.sleep(1)  # a few pings after the guest settled, so the last gap is measured too
    finally:
        with contextlib.suppress(HalabError):
            lab.run(target, f"kill {pinger.stdout.strip() or 0}")
        progress(f"fault check: clearing the move constraint of {resource}")
        with contextlib.suppress(HalabError):
            lab.run(source, f"crm_resource --clear --resource {resource}", timeout=30)
    after = _guest(lab, target)
    measurements: dict[str, Any] = {"migrated_from": source, "migrated_to": target, "migration_seconds": seconds,
                                    "migration_downtime_objective_s": objective}
    try:
        run = ping.parse(lab.run(target, f"cat {PING_LOG}; rm -f {PING_LOG}").stdout)
        measurements["migration_downtime_seconds"] = round(run.downtime(PING_INTERVAL), 2)
    except (HalabError, ParseError):
        run = None
    events = fault_timeline(lab, fault_at, f"live-migrating {resource} to {target} from", source,
                            ping_samples(run, PING_INTERVAL) if run else [], meaning=GUEST)
    verdict = _migration_verdict(lab, resource, (source, target), (seconds, refused), (before, after), run,
                                 measurements)
    return FaultOutcome(verdict, measurements, events)


def _migration_verdict(lab: Lab, resource: str, moved: tuple[str, str], took: tuple[float | None, str],
                       guest: tuple[guest_status.GuestStatus, guest_status.GuestStatus | None],
                       run: ping.PingRun | None, measurements: dict[str, Any]) -> Verdict:
    (source, target), (seconds, refused), (before, after) = moved, took, guest
    if refused:
        return Verdict(False, f"crm_resource --move failed: {refused}")
    if seconds is None:
        status = cluster_status(lab, target)
        failures = "; ".join(status.failures[:2]) if status and status.failures else "no failed action recorded"
        return Verdict(False, f"{resource} did not arrive on {target} within 120 s ({failures})")
    if after is None:
        return Verdict(False, f"{resource} runs on {target}, but the guest does not answer there")
    if after.boot_id != before.boot_id or after.uptime < before.uptime:
        return Verdict(False, f"the guest was restarted (new boot, up {after.uptime:.0f} s), not migrated live: "
                              "Pacemaker stopped and started it; is allow-migrate=true, and did the migration fail "
                              "(crm_mon --failcounts)?")
    if run is None:
        return Verdict(False, "the guest kept running, but the ping during the migration could not be read")
    downtime, objective = measurements["migration_downtime_seconds"], measurements["migration_downtime_objective_s"]
    return Verdict(downtime <= objective, f"live-migrated {source} -> {target} in {seconds} s; the guest kept running "
                                          f"(same boot, up {after.uptime:.0f} s), unreachable for {downtime} s "
                                          f"(objective {objective:g} s)")


def hypervisor_loss(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Power off the hypervisor running the guest; the other must start it within the recovery objective."""
    where = _where(lab, facts)
    if isinstance(where, str):
        return FaultOutcome(Verdict(False, where))
    resource, holder, survivor = where
    rto = float(lab.spec.settings.get("recovery_time_objective_s", 60))
    before = _guest(lab, survivor)
    progress(f"fault check: powering off {holder}, which runs the guest")
    started = time.monotonic()
    deadline = started + max(2 * rto, 120)

    fault_at = time.time()
    samples: list[tuple[float, bool]] = []  # (when, the guest answered the survivor): the probe in the timeline

    def restarted() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            status = _guest(lab, survivor)
            samples.append((time.time(), status is not None))
            if status and (before is None or status.boot_id != before.boot_id) \
                    and _running_on(lab, survivor, resource):
                return round(time.monotonic() - started, 1), status.boots
            time.sleep(0.5)
        return None, why_not(cluster_status(lab, survivor), survivor, holder, fault_at)

    (seconds, boots_or_reason), restored = power_cut(lab, holder, restarted, progress)
    events = fault_timeline(lab, fault_at, "powering off", holder, samples, meaning=GUEST)
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto, "failover_seconds": seconds}
    if seconds is None:
        return FaultOutcome(Verdict(False, f"after powering off {holder}, the guest did not answer from {survivor} "
                                           f"within {deadline - started:.0f} s: {boots_or_reason}.{restored}"),
                            measurements, events)
    measurements["failover_to"] = survivor
    twice = _running_twice(lab)
    if twice:
        return FaultOutcome(Verdict(False, f"the guest came back on {survivor} after {seconds} s, but {twice}"
                                           f".{restored}"), measurements, events)
    return FaultOutcome(Verdict(seconds <= rto, f"powered off {holder}; the guest answered from {survivor} after "
                                                f"{seconds} s (boot {boots_or_reason} of its shared disk; objective "
                                                f"{rto:g} s).{restored}"), measurements, events)


def _running_twice(lab: Lab) -> str:
    """Once the lost hypervisor is back: does it run a second copy of the guest (autostart)?"""
    guest = lab.spec.settings["guest_name"]
    running = []
    for node in lab.spec.member_names:
        with contextlib.suppress(HalabError):
            if lab.run(node, f"virsh domstate {guest}").stdout.strip() == "running":
                running.append(node)
    return f"once the hypervisor was back, the guest ran on {' and '.join(running)}" if len(running) > 1 else ""
