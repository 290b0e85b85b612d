"""The dr kind's fault checks: a planned site switch, a cut WAN, the loss of the whole active site and its
return; each measured with the graders' own writer on the client and restored in ``finally`` (the lost site
rebuilt where it diverged, and the ticket moved back to where it was), plus `halab fault dr isolate-site`.

Restoring is the DR runbook's failback: a site that lost the ticket while it had the primary may hold WAL the
other site never received (the commits the RPO counts, or only its own shutdown checkpoint), so its instances
cannot follow the new primary's timeline; they are rebuilt from it with pg_basebackup (recovery.rebuild).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from graders.checks import FaultOutcome, Verdict
from graders.collectors.journal import Event
from graders.dr.facts import the_ticket
from graders.dr.live import (
    Writer,
    active_site,
    in_recovery,
    lost_commits,
    outage,
    primaries,
    promoted_at,
    status,
    streaming_to,
    ticket_granted,
    wait,
)
from graders.dr.recovery import failback, move_ticket, other_site, switch_back
from graders.dr.sites import Site, sites, wan_address
from graders.dr.story import Story, booth_nodes, note_return, observed, tell, told
from graders.facts import LabFacts
from graders.faults import objective
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime import faults
from halab.types import Progress

# What site-loss saw when the lost site came back, for site-return (fault checks run in order, in one process).
_RETURNS: dict[str, dict[str, Any]] = {}


def _start(lab: Lab) -> tuple[Site, Site] | None:
    active = active_site(lab)
    return (active, other_site(lab, active)) if active else None


@told
def planned_switch(lab: Lab, facts: LabFacts, progress: Progress, story: Story) -> FaultOutcome:
    """Revoke the ticket at the active site and grant it to the other, as a planned DR test does, with the
    graders' writer committing all along: the other site must take over and lose no acknowledged commit, and
    the old primary must follow the new one. The ticket then goes back."""
    found = _start(lab)
    if found is None:
        return FaultOutcome(Verdict(False, "not run: no site runs a primary"))
    active, standby = found
    ticket = the_ticket(facts)
    measurements: dict[str, Any] = {"switch_from": active.name, "switch_to": standby.name,
                                    "planned_switch_seconds": None}
    took = followed = None
    lost: list[int] = []
    try:
        with Writer(lab) as writer:
            time.sleep(2)
            progress(f"fault check: moving {ticket} from {active.title} to {standby.title}")
            since = writer.now()
            move_ticket(lab, ticket, active, standby)
            took = wait(lambda: outage(writer.log(), since, {standby.db_ip}) is not None, 180)
            time.sleep(2)
        log = writer.log()
        lost, _ = lost_commits(log, writer.stored(), active.db_ip)
        measurements.update(planned_switch_seconds=outage(log, since, {standby.db_ip}), planned_switch_lost=len(lost))
        followed = wait(lambda: _streams_from(lab, standby, active), 90, 2)
        tell(story, lab, since, f"revoking {ticket} at {active.title}, granting it to", standby.title, log)
    finally:
        progress(f"fault check: moving {ticket} back to {active.title}")
        restored = switch_back(lab, ticket, active, progress)
    seconds = measurements["planned_switch_seconds"]
    if took is None or seconds is None:
        return FaultOutcome(Verdict(False, f"revoked {ticket} at {active.title} and granted it to {standby.title}: "
                                           f"the client could not write at {standby.title} within 180 s.{restored}",
                                    "Give the other site's nodes a promotion score, and check that its rsc_ticket "
                                    "names the same ticket."), measurements)
    if lost:
        return FaultOutcome(Verdict(False, f"planned switch to {standby.title} in {seconds} s, but {len(lost)} "
                                           "acknowledged commits are missing afterwards: a planned switch must lose "
                                           f"nothing.{restored}"), measurements)
    if followed is None:
        return FaultOutcome(Verdict(False, f"planned switch to {standby.title} in {seconds} s with no commit lost, but "
                                           f"{active.title}'s nodes do not stream from the new primary.{restored}",
                                    "primary_conninfo must name both sites' database IPs, so that a standby follows "
                                    "the primary wherever it runs."), measurements)
    return FaultOutcome(Verdict(True, f"revoke at {active.title}, grant at {standby.title}: the client wrote there "
                                      f"after {seconds} s, no acknowledged commit lost, {active.title} followed as "
                                      f"replica.{restored}"), measurements)


def _streams_from(lab: Lab, new: Site, old: Site) -> bool:
    found = primaries(lab)
    return len(found) == 1 and found[0] in new.nodes and set(old.nodes) <= streaming_to(lab, found[0])


def _isolate(lab: Lab, site: Site) -> None:
    """Drop every packet between the site's nodes and the rest of the WAN (the other sites' nodes and floating
    IPs, the arbitrator, the client); the grading host still reaches them, cables stay plugged in."""
    peers = [wan_address(lab.spec, n.name) for n in lab.spec.nodes if n.name not in site.nodes]
    peers += [ip for other in sites(lab.spec) if other != site for ip in (other.booth_ip, other.db_ip)]
    for node in site.nodes:
        faults.drop_traffic(lab, node, peers)


@told
def wan_cut(lab: Lab, facts: LabFacts, progress: Progress, story: Story) -> FaultOutcome:
    """Cut the active site off the WAN: after the ticket's expiry exactly one site may hold it (the other,
    with the arbitrator's vote) and run the primary; never both at once."""
    found = _start(lab)
    if found is None:
        return FaultOutcome(Verdict(False, "not run: no site runs a primary"))
    active, standby = found
    ticket = the_ticket(facts)
    measurements: dict[str, Any] = {"wan_cut_site": active.name}
    both: list[str] = []
    seen: list[Event] = []
    progress(f"fault check: cutting {active.title} off the WAN")
    try:
        with Writer(lab) as writer:  # the client's side, for the timeline
            time.sleep(2)
            fault_at = writer.now()
            _isolate(lab, active)
            started = time.monotonic()
            moved = None
            last: dict[str, Any] = {}
            while time.monotonic() - started < 150:
                held = {s.name: ticket_granted(lab, s, ticket) for s in (active, standby)}
                promoted = {s.name: promoted_at(lab, s) for s in (active, standby)}
                seen += observed(last, held, promoted)
                if all(held.values()) or all(promoted.values()):
                    both.append(f"{round(time.monotonic() - started)} s: ticket {held}, promoted {promoted}")
                if held[standby.name] and not held[active.name] and promoted[standby.name] and \
                        not promoted[active.name]:
                    moved = round(time.monotonic() - started, 1)
                    # the client's first write at the other site, for the timeline
                    wait(lambda: outage(writer.log(), fault_at, {standby.db_ip}) is not None, 20)
                    break
                time.sleep(1)
            final = {s.name: ticket_granted(lab, s, ticket) for s in (active, standby)}
        tell(story, lab, fault_at, "cutting off the WAN:", active.title, writer.log(), seen=seen)
    finally:
        progress(f"fault check: reconnecting {active.title}")
        for node in active.nodes:
            with contextlib.suppress(HalabError):
                faults.restore(lab, node)
        restored, _ = failback(lab, ticket, active, progress)
    measurements.update(wan_cut_ticket_moved_seconds=moved, wan_cut_split=bool(both))
    if both:
        return FaultOutcome(Verdict(False, f"cut {active.title} off the WAN: both sites held the ticket or a primary "
                                           f"at once ({both[0]}): a split site.{restored}",
                                    "rsc_ticket on the Promoted role with loss-policy=demote (or fence) at both sites, "
                                    "the arbitrator in booth.conf, so that only one site can hold the ticket, and "
                                    "acquire-after in the ticket's section: the cut-off site gives the ticket up when "
                                    "its renewal retries run out, which can be after the others saw it expire "
                                    "(notebook 8, section 8.4)."),
                            measurements)
    if moved is None:
        return FaultOutcome(Verdict(False, f"cut {active.title} off the WAN: after 150 s the ticket was {final} and no "
                                           f"site had taken over.{restored}",
                                    "The arbitrator must run and be in booth.conf: with it, the cut-off site's "
                                    "ticket expires and the other site gets it."), measurements)
    return FaultOutcome(Verdict(True, f"cut {active.title} off the WAN: its ticket expired, {standby.title} got it "
                                      f"with the arbitrator's vote and promoted after {moved} s; never two sites at "
                                      f"once.{restored}"), measurements)


