"""The failover timeline drawn in the lab panel (halab/course/widgets/timeline_plot.py), from the timeline of a
real failover (tests/fixtures/clustering/journal/)."""

from __future__ import annotations

import json

from graders import timeline
from graders.collectors import journal
from halab.course.widgets.report_view import ReportView
from halab.course.widgets.timeline_plot import timeline_png, timelines_html
from tests.support.paths import FIXTURES

JOURNALS = FIXTURES / "clustering" / "journal"


def recorded_timeline() -> list[dict]:
    fault_at = json.loads((JOURNALS / "failover-fault.json").read_text())["fault_at"]
    events = [e for node in ("node1", "node2") for e in journal.parse((JOURNALS / f"failover-{node}.json").read_text(),
                                                                       node)]
    return timeline.build(fault_at, events)


def report(entries: list[dict]) -> dict:
    return {"lab": "clustering", "score": 10, "max_score": 10, "checks": [
        {"id": "stonith", "title": "Fencing", "passed": True, "points": 5, "max_points": 5, "feedback": "",
         "hint": "", "fault": False},
        {"id": "failover", "title": "Power loss", "passed": True, "points": 5, "max_points": 5, "feedback": "ok",
         "hint": "", "fault": True, "timeline": entries}]}


def test_the_timeline_is_a_png() -> None:
    assert timeline_png(recorded_timeline(), "failover").startswith(b"\x89PNG")


def test_the_lab_panel_shows_a_fault_checks_timeline_and_nothing_without_one() -> None:
    shown = ReportView(report(recorded_timeline())).out.value
    assert shown.count("<img") == 1 and "What happened during: Power loss" in shown
    assert timelines_html(report([])) == ""
    assert timelines_html(report([{"t": "bad"}])) == ""
