"""The journal parser's keepalived and HAProxy rules (graders/collectors/journal.py), and the load-balancing fault
checks' timeline (graders/loadbalancing/faults.py builds it with graders/timeline.py), on the balancers' journals
of real fault checks: HAProxy killed on the master, Apache stopped on a web server (tests/fixtures/loadbalancing/
journal/, recorded by `python -m tests.fixtures.scenarios_break loadbalancing` on nspawn nodes, 2026-12-06)."""

from __future__ import annotations

import json

from graders import timeline
from graders.collectors import journal
from tests.support.paths import FIXTURES

JOURNALS = FIXTURES / "loadbalancing" / "journal"


def recorded(fault: str, node: str) -> list[journal.Event]:
    return journal.parse((JOURNALS / f"{fault}-{node}.json").read_text(), node)


def fault_at(fault: str) -> float:
    return float(json.loads((JOURNALS / f"{fault}-fault.json").read_text())["fault_at"])


def test_the_master_whose_haproxy_died_goes_to_fault_and_comes_back() -> None:
    told = [e.event for e in recorded("haproxy_failure", "lb1")]
    story = ["track script chk_haproxy returns 1", "track script chk_haproxy failed", "VRRP VI_WEB: FAULT",
             "track script chk_haproxy returns 0", "track script chk_haproxy succeeded", "VRRP VI_WEB: BACKUP",
             "VRRP VI_WEB: MASTER"]
    assert [line for line in told if line in story] == story, told


def test_the_backup_takes_over_and_gives_the_address_back() -> None:
    told = [e.event for e in recorded("haproxy_failure", "lb2") if e.at >= fault_at("haproxy_failure")]
    assert told == ["VRRP VI_WEB: MASTER", "VRRP VI_WEB: BACKUP"], told


def test_haproxy_tells_a_server_down_and_up_once_each() -> None:
    """HAProxy writes each change three times (its worker's warning and two log lines): one event each."""
    told = [e.event for e in recorded("web_server_failure", "lb1")]
    assert told == ["HAProxy: server app/web2 DOWN", "HAProxy: server app/web2 UP"], told


def test_access_logs_and_keepalived_data_dumps_are_noise() -> None:
    everything = (JOURNALS / "haproxy_failure-lb1.json").read_text().splitlines()
    assert len(everything) > 3 * len(recorded("haproxy_failure", "lb1"))


def test_the_timeline_of_a_killed_haproxy_tells_the_takeover_in_order() -> None:
    at = fault_at("haproxy_failure")
    injected = journal.Event(at, timeline.GRADER, "fault injected: killing HAProxy on lb1")
    probe = timeline.probe_events([(at + 0.3, False), (at + 1.2, False), (at + 2.4, True)])
    built = timeline.build(at, [injected, *recorded("haproxy_failure", "lb1"), *recorded("haproxy_failure", "lb2"),
                                *probe])
    order = [(e["node"], e["event"]) for e in built]
    steps = [(timeline.GRADER, "fault injected: killing HAProxy on lb1"), ("lb1", "VRRP VI_WEB: FAULT"),
             ("lb2", "VRRP VI_WEB: MASTER"), (timeline.GRADER, "client requests answered again"),
             ("lb1", "VRRP VI_WEB: MASTER"), ("lb2", "VRRP VI_WEB: BACKUP")]
    positions = [order.index(step) for step in steps]
    assert positions == sorted(positions), order
    assert 0 < next(e["t"] for e in built if e["event"] == "VRRP VI_WEB: FAULT") < 10