@told
def site_loss(lab: Lab, facts: LabFacts, progress: Progress, story: Story) -> FaultOutcome:
    """Power off every node of the active site with the writer committing: the ticket must move after its
    expiry, the other site promote, and the client's writes resume; RTO (the client's outage) and RPO (its
    acknowledged commits missing afterwards) are measured against the lab's objectives. The lost site is then
    powered on and watched as it returns (site-return grades that), rebuilt and given the ticket back."""
    found = _start(lab)
    if found is None:
        return FaultOutcome(Verdict(False, "not run: no site runs a primary"))
    active, standby = found
    ticket = the_ticket(facts)
    rto, applies = objective(lab, "site_loss_rto_s", 120)
    rpo, _ = objective(lab, "site_loss_rpo_s", 5)
    measurements: dict[str, Any] = {"site_lost": active.name, "rto_objective_seconds": rto,
                                    "rpo_objective_seconds": rpo, "objectives_apply_to": applies}
    _RETURNS.pop(lab.name, None)
    try:
        with Writer(lab) as writer:
            time.sleep(3)
            progress(f"fault check: powering off {', '.join(active.nodes)} (all of {active.title})")
            lost_at = writer.now()
            for node in active.nodes:
                faults.power_off(lab, node)
            wait(lambda: outage(writer.log(), lost_at, {standby.db_ip}) is not None, max(3 * rto, 240), 2)
            time.sleep(3)
        log = writer.log()
        seconds = outage(log, lost_at, {standby.db_ip})
        lost, span = lost_commits(log, writer.stored(), active.db_ip) if seconds is not None else ([], 0.0)
        acked = len([c for c in log.commits if c.at <= lost_at])
        measurements.update(rto_seconds=seconds, rpo_commits=len(lost), rpo_seconds=span, commits_before_loss=acked)
        # The lost site's nodes are off: the story is the survivors' and the arbitrator's.
        tell(story, lab, lost_at, "powering off", f"{', '.join(active.nodes)} (all of {active.title})", log,
             [n for n in booth_nodes(lab) if n not in active.nodes])
    finally:
        progress(f"fault check: powering {active.title} on again and watching it return")
        back_at = time.time()
        returned = _RETURNS[lab.name] = _watch_return(lab, ticket, active, standby)
        returned["timeline"] = []
        tell(returned["timeline"], lab, back_at, "powering on", f"{', '.join(active.nodes)} (all of {active.title})",
             None, seen=returned.pop("events"))
        restored, returned["rebuilt"] = failback(lab, ticket, active, progress)
        returned["failback_problem"] = restored
    if seconds is None:
        return FaultOutcome(Verdict(False, f"powered off {active.title}: the client could not write at "
                                           f"{standby.title} within {max(3 * rto, 240):.0f} s.{restored}",
                                    "The arbitrator must run (booth needs a majority to move the ticket), the ticket's "
                                    "expire must be short, and the other site must be able to promote."),
                            measurements)
    passed = seconds <= rto and span <= rpo
    verdict = (f"powered off {active.title}: the client wrote at {standby.title} after {seconds} s (RTO objective for "
               f"{applies}: {rto:g} s); {len(lost)} of {acked} acknowledged commits were lost, {span} s of writes (RPO "
               f"objective: {rpo:g} s).{restored}")
    return FaultOutcome(Verdict(passed, verdict, "" if passed else "The ticket moves only after it expires: a "
                                "shorter expire lowers the RTO. Asynchronous replication loses what had not "
                                "crossed the WAN yet."), measurements)


