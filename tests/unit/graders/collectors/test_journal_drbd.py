"""The journal rules for DRBD 8.4's kernel log (graders/collectors/journal.py), on lines the drbd lab's VMs wrote:
tests/fixtures/drbd/journal/kernel-tails.txt is what the break-fix recorder (tests/fixtures/scenarios_break.py)
printed of `journalctl -k -o cat | grep drbd | tail -n 8` on both VMs of each broken state, 2026-12-06 (a split
brain left StandAlone, handlers changed and adjusted, the DRBD clone stopped by Pacemaker). The tails are wrapped
here as `journalctl -o json` entries, one second apart, as the kernel's identifier logs them."""

from __future__ import annotations

import json

from graders import timeline
from graders.collectors import journal
from tests.support.paths import FIXTURES

TAILS = (FIXTURES / "drbd" / "journal" / "kernel-tails.txt").read_text().splitlines()


def as_journal(lines: list[str], start: float = 1000.0) -> str:
    return "\n".join(json.dumps({"__REALTIME_TIMESTAMP": str(int((start + i) * 1e6)), "SYSLOG_IDENTIFIER": "kernel",
                                 "MESSAGE": line}) for i, line in enumerate(lines))


def told(lines: list[str]) -> list[str]:
    return [event.event for event in journal.parse(as_journal(lines), "node2")]


def block(index: int) -> list[str]:
    """The index-th tail the recorder printed (each starts with its '--- nodeN# journalctl -k ...' line)."""
    starts = [i for i, line in enumerate(TAILS) if line.startswith("--- ")] + [len(TAILS)]
    return TAILS[starts[index] + 1:starts[index + 1]]


def test_the_split_brain_tail_tells_the_handler_and_standalone() -> None:
    victim = next(block(i) for i in range(6) if any("split-brain minor-0" in line for line in block(i)))
    assert told(victim) == ["DRBD: split-brain handler called", "DRBD r0: StandAlone"]


def test_a_resource_taken_down_tells_its_disk_detached() -> None:
    down = next(block(i) for i in range(6) if any("disk( Failed -> Diskless )" in line for line in block(i)))
    assert "DRBD drbd0: own disk Diskless" in told(down)
    assert "DRBD r0: StandAlone" in told(down)


def test_noise_tells_nothing_and_a_helper_s_exit_line_is_not_a_second_call() -> None:
    noise = [line for line in TAILS if "receiver terminated" in line or "Terminating drbd_" in line
             or "error receiving ReportState" in line or " exit code " in line]
    assert noise and told(noise) == []


def test_the_timeline_puts_the_kernel_events_in_order_from_the_fault() -> None:
    lines = [line for line in TAILS if line and not line.startswith("--- ")]
    events = journal.parse(as_journal(lines), "node1")
    built = timeline.build(1000.0, events)
    assert built and [e["t"] for e in built] == sorted(e["t"] for e in built) and built[0]["t"] >= 0
    assert all(e["node"] == "node1" and e["event"].startswith("DRBD") for e in built)
