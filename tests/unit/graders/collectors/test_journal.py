"""The journal parser (graders/collectors/journal.py) and the timeline it feeds (graders/timeline.py), on the
journals of a real failover: the node holding the floating IP powered off (tests/fixtures/clustering/journal/,
recorded by tests/fixtures/scenarios_break.py)."""

from __future__ import annotations

import json

from graders import timeline
from graders.collectors import journal
from tests.support.paths import FIXTURES

JOURNALS = FIXTURES / "clustering" / "journal"
FAULT = json.loads((JOURNALS / "failover-fault.json").read_text())


def events(node: str) -> list[journal.Event]:
    return journal.parse((JOURNALS / f"failover-{node}.json").read_text(), node)


def test_the_survivor_tells_the_failover_in_order() -> None:
    assert FAULT["node"] == "node2"
    told = [e.event for e in events("node1") if e.at >= FAULT["fault_at"]]
    story = ["knet link 0 to node id 2 down", "token lost (2250 ms)", "membership: 1 node(s) (1)", "node2 lost",
             "fencing of node2 requested (reboot)", "fence-lab did reboot node2", "node2 fenced (reboot) by node1",
             "web-ip started on node1", "web-server started on node1", "node2 joined"]
    positions = [told.index(line) for line in story]
    assert positions == sorted(positions), told


def test_the_fenced_node_tells_its_return() -> None:
    told = [e.event for e in events("node2")]
    assert "quorum held" in told and "node1 joined" in told


def test_the_timeline_counts_from_the_fault_and_mixes_nodes_and_the_probe() -> None:
    fault_at = FAULT["fault_at"]
    probe = timeline.probe_events([(fault_at + 0.5, False), (fault_at + 1.0, False), (fault_at + 9.5, True)])
    built = timeline.build(fault_at, events("node1") + events("node2") + probe)
    assert [e["t"] for e in built] == sorted(e["t"] for e in built)
    assert all(e["t"] >= -timeline.BEFORE for e in built)
    client = [(e["t"], e["event"]) for e in built if e["node"] == timeline.GRADER]
    assert client == [(0.5, "client requests fail"), (9.5, "client requests answered again")]
    fenced = next(e["t"] for e in built if e["event"] == "node2 fenced (reboot) by node1")
    started = next(e["t"] for e in built if e["event"] == "web-server started on node1")
    assert 0 < fenced < started < 30
    assert any(line.strip().startswith("+") and "token lost" in line for line in timeline.as_text(built))


def test_garbage_and_noise_are_skipped() -> None:
    lines = ["not json", "[1, 2]", json.dumps({"MESSAGE": "no time"}),
             json.dumps({"__REALTIME_TIMESTAMP": "1000000", "SYSLOG_IDENTIFIER": "corosync",
                         "MESSAGE": [91, 84, 79, 84, 69, 77, 93, 32] + list(b"Token has not been received in 9 ms")}),
             json.dumps({"__REALTIME_TIMESTAMP": "2000000", "SYSLOG_IDENTIFIER": "sshd", "MESSAGE": "Node x state is "
                         "now lost"})]
    assert journal.parse("\n".join(lines), "n") == [journal.Event(1.0, "n", "token lost (9 ms)")]


def test_a_damaged_recorded_timeline_keeps_only_its_good_entries() -> None:
    good = {"t": 1.5, "node": "node1", "event": "node2 lost"}
    assert timeline.recorded([good, {"t": "1"}, {"t": True, "node": "a", "event": "b"}, "x"]) == [good]
    assert timeline.recorded("nope") == []


def test_the_report_carries_a_fault_checks_timeline_and_only_there() -> None:
    from graders.grade import evaluate
    from halab.spec import load_spec

    raw = json.loads((FIXTURES / "clustering" / "solved.json").read_text())
    entry = {"t": 8.1, "node": "node1", "event": "node2 fenced (reboot) by node1"}
    raw["faults"] = {"failover": {"passed": True, "feedback": "ok", "measurements": {}, "timeline": [entry, 7]}}
    checks = evaluate(load_spec("clustering"), raw).to_dict()["checks"]
    assert next(c for c in checks if c["id"] == "failover")["timeline"] == [entry]
    assert all("timeline" not in c for c in checks if not c["fault"])