BOOT_MARK = "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat"


def _boot_mark(lab: Lab, node: str) -> str | None:
    with contextlib.suppress(HalabError):
        result = lab.run(node, BOOT_MARK, timeout=5)
        return result.stdout.strip() if result.ok else None
    return None


WATCH_S = 90  # how long a returning site whose cluster starts at boot is watched (a fencing loop turns in ~30 s)
# What a returning node runs once it has booted: systemd's own state, and whether the cluster stack runs.
SETTLED = "systemctl is-system-running; systemctl is-active corosync pacemaker; true"


def _settled_off(lab: Lab, node: str) -> bool:
    """Whether the node has finished booting with neither Corosync nor Pacemaker running (nor PostgreSQL taking
    writes): then nothing on it can start a primary, take the ticket or fence anyone until someone starts its
    cluster, and watching it longer shows nothing new."""
    with contextlib.suppress(HalabError):
        words = lab.run(node, SETTLED, timeout=10).stdout.split()
        booted = len(words) == 3 and words[0] in ("running", "degraded")
        return booted and all(w in ("inactive", "failed") for w in words[1:]) and in_recovery(lab, node) is None
    return False


def _watch_return(lab: Lab, ticket: str, lost: Site, holder: Site) -> dict[str, Any]:
    """Power the lost site on, as the power company would (what starts then is what the nodes start at boot),
    and watch it: does a second primary appear, does it take the ticket back, are its nodes fenced again and
    again (Pacemaker started at boot meets PAF's crashed primary)? A site whose nodes booted with the cluster
    stack off (PAF's advice) is settled as soon as they have booted; one that starts its cluster at boot is
    watched for WATCH_S seconds."""
    seen: dict[str, Any] = {"promoted": [], "ticket_back": False, "site": lost.title, "holder": holder.title,
                            "fenced": {n: 0 for n in lost.nodes}, "events": []}
    told_once: set[str] = set()
    state = lab.state()
    for node in lost.nodes:
        lab.drop_connection(node)
        with contextlib.suppress(HalabError):
            lab.provider().power_on(state, node)
    marks: dict[str, str | None] = {n: None for n in lost.nodes}
    started = time.monotonic()
    while time.monotonic() - started < WATCH_S:
        for node in lost.nodes:
            mark = _boot_mark(lab, node)
            if mark and marks[node] and mark != marks[node]:
                seen["fenced"][node] += 1
                note_return(seen["events"], node, f"rebooted ({seen['fenced'][node]} times: fenced?)", told_once)
            if mark:
                note_return(seen["events"], node, "has booted and answers", told_once)
            marks[node] = mark or marks[node]
        running_primary = [n for n in lost.nodes if in_recovery(lab, n) is False]
        seen["promoted"] = sorted(set(seen["promoted"]) | set(promoted_at(lab, lost)) | set(running_primary))
        seen["ticket_back"] = seen["ticket_back"] or bool(ticket_granted(lab, lost, ticket))
        for node in seen["promoted"]:
            note_return(seen["events"], node, "runs a second primary", told_once)
        if seen["ticket_back"]:
            note_return(seen["events"], lost.title, "took the ticket back", told_once)
        if "back_seconds" not in seen and all(marks.values()):
            seen["back_seconds"] = round(time.monotonic() - started, 1)
        if all(marks.values()) and all(_settled_off(lab, node) for node in lost.nodes):
            seen["settled_seconds"] = round(time.monotonic() - started, 1)
            note_return(seen["events"], lost.title, "has booted with its cluster off (settled)", told_once)
            break
        time.sleep(2)
    seen["cluster_started"] = _cluster_back(lab, lost)
    seen["holder_still_primary"] = bool(set(primaries(lab)) & set(holder.nodes))
    return seen


