"""The virtualization fault checks' timelines (graders/virtualization/faults.py): the hypervisors' journals of a
real live migration and a real hypervisor loss (tests/fixtures/virtualization/journal/, recorded with the fault
checks themselves by `tests/fixtures/scenarios_break.py virtualization`), and the grader's ping of a real live
migration (ping-migration.txt) as the probe's side."""

from __future__ import annotations

import json
from typing import Any

import pytest

import graders.faults
from graders import timeline
from graders.collectors import guest_status, journal, ping
from graders.virtualization import faults
from halab.runtime.ssh import CommandResult
from halab.spec import load_spec
from tests.support.paths import FIXTURES

LAB = FIXTURES / "virtualization"
JOURNALS = LAB / "journal"
PING = (LAB / "ping-migration.txt").read_text()


def recorded(fault: str) -> tuple[dict[str, Any], list[journal.Event]]:
    """A recorded fault check (its outcome, with the timeline it built live) and its hypervisors' journals."""
    record = json.loads((JOURNALS / f"{fault}-fault.json").read_text())
    events = [e for node in ("hv1", "hv2")
              for e in journal.parse((JOURNALS / f"{fault}-{node}.json").read_text(), node)]
    return record, sorted(events, key=lambda e: e.at)


def in_order(told: list[tuple[str, str]], story: list[tuple[str, str]]) -> None:
    positions = [told.index(line) for line in story]
    assert positions == sorted(positions), told


def test_a_live_migration_is_told_from_both_hypervisors() -> None:
    record, events = recorded("live-migration")
    told = [(e.node, e.event) for e in events if e.at >= record["fault_at"]]
    in_order(told, [("hv2", "vm-guest1 migrating away from hv2"), ("hv1", "vm-guest1 migrated to hv1"),
                    ("hv2", "vm-guest1 stopped on hv2")])
    assert not any("fenced" in event or "started on" in event for _, event in told)  # moved, not restarted
    live = {(e["node"], e["event"]) for e in record["timeline"] if e["node"] != timeline.GRADER}
    assert live and live <= set(told)  # what the live check built, from these journals


def test_a_hypervisor_loss_is_told_from_the_fault_to_the_guest_answering_again() -> None:
    record, events = recorded("hypervisor-loss")
    told = [(e.node, e.event) for e in events if e.at >= record["fault_at"]]
    in_order(told, [("hv2", "token lost (2250 ms)"), ("hv2", "hv1 lost"), ("hv2", "fencing of hv1 requested (reboot)"),
                    ("hv2", "hv1 fenced (reboot) by hv2"), ("hv2", "vm-guest1 started on hv2"), ("hv1", "hv2 joined")])
    live = [(e["node"], e["event"]) for e in record["timeline"]]
    assert live[0] == ("grader", "fault injected: powering off hv1")
    in_order(live, [("grader", "the guest does not answer"), ("hv2", "hv1 fenced (reboot) by hv2"),
                    ("hv2", "vm-guest1 started on hv2"), ("grader", "the guest answers again")])
    answered = next(e["t"] for e in record["timeline"] if e["event"] == "the guest answers again")
    assert answered == pytest.approx(record["measurements"]["failover_seconds"], abs=0.5)


def test_the_ping_of_a_migration_gives_the_guest_silent_then_answering() -> None:
    run = ping.parse(PING)
    samples = faults.ping_samples(run, faults.PING_INTERVAL)
    events = timeline.probe_events(samples, meaning=faults.GUEST)
    assert [e.event for e in events] == ["the guest does not answer", "the guest answers again"]
    silent, again = events[0].at, events[1].at
    assert again == run.gap_after and again - silent == pytest.approx(run.downtime(faults.PING_INTERVAL), abs=0.001)


def test_steady_replies_tell_nothing() -> None:
    steady = ping.parse("PING x\n" + "".join(f"[{100 + i * 0.05:.6f}] 64 bytes from x: icmp_seq={i} ttl=64 time=1 ms\n"
                                            for i in range(40)))
    assert faults.ping_samples(steady, faults.PING_INTERVAL) == []


class FakeLab:
    """The live migration as the lab answered it: hv1 runs the guest, the move is accepted, the ping is the
    recorded one."""

    name = base = "virtualization"
    spec = load_spec("virtualization")

    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []

    def run(self, node: str, command: str, timeout: float = 30.0) -> CommandResult:
        self.commands.append((node, command))
        return CommandResult(0, PING if command.startswith("cat ") else "4242\n", "")


def test_the_live_migration_check_returns_its_timeline(monkeypatch: pytest.MonkeyPatch) -> None:
    run = ping.parse(PING)
    status = guest_status.GuestStatus("guest1", "boot-1", 30.0, "1")
    monkeypatch.setattr(faults, "_where", lambda _lab, _facts: ("vm-guest1", "hv1", "hv2"))
    monkeypatch.setattr(faults, "_guest", lambda _lab, _node: status)
    monkeypatch.setattr(faults, "_running_on", lambda _lab, node, _resource: True)
    monkeypatch.setattr(faults.time, "sleep", lambda _s: None)
    monkeypatch.setattr(faults.time, "time", lambda: run.replies[0][0])  # the fault as the ping began
    monkeypatch.setattr(graders.faults, "journal_events", lambda *_args, **_kw: [])
    lab = FakeLab()
    outcome = faults.live_migration(lab, None, lambda _m: None)  # type: ignore[arg-type]
    assert outcome.verdict.passed, outcome.verdict.feedback
    told = [(e["node"], e["event"]) for e in outcome.timeline]
    assert told == [("grader", "fault injected: live-migrating vm-guest1 to hv2 from hv1"),
                    ("grader", "the guest does not answer"), ("grader", "the guest answers again")]
    assert ("hv1", "crm_resource --clear --resource vm-guest1") in lab.commands  # restored
