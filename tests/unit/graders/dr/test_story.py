"""What the dr fault checks add to their timelines themselves (graders/dr/story.py): the grader's view of each site
while the WAN is cut, and what it saw of a returning site, each told once per change, never every second."""

from __future__ import annotations

from typing import Any

from graders import timeline
from graders.collectors.journal import Event
from graders.dr.story import note_return, observed


def test_a_site_is_told_only_when_its_ticket_or_primary_changes() -> None:
    last: dict[str, Any] = {}
    told = observed(last, {"a": True, "b": False}, {"a": ["a1"], "b": []})
    told += observed(last, {"a": True, "b": False}, {"a": ["a1"], "b": []})  # a second later, nothing new
    told += observed(last, {"a": None, "b": True}, {"a": [], "b": []})
    told += observed(last, {"a": None, "b": True}, {"a": [], "b": ["b2"]})
    assert [e.event for e in told] == ["site A holds the ticket, primary on a1",
                                       "site B does not hold the ticket, no primary",
                                       "site A does not answer, no primary", "site B holds the ticket, no primary",
                                       "site B holds the ticket, primary on b2"]
    assert {e.node for e in told} == {timeline.GRADER}


def test_a_returning_site_is_told_once_per_thing_seen() -> None:
    events: list[Event] = []
    seen: set[str] = set()
    for _ in range(3):
        note_return(events, "a1", "has booted and answers", seen)
    note_return(events, "site A", "has booted with its cluster off (settled)", seen)
    assert [e.event for e in events] == ["a1 has booted and answers",
                                         "site A has booted with its cluster off (settled)"]
