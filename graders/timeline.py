"""A fault check's timeline (issue 24): what happened, where, and when, counted from the moment the fault was
injected: the nodes' own journal events (graders/collectors/journal.py) and what the grader's probe saw as a
client. Pure: the live side (graders/faults.py) gathers the events; the report, the evidence and the terminal
carry the timeline as a list of ``{"t": seconds from the fault, "node": ..., "event": ...}``."""

from __future__ import annotations

from typing import Any

from graders.collectors.journal import Event

GRADER = "grader"  # the node name of the grader's own observations (the injection, the client's requests)
BEFORE = 1.0  # seconds before the fault still shown (the journal's clock and ours may differ a little)


def build(fault_at: float, events: list[Event]) -> list[dict[str, Any]]:
    """The events from the fault on, in time order, with their time from the fault (0.1 s)."""
    timeline = [{"t": round(e.at - fault_at, 1), "node": e.node, "event": e.event}
                for e in events if e.at >= fault_at - BEFORE]
    return sorted(timeline, key=lambda entry: entry["t"])


CLIENT = ("client requests fail", "client requests answered again")  # what a probe's changes mean, by default


def probe_events(samples: list[tuple[float, bool]], started_failing: bool = False,
                 meaning: tuple[str, str] = CLIENT) -> list[Event]:
    """The client's side from the probe's samples ((time, answered)): one event at each change, so a long
    outage is two lines, not hundreds; ``meaning`` says (failing, answered again) in the probe's words."""
    events, answered = [], not started_failing
    for at, ok in samples:
        if ok != answered:
            events.append(Event(at, GRADER, meaning[1] if ok else meaning[0]))
            answered = ok
    return events


def answered_again(samples: list[tuple[float, bool]], confirmed: float) -> float | None:
    """When the client was served again after the outage that ended by ``confirmed`` (a time the grader knew the
    new holder served): the first answered sample after the last failed one at or before it. None when the
    client saw no outage before then (a seamless hand-over, or the old holder still answering): the grader's
    own confirmation is all there is."""
    failed = [at for at, ok in samples if not ok and at <= confirmed]
    if not failed:
        return None
    return next((at for at, ok in samples if ok and at > failed[-1]), None)


def recorded(value: Any) -> list[dict[str, Any]]:
    """A timeline as saved in evidence: only well-formed entries (a damaged file must not break the report)."""
    if not isinstance(value, list):
        return []
    return [{"t": float(e["t"]), "node": e["node"], "event": e["event"]} for e in value
            if isinstance(e, dict) and isinstance(e.get("t"), int | float) and not isinstance(e.get("t"), bool)
            and isinstance(e.get("node"), str) and isinstance(e.get("event"), str)]


def as_text(timeline: list[dict[str, Any]]) -> list[str]:
    """One line per event, for `halab check`: ``  +12.3 s  node1    web-ip started on node1``."""
    width = max((len(e["node"]) for e in timeline), default=0)
    return [f"{e['t']:+7.1f} s  {e['node']:<{width}}  {e['event']}" for e in timeline]
