"""The failover timeline drawn in the lab panel (halab/course/widgets/timeline_plot.py), from the timeline of a
real failover (tests/fixtures/clustering/journal/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graders import timeline
from graders.collectors import journal
from halab.course.widgets.report_view import ReportView
from halab.course.widgets.timeline_plot import timeline_png, timelines_html
from tests.course.helpers import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
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


@pytest.mark.browser
def test_the_timeline_in_headless_chromium(tmp_path: Path) -> None:
    """The lab panel's report, as its widget gives it to JupyterLab, drawn by headless Chromium: the timeline's
    image loads and is saved as a screenshot beside the course's browser test's (test-artifacts/)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shown = ReportView(report(recorded_timeline())).out.value
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1100, "height": 900})
        try:
            page = context.new_page()
            page.set_content(f"<html><body style='font-family:sans-serif'>{shown}</body></html>")
            image = page.locator(".halab-timeline img")
            image.wait_for(timeout=30_000)
            assert image.evaluate("img => img.complete && img.naturalWidth > 300")
            image.screenshot(path=str(ARTIFACTS / "browser-timeline.png"))
        finally:
            context.close()
    assert (ARTIFACTS / "browser-timeline.png").stat().st_size > 10_000


def test_a_guests_silence_migration_and_return_have_their_colours() -> None:
    """The virtualization lab's words (graders/virtualization/faults.py): the guest not answering in red, answering
    again in green, a live migration apart from starts and stops; recorded from a real hypervisor loss."""
    from halab.course.widgets.timeline_plot import _colour

    lost = json.loads((FIXTURES / "virtualization" / "journal" / "hypervisor-loss-fault.json").read_text())["timeline"]
    colours = {e["event"]: _colour(e["event"]) for e in lost}
    assert colours["the guest does not answer"] == colours["hv1 lost"] != colours["the guest answers again"]
    assert colours["the guest answers again"] == colours["vm-guest1 started on hv2"]
    assert _colour("vm-guest1 migrated to hv1") not in (colours["hv1 lost"], colours["vm-guest1 started on hv2"])
    assert timeline_png(lost, "hypervisor-loss").startswith(b"\x89PNG")
