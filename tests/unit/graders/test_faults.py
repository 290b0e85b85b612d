"""graders/faults.py's explanation of a failover that did not happen, on what crm_mon really printed: node1's
crm_mon XML in the facts a student's drbd lab gave at the start of a full check
(tests/fixtures/drbd/split-brain-failed-monitor.json, the raw facts of that check's evidence file, a walk-through
of notebook 4, 2026-12-06): a failed monitor of drbd-r0 on node2 at 21:54:22, left uncleaned after part 2's
split brain. The check's failover then failed (Pacemaker restarted DRBD on node2 in the middle of it), and its
feedback said only "failed actions: drbd-r0_monitor_29000 on node2: ok"."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from graders.collectors import crm_mon
from graders.faults import why_not
from tests.support.paths import FIXTURES

RAW = json.loads((FIXTURES / "drbd" / "split-brain-failed-monitor.json").read_text())
STATUS = crm_mon.parse(RAW["nodes"]["node1"]["commands"]["crm_mon"]["stdout"])


def at(clock: str) -> float:
    return datetime.fromisoformat(f"2026-12-06T{clock}+00:00").astimezone(UTC).timestamp()


def test_the_failure_and_its_time_are_read() -> None:
    assert STATUS.failures == ["drbd-r0_monitor_29000 on node2: ok"]
    assert STATUS.failed_at[STATUS.failures[0]] == at("21:54:22")


def test_a_failure_from_before_the_fault_is_named_as_left_uncleaned() -> None:
    said = why_not(STATUS, "node2", "node1", since=at("21:58:40"))
    assert "recorded before the fault check began" in said and "crm resource cleanup" in said
    assert "drbd-r0_monitor_29000 on node2" in said


def test_a_failure_during_the_fault_is_only_listed() -> None:
    listed = "failed actions: drbd-r0_monitor_29000 on node2: ok"
    assert why_not(STATUS, "node2", "node1", since=at("21:54:00")) == listed
    assert why_not(STATUS, "node2", "node1") == listed
