"""The infrastructure lab's rings-cut fault check, decided on what the live side observed (boot marks before and
after, who serves): it gave full marks when the node running the service was the one fenced, and its feedback
then contradicted itself. The lab is stood in for; the verdict logic is graders/infrastructure/faults.py's own."""

from __future__ import annotations

from typing import Any

import pytest

import graders.faults
from graders.infrastructure import faults as infra_faults
from halab.spec import load_spec


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
    monkeypatch.setattr(infra_faults, "probe_http", lambda _url, timeout: {"status": 200})
    monkeypatch.setattr(graders.faults, "journal_events", lambda _lab, since, until: [])
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
