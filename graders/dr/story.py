"""The dr fault checks' timelines (issue 24): each check tells what happened from the fault on, before the lab is
put back (the failback's own events would bury it): the fault, booth's ticket revoked, granted or lost at both sites
and the arbitrator, Pacemaker's fencing, PAF's promotions and the database IPs (their journals,
graders/collectors/journal.py), what the grader saw of each site, and the graders' writer's commits failing and
succeeding again (graders/timeline.py builds the list)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from graders import timeline
from graders.checks import FaultOutcome
from graders.collectors.journal import DR_SOURCES, Event
from graders.dr.live import WriterLog
from graders.dr.sites import sites
from graders.facts import LabFacts
from graders.faults import fault_timeline
from halab.lab import Lab
from halab.types import Progress

Story = list[dict[str, Any]]  # a fault check's timeline (graders/timeline.py), filled in before the lab is restored
Told = Callable[[Lab, LabFacts, Progress, Story], FaultOutcome]


def told(check: Told) -> Callable[[Lab, LabFacts, Progress], FaultOutcome]:
    """A fault check that tells its story: ``check`` fills ``story`` once the fault has played out (before the
    lab is put back, whose own events would bury it), and the outcome carries it, whichever verdict it returns."""
    @functools.wraps(check)
    def run(lab: Lab, facts: LabFacts, progress: Progress) -> FaultOutcome:
        story: Story = []
        outcome = check(lab, facts, progress, story)
        return replace(outcome, timeline=outcome.timeline or story)
    return run


def booth_nodes(lab: Lab) -> list[str]:
    return [n for site in sites(lab.spec) for n in site.nodes] + [n.name for n in lab.spec.with_role("arbitrator")]


def tell(story: Story, lab: Lab, fault_at: float, what: str, where: str, log: WriterLog | None,
          nodes: list[str] | None = None, seen: list[Event] | None = None) -> None:
    """The fault, booth's ticket (revoked, granted, lost, expired), Pacemaker's fencing, promotions and floating
    IPs at both sites and the arbitrator (or ``nodes``), what the grader saw (``seen``), and the graders' writer's
    commits failing and succeeding again."""
    samples = log.samples() if log else []
    story[:] = fault_timeline(lab, fault_at, what, where, samples, nodes or booth_nodes(lab), DR_SOURCES)
    if seen:
        story[:] = timeline.build(fault_at, [*(Event(e["t"] + fault_at, e["node"], e["event"]) for e in story),
                                             *seen])



def observed(last: dict[str, Any], held: dict[str, bool | None], promoted: dict[str, list[str]]) -> list[Event]:
    """The grader's own view of each site while the WAN is cut (its ticket and its primary, as its cluster says),
    one event per change."""
    events, now = [], time.time()
    for site in held:
        state = ("holds the ticket" if held[site] else "does not hold the ticket" if held[site] is False else
                 "does not answer", f"primary on {', '.join(promoted[site])}" if promoted[site] else "no primary")
        if last.get(site) != state:
            events.append(Event(now, timeline.GRADER, f"site {site.upper()} {state[0]}, {state[1]}"))
            last[site] = state
    return events




def note_return(events: list[Event], node: str, what: str, seen: set[str]) -> None:
    """One grader event per thing seen of a returning site (a node booted, fenced again, a primary, the ticket),
    the first time it is seen."""
    if what not in seen:
        seen.add(what)
        events.append(Event(time.time(), timeline.GRADER, f"{node} {what}"))
