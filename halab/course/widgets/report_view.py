"""The grader report as a table: each check passed or not, its points, feedback, and a hint to open."""

from __future__ import annotations

import html
import threading
from collections.abc import Mapping
from typing import Any

import ipywidgets as w

from halab.course import labaccess
from halab.course.hamath import InputError
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html, table_html

CHECKS_TIMEOUT_S = 900.0  # fault checks kill nodes and wait for failover; slow under TCG emulation


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"The report's {name} is not a number: {value!r}.")
    return float(value)


def render_report(report: Mapping[str, Any]) -> str:
    """HTML for a report dict as graders.run_checks returns it; InputError if it is not one."""
    if not isinstance(report, Mapping):
        raise InputError("A grader report is a dictionary with 'lab', 'score', 'max_score' and 'checks'.")
    score, max_score = _number(report.get("score"), "score"), _number(report.get("max_score"), "max_score")
    checks = report.get("checks")
    if not isinstance(checks, list):
        raise InputError("The report has no list of 'checks'.")
    percent = 100 * score / max_score if max_score else 0.0
    header = (
        f"<h4 style='margin:4px 0'>Lab {html.escape(str(report.get('lab', '?')))}: "
        f"{score:g} / {max_score:g} points</h4>"
        f"<div style='background:#f2f4f7;width:320px;height:10px;border-radius:5px'>"
        f"<div style='background:#1b7f3b;width:{percent:.0f}%;height:10px;border-radius:5px'></div></div>"
    )
    rows = [_check_row(check) for check in checks]
    body = table_html(["", "Check", "Points", "Feedback"], rows, raw_columns=[0, 3])
    measurements = report.get("measurements") or {}
    if isinstance(measurements, Mapping) and measurements:
        body += "<b>Measurements</b>" + table_html(["Name", "Value"], sorted(measurements.items()))
    return header + body


def _check_row(check: Any) -> tuple[str, str, str, str]:
    if not isinstance(check, Mapping):
        raise InputError(f"A check in the report is not a dictionary: {check!r}.")
    passed = bool(check.get("passed"))
    feedback = html.escape(str(check.get("feedback") or ""))
    hint = check.get("hint")
    if hint and not passed:
        # Hints are folded away so a student can try once more before reading them.
        feedback += f"<details><summary>Hint</summary>{html.escape(str(hint))}</details>"
    points = f"{check.get('points', 0):g} / {check.get('max_points', 0):g}" if _numeric_points(check) else "?"
    return (
        badge("✔ passed", "ok") if passed else badge("✘ failed", "bad"),
        str(check.get("title") or check.get("id") or "?"),
        points,
        feedback,
    )


def _numeric_points(check: Mapping[str, Any]) -> bool:
    return all(
        isinstance(check.get(k, 0), int | float) and not isinstance(check.get(k, 0), bool)
        for k in ("points", "max_points")
    )


def run_checks(lab: str) -> dict[str, Any]:
    # Imported here: the graders package is written separately and may be missing or broken.
    from graders import run_checks as grader_run_checks

    return grader_run_checks(lab)


class ReportView(CourseWidget):
    """Shows a report; with a lab name it also offers a button that runs the graders on the live lab."""

    def __init__(self, report: Mapping[str, Any] | None = None, lab: str | None = None) -> None:
        self.lab = lab
        self.out = w.HTML()
        self.button = w.Button(description=f"Check lab {lab}" if lab else "Check", icon="check", disabled=not lab)
        self.button.on_click(lambda button: self.run())
        self.report: Mapping[str, Any] | None = None
        self.widget = w.VBox([self.button, self.out] if lab else [self.out])
        if report is not None:
            self.show(report)
        elif lab:
            self.out.value = message_html(f"Press the button to grade lab '{lab}' (the same as `halab check {lab}`).")

    def show(self, report: Mapping[str, Any]) -> None:
        @guarded(self.out)
        def update() -> None:
            self.out.value = render_report(report)
            self.report = report

        update()

    def run(self, wait: bool = False) -> None:
        """Grade in a helper thread: checks can take minutes and the notebook must stay responsive."""
        if not self.lab:
            return
        lab = self.lab
        labs, problem = labaccess.up_labs()
        if lab not in labs:
            extra = f" ({problem})" if problem else ""
            self.out.value = message_html(
                f"The lab '{lab}' is not up{extra}. Start it in a terminal with: halab up {lab}", "warn"
            )
            return
        self.button.disabled = True
        self.out.value = message_html(f"Running the checks on lab '{lab}'...", "info")

        def work() -> None:
            report, problem = labaccess.call_with_timeout(lambda: run_checks(lab), CHECKS_TIMEOUT_S)
            if problem:
                self.out.value = message_html(f"The checks could not run: {problem}", "bad")
            else:
                self.show(report or {})
            self.button.disabled = False

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        if wait:
            thread.join()


def report_view(report: Mapping[str, Any] | None = None, lab: str | None = None) -> ReportView:
    return ReportView(report, lab)
