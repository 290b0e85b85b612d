"""The journal parser's booth and PAF rules (graders/collectors/journal.py), and the dr fault checks' timeline
(graders/dr/faults.py builds it with graders/timeline.py), on the journals of a real planned-switch fault check:
the ticket revoked at site A and granted to site B with the graders' writer committing, then moved back
(tests/fixtures/dr/journal/, recorded by `python -m tests.fixtures.scenarios_break dr` on nspawn nodes,
2026-12-06; the check's own timeline is saved beside them in planned-switch-fault.json)."""

from __future__ import annotations

import json

from graders import timeline
from graders.collectors import journal
from tests.support.paths import FIXTURES

JOURNALS = FIXTURES / "dr" / "journal"
FAULT = json.loads((JOURNALS / "planned-switch-fault.json").read_text())
NODES = ("a1", "a2", "b1", "b2", "arbitrator")


def recorded(node: str) -> list[journal.Event]:
    return journal.parse((JOURNALS / f"planned-switch-{node}.json").read_text(), node)


def told(node: str) -> list[str]:
    return [e.event for e in recorded(node)]


def test_the_old_leader_revokes_and_later_gets_the_ticket_back() -> None:
    """a2 ran site A's booth: it revoked the ticket, saw site B revoke it when the check moved it back, and was
    granted it again."""
    assert told("a2")[:1] == ["booth: ticket-db revoked here"]
    story = ["booth: ticket-db revoked here", "pgsqld demoted on a2", "booth: 10.42.70.210 revokes ticket-db",
             "booth: ticket-db granted here", "pgsqld promoted on a2"]
    assert [line for line in told("a2") if line in story] == story, told("a2")


def test_the_other_site_is_granted_the_ticket_promotes_and_brings_up_its_database_ip() -> None:
    story = ["booth: 10.42.70.110 revokes ticket-db", "booth: ticket-db granted here", "pgsqld promoted on b2",
             "pgsql-ip started on b2", "booth: ticket-db revoked here", "pgsqld demoted on b2"]
    assert [line for line in told("b2") if line in story] == story, told("b2")


def test_the_arbitrator_sees_each_revoke_once() -> None:
    """booth-arbitrator writes to the journal and to its own stderr (identifier boothd): one event each."""
    assert told("arbitrator") == ["booth: 10.42.70.110 revokes ticket-db", "booth: 10.42.70.210 revokes ticket-db"]


def test_paf_notifications_and_attribute_updates_are_noise() -> None:
    everything = (JOURNALS / "planned-switch-b2.json").read_text().splitlines()
    assert len(everything) > 5 * len(recorded("b2"))


def test_the_switch_tells_the_takeover_in_order() -> None:
    """Built as the fault check builds it: the grader's injection (the moment it revoked), every booth member's
    events and the writer's commits failing and succeeding again."""
    revoked_at = next(e.at for e in recorded("a2") if e.event == "booth: ticket-db revoked here")
    injected = journal.Event(revoked_at, timeline.GRADER, "fault injected: revoking ticket-db at site A")
    probe = timeline.probe_events([(revoked_at + 2.0, False), (revoked_at + 6.0, True)])
    built = timeline.build(revoked_at, [injected, *(e for n in NODES for e in recorded(n)), *probe])
    order = [(e["node"], e["event"]) for e in built]
    steps = [(timeline.GRADER, "fault injected: revoking ticket-db at site A"), ("b2", "booth: ticket-db granted here"),
             ("b2", "pgsqld promoted on b2"), ("b2", "pgsql-ip started on b2"),
             (timeline.GRADER, "client requests answered again")]
    positions = [order.index(step) for step in steps]
    assert positions == sorted(positions), order
    assert order.index(("a2", "pgsqld demoted on a2")) < order.index(("b2", "pgsqld promoted on b2"))


def test_the_recorded_check_passed_and_saved_its_timeline() -> None:
    events = [e["event"] for e in timeline.recorded(FAULT["timeline"])]
    assert FAULT["passed"] and events[0].startswith("fault injected: revoking ticket-db at site A")
    assert "pgsqld promoted on b2" in events and events[-1] == "client requests answered again", events