def _cluster_back(lab: Lab, site: Site) -> bool:
    seen = status(lab, site.nodes[0])
    return bool(seen and seen.quorate and all(seen.nodes.get(n) and seen.nodes[n].online for n in site.nodes))


@told
def site_return(lab: Lab, facts: LabFacts, progress: Progress, story: Story) -> FaultOutcome:
    """How the site lost in site-loss came back: never a second primary, the ticket left where it was, no
    fencing death match; and after the failback runbook (rebuilt from the new primary), a replica again. Its
    timeline is site-loss's view of the return, from the power coming back until the site had booted."""
    seen = _RETURNS.pop(lab.name, None)
    story[:] = (seen or {}).get("timeline", [])
    if seen is None:
        return FaultOutcome(Verdict(False, "not run: it grades the return of the site lost in site-loss, which did "
                                           "not run"))
    fenced = {n: c for n, c in seen["fenced"].items() if c}
    measurements = {"return_promoted": seen["promoted"], "return_fenced": fenced,
                    "return_cluster_started": seen.get("cluster_started"), "return_rebuilt": seen.get("rebuilt", [])}
    site, holder = seen["site"], seen["holder"]
    if seen["promoted"]:
        return FaultOutcome(Verdict(False, f"{site} came back and ran a second primary on "
                                           f"{', '.join(seen['promoted'])}.", "Only Pacemaker may start PostgreSQL, "
                                    "and only the ticket may let it promote: rsc_ticket on the Promoted role."),
                            measurements)
    if seen["ticket_back"]:
        return FaultOutcome(Verdict(False, f"{site} came back and took the ticket back while {holder} held it."),
                            measurements)
    if any(c >= 2 for c in fenced.values()):
        return FaultOutcome(Verdict(False, f"{site} came back and its nodes were fenced again and again ("
                                    + ", ".join(f"{n} {c} times" for n, c in fenced.items())
                                    + f" in {WATCH_S} s): Pacemaker started at boot, PAF found the primary that had "
                                    "crashed and refused to run it, its stop failed, and fencing followed, in a loop.",
                                    "PAF's advice: keep corosync and pacemaker off at boot (systemctl disable), "
                                    "rebuild the old primary from the new one, then start the cluster."),
                            measurements)
    if not seen["holder_still_primary"]:
        return FaultOutcome(Verdict(False, f"{site} came back, and {holder} no longer ran the primary."), measurements)
    if seen.get("failback_problem"):
        return FaultOutcome(Verdict(False, f"{site} came back without a second primary, but it could not be made a "
                                           f"replica again:{seen['failback_problem']}"), measurements)
    how = ("its cluster started at boot" if seen.get("cluster_started") else
           "its cluster stayed off until the runbook started it, as PAF advises")
    rebuilt = seen.get("rebuilt") or []
    note = (f" {', '.join(rebuilt)} were rebuilt from the new primary (pg_basebackup), the failback runbook's step for "
            "a site that holds WAL the other never received." if rebuilt else "")
    return FaultOutcome(Verdict(True, f"{site} came back ({how}) with no second primary; the ticket stayed with "
                                      f"{holder}; it rejoined as the replica.{note}"), measurements)


def isolate_site_fault(lab: Lab, node: str) -> str:
    """`halab fault dr isolate-site NODE`: cut NODE's whole site off the WAN (packets dropped at its nodes)."""
    site = next((s for s in sites(lab.spec) if node in s.nodes), None)
    if site is None:
        raise HalabError(f"{node} is not a site node of lab '{lab.name}'")
    _isolate(lab, site)
    undo = "; ".join(f"halab fault {lab.base} restore {n}" for n in site.nodes)
    return f"{site.title} ({', '.join(site.nodes)}) is cut off the WAN. Undo: {undo}"

