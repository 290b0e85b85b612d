"""Which fault checks a live check runs: all, none (--no-faults), or a task's own (--task); the lab and the
collected facts are stood in for by recorded ones, the selection is graders/live.py's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graders import live
from graders.checks import FaultOutcome, Verdict
from halab.spec import load_spec

RAW = json.loads((Path(__file__).parents[2] / "fixtures" / "clustering" / "solved-3node.json").read_text())


class FakeLab:
    name = base = "clustering3"
    spec = load_spec("clustering3")


@pytest.mark.parametrize(("faults", "ran", "in_report"), [
    (True, ["failover", "quorum-loss"], {"failover", "quorum-loss"}),
    (False, [], set()),
    ((), [], set()),
    (("quorum-loss",), ["quorum-loss"], {"quorum-loss"}),
])
def test_the_fault_checks_asked_for_run_and_no_others(monkeypatch: pytest.MonkeyPatch, faults: Any,
                                                      ran: list[str], in_report: set[str]) -> None:
    called: list[str] = []

    def run_fault(_kind: str, check_id: str, *_args: Any) -> FaultOutcome:
        called.append(check_id)
        return FaultOutcome(Verdict(True, "stood in"))

    monkeypatch.setattr(live, "collect_raw", lambda _lab: json.loads(json.dumps(RAW)))
    monkeypatch.setattr(live, "run_fault", run_fault)
    report, _ = live.grade_live(FakeLab(), faults=faults)  # type: ignore[arg-type]
    assert called == ran
    assert {c.id for c in report.checks if c.fault} == in_report
