"""The drbd kind, live side: the fault check that powers off the primary and verifies the data on the peer,
and the split brain that `halab fault drbd split-brain NODE` induces for the student to resolve."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collectors import crm_mon
from graders.facts import LabFacts
from graders.faults import Progress, cluster_status, objective, power_cut, why_not
from halab import faults
from halab.errors import HalabError
from halab.lab import Lab
from halab.state import LabState, update_state


def _promoted(status: crm_mon.ClusterStatus | None) -> str | None:
    if status is None:
        return None
    return next((r.nodes[0] for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"
                 and r.nodes), None)


def failover_data(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Power off the DRBD primary; the peer must be promoted, mount the filesystem, and show the file
    written just before the failure with the same checksum."""
    s = lab.spec.settings
    rto, applies = objective(lab, "recovery_time_objective_s", 90)
    holder = _promoted(cluster_status(lab, lab.spec.member_names[0]))
    if holder is None:
        return FaultOutcome(Verdict(False, "not run: DRBD is not promoted on any node"))
    survivor = next(n for n in lab.spec.member_names if n != holder)
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
            if _promoted(cluster_status(lab, survivor)) == survivor:
                with contextlib.suppress(HalabError):
                    result = lab.run(survivor, f"mountpoint -q {s['mount_point']} && sha256sum {probe}", timeout=30)
                    if result.ok:
                        return round(time.monotonic() - started, 1), result.stdout.split()[0]
            time.sleep(1)
        return None, why_not(cluster_status(lab, survivor), survivor, holder)

    (seconds, found_or_reason), restored = power_cut(lab, holder, taken_over, progress)
    found, reason = (found_or_reason, "") if seconds is not None else (None, found_or_reason)
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto, "rto_applies_to": applies,
                                    "failover_seconds": seconds,
                                    "data_intact": found == checksum if found else None}
    if seconds is None:
        return FaultOutcome(Verdict(False, f"after powering off {holder}, {survivor} did not take over the data within "
                                           f"{deadline - started:.0f} s: {reason}.{restored}"), measurements)
    measurements["failover_to"] = survivor
    if found != checksum:
        return FaultOutcome(Verdict(False, f"{survivor} took over after {seconds} s, but {probe} has another checksum: "
                                           f"data written before the failure was lost.{restored}"), measurements)
    return FaultOutcome(Verdict(seconds <= rto, f"powered off {holder}; {survivor} was promoted and mounted the data "
                                                f"after {seconds} s (objective for {applies}: {rto:g} s), file "
                                                f"intact.{restored}"), measurements)


def _must(lab: Lab, node: str, command: str, timeout: float = 60) -> str:
    result = lab.run(node, command, timeout=timeout)
    if not result.ok:
        raise HalabError(f"{node}: '{command}' failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return result.stdout


def _wait(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise HalabError(f"timed out waiting for {what}")
        time.sleep(1)


def primary_with_data(lab: Lab, node: str) -> bool:
    s = lab.spec.settings
    role = lab.run(node, f"drbdadm role {s['drbd_resource']}").stdout.split("/")[0]
    return role == "Primary" and lab.run(node, f"mountpoint -q {s['mount_point']}").ok


def _write_alone(lab: Lab, node: str, marker: str) -> None:
    """Write a file on the node's copy of the data while it is cut off from its peer, as Primary."""
    s = lab.spec.settings
    if primary_with_data(lab, node):
        _must(lab, node, f"date > {s['mount_point']}/{marker} && sync")
    else:
        _must(lab, node, f"drbdadm primary {s['drbd_resource']} && mount {s['drbd_device']} /mnt && "
                         f"date > /mnt/{marker} && umount /mnt && drbdadm secondary {s['drbd_resource']}")


def split_brain(lab: Lab, victim: str) -> dict[str, object]:
    """Make a DRBD split brain the way it happens: the replication link breaks, and both sides write as
    Primary. Pacemaker is put in maintenance mode first, so that it neither fences nor 'repairs' anything:
    resolving the split brain is the student's task. ``victim`` is the node whose writes should be
    discarded when the student resolves it."""
    s = lab.spec.settings
    lab.state().node(victim)
    resource = s["drbd_resource"]
    survivor = next(n for n in lab.spec.member_names if n != victim)
    if not any(primary_with_data(lab, n) for n in (victim, survivor)):
        raise HalabError(f"a split brain needs a DRBD Primary with {s['mount_point']} mounted; solve the lab first")
    tag = uuid.uuid4().hex[:8]
    markers = {"survivor": f"halab-split-brain-{survivor}-{tag}", "victim": f"halab-split-brain-{victim}-{tag}"}
    _must(lab, survivor, "crm configure property maintenance-mode=true")
    faults.cut_link(lab, victim, "repl")
    _wait(f"{victim} to lose its peer", lambda: lab.run(survivor, f"drbdadm cstate {resource}").stdout.strip()
          != "Connected", timeout=60)
    _write_alone(lab, victim, markers["victim"])
    _write_alone(lab, survivor, markers["survivor"])
    lab.provider().set_link(lab.state(), victim, "repl", up=True)
    record = {"victim": victim, "survivor": survivor, "markers": markers}

    def note_split_brain(state: LabState) -> None:
        state.provider_data.get("faults", {}).pop(victim, None)
        state.provider_data["split_brain"] = record

    update_state(lab.name, note_split_brain)
    _wait("DRBD to detect the split brain", lambda: "StandAlone" in lab.run(victim, f"drbdadm cstate {resource}").stdout
          or "StandAlone" in lab.run(survivor, f"drbdadm cstate {resource}").stdout, timeout=60)
    return record


def split_brain_fault(lab: Lab, node: str) -> str:
    """`halab fault drbd split-brain NODE`."""
    record = split_brain(lab, node)
    return (f"split brain: {node} and {record['survivor']} both wrote as Primary while the replication link was "
            "cut; DRBD is StandAlone. Resolve it, keeping the survivor's data.")
