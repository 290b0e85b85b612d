"""The infrastructure lab's rings-cut fault check, decided on what the live side observed (boot marks before and
after, who serves): it gave full marks when the node running the service was the one fenced, and its feedback
then contradicted itself. The lab is stood in for; the verdict logic is graders/infrastructure/faults.py's own.
Its timeline is built from the nodes' journals of a real rings cut (tests/fixtures/infrastructure/journal/,
recorded by `tests/fixtures/scenarios_break.py --lab infrastructure`), in which node2, cut off, won the race."""

from __future__ import annotations

import json
from typing import Any

import pytest

import graders.faults
from graders.collectors import journal
from graders.infrastructure import faults as infra_faults
from halab.spec import load_spec
from tests.support.paths import FIXTURES

JOURNALS = FIXTURES / "infrastructure" / "journal"
RECORDED = json.loads((JOURNALS / "rings-cut-fault.json").read_text())


def recorded_events(_lab: object, since: float, _until: float, *_where: object) -> list[journal.Event]:
    """What graders.faults.journal_events read from the nodes during the recorded rings cut (``fault_at`` there is
    when the recorder called the check, a little before its cut)."""
    return [event for node in ("node1", "node2")
            for event in journal.parse((JOURNALS / f"rings-cut-{node}.json").read_text(), node) if since <= event.at]


class FakeLab:
    name = base = "infrastructure"
    spec = load_spec("infrastructure")


def observe(monkeypatch: pytest.MonkeyPatch, holder: str, fenced: list[str]) -> dict[str, Any]:
    marks = {"node1": "boot-1", "node2": "boot-2"}
    cut: list[str] = []

    def boot_mark(_lab: object, node: str) -> str:
        return marks[node] + ("-again" if cut and node in fenced else "")

    monkeypatch.setattr(infra_faults, "ip_holder", lambda _lab: holder)
    monkeypatch.setattr(infra_faults, "boot_mark", boot_mark)
    monkeypatch.setattr(infra_faults.faults, "cut_link", lambda _lab, node, net: cut.append(f"{node}:{net}"))
    monkeypatch.setattr(infra_faults.faults, "restore", lambda _lab, node: [])
    monkeypatch.setattr(infra_faults, "restore_and_rejoin", lambda _lab, node: "")
    monkeypatch.setattr(infra_faults, "_served_by", lambda _lab, node, probe: True)
    monkeypatch.setattr(graders.faults, "probe_http", lambda _url, timeout: {"status": 200})
    monkeypatch.setattr(graders.faults, "journal_events", recorded_events)
    monkeypatch.setattr(infra_faults.time, "time", lambda: RECORDED["fault_at"])  # the fault happens as recorded
    monkeypatch.setattr(infra_faults.time, "sleep", lambda _s: None)
    return {"cut": cut}


def rings_cut() -> Any:
    from graders.facts import LabFacts

    facts = LabFacts.from_raw(FakeLab.spec, {})
    return infra_faults.rings_cut(FakeLab(), facts, lambda _m: None)  # type: ignore[arg-type]


def test_the_node_running_the_service_must_win_the_fence_race(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = observe(monkeypatch, holder="node1", fenced=["node1"])
    outcome = rings_cut()
    assert seen["cut"] == ["node2:ring0", "node2:ring1"], "the rings of the node that does not serve are cut"
    assert not outcome.verdict.passed, "full marks although the node running the service was fenced"
    text = outcome.verdict.feedback
    assert "while node1 ran the service: node2 won the fence race and fenced node1" in text
    assert "started again on node2" in text and "priority-fencing-delay" in outcome.verdict.hint
    assert outcome.measurements["fenced"] == ["node1"]


def test_the_serving_node_fencing_the_cut_off_one_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    observe(monkeypatch, holder="node1", fenced=["node2"])
    outcome = rings_cut()
    assert outcome.verdict.passed
    assert "node1, which ran the service, fenced node2 and kept serving" in outcome.verdict.feedback


@pytest.mark.parametrize(("fenced", "says"), [(["node1", "node2"], "both nodes were fenced"),
                                              ([], "nobody was fenced")])
def test_a_race_nobody_or_everybody_wins_fails(monkeypatch: pytest.MonkeyPatch, fenced: list[str], says: str) -> None:
    observe(monkeypatch, holder="node1", fenced=fenced)
    monkeypatch.setattr(infra_faults, "_wait", lambda condition, seconds, interval=0.25: 1.0 if fenced else None)
    outcome = rings_cut()
    assert not outcome.verdict.passed and says in outcome.verdict.feedback


def test_the_rings_cut_carries_the_races_timeline_from_the_nodes_journals(monkeypatch: pytest.MonkeyPatch) -> None:
    observe(monkeypatch, holder="node1", fenced=RECORDED["measurements"]["fenced"])
    outcome = rings_cut()
    told = [(entry["node"], entry["event"]) for entry in outcome.timeline]
    assert told[0] == ("grader", "fault injected: cutting both rings of node2")
    story = [("node2", "knet link 0 to node id 1 down"), ("node2", "knet link 1 to node id 1 down"),
             ("node2", "fencing of node1 requested (reboot)"), ("node1", "fencing of node2 requested (reboot)"),
             ("node2", "node1 fenced (reboot) by node2"), ("node2", "web-server started on node2")]
    assert [told.index(line) for line in story] == sorted(told.index(line) for line in story), told
    assert [e["t"] for e in outcome.timeline] == sorted(e["t"] for e in outcome.timeline)
    live = {(e["node"], e["event"]) for e in RECORDED["timeline"] if e["node"] != "grader"}
    assert live <= set(told)  # what the live check built then, from the same journals
    assert "node2 won the fence race and fenced node1" in outcome.verdict.feedback
