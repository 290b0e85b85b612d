"""The drbd kind, live side: the fault checks that power off the primary and verify the data on the peer, and
that cut the replication link and verify resource-level fencing (the outdated peer may not be promoted until it
has resynced), and the split brain that `halab fault drbd split-brain NODE` induces for the student to resolve."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from graders import timeline
from graders.checks import FaultOutcome, Verdict
from graders.collectors import ParseError, cib, crm_mon
from graders.collectors.journal import DRBD_SOURCES, Event
from graders.drbd.fencing import UNFENCE_SCRIPT, FenceConstraint, fence_constraints
from graders.drbd.resolved import RECORD
from graders.facts import LabFacts
from graders.faults import JOURNAL_SOURCES, cluster_status, fault_timeline, objective, power_cut, why_not, with_fault
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.runtime.state import update_state
from halab.types import Progress

T = TypeVar("T")


def _promoted(status: crm_mon.ClusterStatus | None) -> str | None:
    if status is None:
        return None
    return next((r.nodes[0] for r in status.resources if r.agent == "ocf:linbit:drbd" and r.role == "Promoted"
                 and r.nodes), None)


SOURCES = JOURNAL_SOURCES + DRBD_SOURCES  # Corosync and Pacemaker, DRBD's kernel log, the CIB's constraints


def _timeline(lab: Lab, fault_at: float, what: str, node: str, seen: list[Event]) -> list[dict[str, Any]]:
    """The fault, the cluster's and DRBD's events on both VMs (their clocks moved to the host's), and what the
    grader saw."""
    return fault_timeline(lab, fault_at, what, node, [], sources=SOURCES, seen=seen, own_clocks=True)


def _seen(what: str) -> Event:
    return Event(time.time(), timeline.GRADER, what)


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
    started, fault_at = time.monotonic(), time.time()
    deadline = started + max(2 * rto, 120)
    seen: list[Event] = []

    def taken_over() -> tuple[float | None, str]:
        while time.monotonic() < deadline:
            if _promoted(cluster_status(lab, survivor)) == survivor:
                with contextlib.suppress(HalabError):
                    result = lab.run(survivor, f"mountpoint -q {s['mount_point']} && sha256sum {probe}", timeout=30)
                    if result.ok:
                        same = "the same" if result.stdout.split()[0] == checksum else "another"
                        seen.append(_seen(f"{survivor} serves the data, {probe} with {same} checksum"))
                        return round(time.monotonic() - started, 1), result.stdout.split()[0]
            time.sleep(1)
        return None, why_not(cluster_status(lab, survivor), survivor, holder, fault_at)

    (seconds, found_or_reason), restored = power_cut(lab, holder, taken_over, progress)
    events = _timeline(lab, fault_at, "powering off", holder, seen)
    found, reason = (found_or_reason, "") if seconds is not None else (None, found_or_reason)
    measurements: dict[str, Any] = {"failover_from": holder, "rto_seconds": rto, "rto_applies_to": applies,
                                    "failover_seconds": seconds,
                                    "data_intact": found == checksum if found else None}
    if seconds is None:
        return FaultOutcome(Verdict(False, f"after powering off {holder}, {survivor} did not take over the data within "
                                           f"{deadline - started:.0f} s: {reason}.{restored}"), measurements, events)
    measurements["failover_to"] = survivor
    if found != checksum:
        lost = f"{survivor} took over after {seconds} s, but {probe} has another checksum: data written before the "
        return FaultOutcome(Verdict(False, f"{lost}failure was lost.{restored}"), measurements, events)
    return FaultOutcome(Verdict(seconds <= rto, f"powered off {holder}; {survivor} was promoted and mounted the data "
                                                f"after {seconds} s (objective for {applies}: {rto:g} s), file "
                                                f"intact.{restored}"), measurements, events)


FENCE_TIMEOUT = 120  # s from the cut to the constraint: DRBD's ping timeout, then the handler asks the DC
UNFENCE_TIMEOUT = 240  # s from the link's return to the constraint's removal: reconnect, resync, handler


def _fence_constraints(lab: Lab, node: str) -> list[FenceConstraint] | None:
    """The fence-peer handler's constraints in the CIB as ``node`` sees it; None when it cannot tell."""
    try:
        result = lab.run(node, "cibadmin --query", timeout=30)
        return fence_constraints(cib.parse(result.stdout), lab.spec.settings["drbd_resource"]) if result.ok else None
    except (HalabError, ParseError):
        return None


def _poll(condition: Callable[[], T | None], timeout: float) -> tuple[float | None, T | None]:
    """Seconds until ``condition`` gave something true, and what it gave; (None, None) at the timeout."""
    started = time.monotonic()
    while time.monotonic() < started + timeout:
        value = condition()
        if value:
            return round(time.monotonic() - started, 1), value
        time.sleep(1)
    return None, None


def _settled(lab: Lab, primary: str) -> bool:
    """No fence-peer constraint left, and both disks UpToDate again (the peer has resynced)."""
    with contextlib.suppress(HalabError):
        return _fence_constraints(lab, primary) == [] and lab.run(
            primary, f"drbdadm dstate {lab.spec.settings['drbd_resource']}").stdout.strip() == "UpToDate/UpToDate"
    return False


def outdated_peer_fenced(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
    """Cut the Secondary's replication link: the Primary's fence-peer handler must put the constraint in the CIB
    that keeps the outdated Secondary from being promoted, and its after-resync-target handler must lift it once
    the link is back and the Secondary has resynced. The link is restored whatever happens."""
    s = lab.spec.settings
    resource = s["drbd_resource"]
    primary = _promoted(cluster_status(lab, lab.spec.member_names[0]))
    if primary is None:
        return FaultOutcome(Verdict(False, "not run: DRBD is not promoted on any node"))
    peer = next(n for n in lab.spec.member_names if n != primary)
    if _poll(lambda: _settled(lab, primary), 60)[0] is None:  # an earlier fault check's resync may still run
        return FaultOutcome(Verdict(False, f"not run: before any link was cut, {primary} already had a fence-peer "
                                           "constraint in the CIB, or the disks were not UpToDate/UpToDate"))
    measurements: dict[str, Any] = {"fenced_peer": peer, "fence_constraint_seconds": None, "unfence_seconds": None}
    probe = f"{s['mount_point']}/halab-fencing-check"
    observed: list[Event] = []

    def while_cut() -> tuple[FenceConstraint | None, str]:
        seconds, found = _poll(lambda: _fence_constraints(lab, primary), FENCE_TIMEOUT)
        if found:
            observed.append(_seen(f"the CIB has {found[0].id} (Promoted only on {', '.join(found[0].allowed) or '?'})"))
        if not found:
            policy = kernel_fencing(lab, primary) or "dont-care (none)"
            return None, (f"no fence-peer constraint appeared within {FENCE_TIMEOUT} s of cutting {peer}'s "
                          f"replication link; {primary}'s DRBD runs with fencing {policy} (drbdsetup show "
                          f"{resource}): after changing the configuration, run drbdadm adjust {resource}")
        measurements["fence_constraint_seconds"] = seconds
        constraint = found[0]
        if peer in constraint.allowed or (constraint.allowed and primary not in constraint.allowed):
            return constraint, f"{constraint.id} lets {', '.join(constraint.allowed)} be promoted, not {primary} only"
        # The Primary goes on writing, so the peer has something to resync when it is back.
        lab.run(primary, f"head -c 4M /dev/urandom > {probe} && sync", timeout=60)
        measurements["peer_disk_seen_by_primary"] = lab.run(primary, f"drbdadm dstate {resource}").stdout.strip()
        return constraint, ""

    progress(f"fault check: cutting {peer}'s replication link")
    fault_at = time.time()
    def cut_until_restored() -> tuple[FenceConstraint | None, str]:
        found = while_cut()
        observed.append(_seen(f"plugging {peer}'s replication cable in again"))
        return found

    (constraint, problem), restored = with_fault(lab, peer, lambda: faults.cut_link(lab, peer, "repl"),
                                                 cut_until_restored, progress)
    if constraint is None:
        events = _timeline(lab, fault_at, "cutting the replication link of", peer, observed)
        return FaultOutcome(Verdict(False, f"{problem}.{restored}"), measurements, events)
    progress(f"fault check: waiting for {peer} to resync and the constraint to go")
    seconds, _ = _poll(lambda: _settled(lab, primary), UNFENCE_TIMEOUT)
    if seconds is not None:
        observed.append(_seen(f"no fence constraint left, disks UpToDate/UpToDate on {primary}"))
    events = _timeline(lab, fault_at, "cutting the replication link of", peer, observed)
    lab.run(primary, f"rm -f {probe}")
    measurements["unfence_seconds"] = seconds
    seen = measurements.get("peer_disk_seen_by_primary", "?").split("/")[-1]
    fenced = (f"cut {peer}'s replication link; {primary} (Primary) saw {peer}'s disk as {seen} and its handler "
              f"placed {constraint.id} after {measurements['fence_constraint_seconds']} s")
    if seconds is None:
        lab.run(primary, f"cibadmin --delete --xml-text '<rsc_location id=\"{constraint.id}\"/>'")
        return FaultOutcome(Verdict(False, f"{problem or fenced}, but {UNFENCE_TIMEOUT} s after the link came back "
                                           f"the constraint was still there or {peer} had not resynced: is "
                                           f"after-resync-target {UNFENCE_SCRIPT} set on {peer}? The grader "
                                           f"removed the constraint, so that {peer} can be promoted again."
                                           f"{restored}"), measurements, events)
    if problem:
        return FaultOutcome(Verdict(False, f"{problem}.{restored}"), measurements, events)
    return FaultOutcome(Verdict(True, f"{fenced} (the Promoted role only on {primary}); with the link back, {peer} "
                                      f"resynced and {UNFENCE_SCRIPT} lifted it after {seconds} s.{restored}"),
                        measurements, events)


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


def kernel_fencing(lab: Lab, node: str) -> str | None:
    """The fencing policy the node's DRBD runs with now (drbdsetup show), None for the default (dont-care)."""
    shown = lab.run(node, f"drbdsetup show {lab.spec.settings['drbd_resource']}", timeout=30).stdout
    return next((line.split()[1].rstrip(";") for line in shown.splitlines()
                 if line.split()[:1] == ["fencing"] and len(line.split()) > 1), None)


@contextlib.contextmanager
def fencing_suspended(lab: Lab, nodes: list[str]) -> Iterator[bool]:
    """DRBD without its fencing policy on these nodes for a while; yields whether one was on. Resource-level
    fencing exists to stop a second Primary, so a split brain can only be made without it. Afterwards each node
    gets its disk options back as its configuration has them (what `drbdadm adjust` would set)."""
    resource = lab.spec.settings["drbd_resource"]
    was_on = [node for node in nodes if kernel_fencing(lab, node)]
    try:
        for node in was_on:
            _must(lab, node, f"drbdadm disk-options --fencing=dont-care {resource}")
        yield bool(was_on)
    finally:
        for node in was_on:
            # drbdadm -d prints the drbdsetup commands adjust would run (drbdsetup-84 lives in /lib/drbd).
            lab.run(node, f"PATH=/lib/drbd:$PATH; drbdadm -d adjust {resource} | grep -E '^drbdsetup[-0-9]* "
                          "disk-options ' | sh -e", timeout=60)


RECONNECTED = {"Connected", "SyncSource", "SyncTarget", "WFBitMapS", "WFBitMapT", "WFSyncUUID", "PausedSyncS",
               "PausedSyncT"}
AUTO_SOLVED = re.compile(r"Split-Brain detected, (\d) primaries, automatically solved\. Sync from (this|peer) node")


def _after_split(lab: Lab, victim: str, survivor: str, timeout: float = 60) -> str | None:
    """After the link is back: None when DRBD found the split brain and dropped the connection (StandAlone, for
    the student to resolve); else the sentence that says how DRBD resolved it by itself."""
    resource = lab.spec.settings["drbd_resource"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {node: lab.run(node, f"drbdadm cstate {resource}").stdout.strip() for node in (victim, survivor)}
        if "StandAlone" in states.values():
            return None
        if all(state in RECONNECTED for state in states.values()):
            return _auto_solved(lab, victim, survivor)
        time.sleep(1)
    raise HalabError(f"DRBD neither detected the split brain nor reconnected within {timeout:g} s after the "
                     f"replication link came back (connection states: {states})")


def _auto_solved(lab: Lab, victim: str, survivor: str) -> str:
    """Which after-sb policy resolved the split brain, from the victim's kernel log and the resource's options."""
    resource = lab.spec.settings["drbd_resource"]
    log = lab.run(victim, "dmesg | grep -a 'Split-Brain detected' | tail -n 1").stdout
    found = AUTO_SOLVED.search(log)
    dump = lab.run(victim, f"drbdadm dump {resource}").stdout
    if found is None:
        return (f"DRBD reconnected and resynced without stopping at the split brain (its kernel log on {victim} says: "
                f"{log.strip() or 'nothing'}); an after-sb policy of {resource} resolved it by itself")
    primaries, source = found[1], found[2]
    option = f"after-sb-{primaries}pri"
    policy = re.search(rf"{option}\s+([\w-]+)", dump)
    discarded = survivor if source == "this" else victim
    return (f"DRBD resolved the split brain by itself: {option} {policy[1] if policy else '(its default)'} decided, "
            f"with {primaries} Primary when the link came back, and discarded {discarded}'s changes")


def split_brain(lab: Lab, victim: str) -> dict[str, object]:
    """Make a DRBD split brain the way it happens: the replication link breaks, and both sides write as
    Primary. Pacemaker is put in maintenance mode first, so that it neither fences nor 'repairs' anything:
    resolving the split brain is the student's task. ``victim`` is the node whose writes should be
    discarded when the student resolves it. Resource-level fencing, if set up, is off meanwhile. Returns the
    record of the split brain, or with ``auto_solved`` how DRBD resolved it by itself (an after-sb policy that
    discards one side): then, as on any failure, nothing of the fault is left behind (maintenance mode off,
    the link plugged in, fencing back)."""
    s = lab.spec.settings
    lab.state().node(victim)
    resource = s["drbd_resource"]
    survivor = next(n for n in lab.spec.member_names if n != victim)
    if not any(primary_with_data(lab, n) for n in (victim, survivor)):
        raise HalabError(f"a split brain needs a DRBD Primary with {s['mount_point']} mounted; solve the lab first")
    tag = uuid.uuid4().hex[:8]
    markers = {"survivor": f"halab-split-brain-{survivor}-{tag}", "victim": f"halab-split-brain-{victim}-{tag}"}
    record = {"victim": victim, "survivor": survivor, "markers": markers}
    made = False
    _must(lab, survivor, "crm configure property maintenance-mode=true")
    try:
        with fencing_suspended(lab, [survivor, victim]) as fencing:
            faults.cut_link(lab, victim, "repl")
            try:
                _wait(f"{victim} to lose its peer", lambda: lab.run(survivor, f"drbdadm cstate {resource}")
                      .stdout.strip() != "Connected", timeout=60)
                _write_alone(lab, victim, markers["victim"])
                _write_alone(lab, survivor, markers["survivor"])
            finally:
                lab.provider().set_link(lab.state(), victim, "repl", up=True)
                update_state(lab.name, lambda state: state.provider_data.get("faults", {}).pop(victim, None))
            solved = _after_split(lab, victim, survivor)
        if solved is not None:
            return {**record, "fencing_suspended": fencing, "auto_solved": solved}
        update_state(lab.name, lambda state: state.provider_data.__setitem__(RECORD, record))
        made = True
        return {**record, "fencing_suspended": fencing}
    finally:
        if not made:  # the student has nothing to resolve: the cluster runs as before
            lab.run(survivor, "crm configure property maintenance-mode=false", timeout=60)


def split_brain_fault(lab: Lab, node: str) -> str:
    """`halab fault drbd split-brain NODE`."""
    record = split_brain(lab, node)
    fencing = (" (Resource-level fencing was off meanwhile: with it, DRBD would have refused the second Primary, "
               "which is what it is for; it is on again.)" if record["fencing_suspended"] else "")
    if record.get("auto_solved"):
        return (f"{record['auto_solved']}. There is no split brain left to resolve, and the cluster is out of "
                "maintenance mode again. To resolve one by hand, set after-sb-0pri, after-sb-1pri and after-sb-2pri "
                f"to disconnect (DRBD's default) in the resource's net section, run drbdadm adjust "
                f"{lab.spec.settings['drbd_resource']} on both nodes, and inject the fault again.{fencing}")
    markers = record["markers"]
    assert isinstance(markers, dict)
    where = lab.spec.settings["mount_point"]
    return (f"split brain: {node} and {record['survivor']} both wrote as Primary while the replication link was "
            f"cut: {node} wrote {where}/{markers['victim']}, {record['survivor']} wrote {where}/"
            f"{markers['survivor']} (each file is named after the node that wrote it; after the resolution only "
            f"the kept side's file is there). DRBD is StandAlone. Resolve it, keeping the survivor's data.{fencing}")
