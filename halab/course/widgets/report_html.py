"""The grader report as HTML: each check passed or not, its points, feedback, and a hint to open (or, for
graded feedback, shown). Drawn by the lab-check button (report_view.py) and the graded lab cells
(halab/course/labgrade.py)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from halab.course.hamath import InputError
from halab.course.widgets.common import badge, table_html


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"The report's {name} is not a number: {value!r}.")
    return float(value)


def render_report(report: Mapping[str, Any], fold_hints: bool = True) -> str:
    """HTML for a report dict as `halab check --json` prints it; InputError if it is not one."""
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
    rows = [_check_row(check, fold_hints) for check in checks]
    body = table_html(["", "Check", "Points", "Feedback"], rows, raw_columns=[0, 3])
    measurements = report.get("measurements") or {}
    if isinstance(measurements, Mapping) and measurements:
        body += "<b>Measurements</b>" + table_html(["Name", "Value"], sorted(measurements.items()))
    return header + body


def _check_row(check: Any, fold_hints: bool) -> tuple[str, str, str, str]:
    if not isinstance(check, Mapping):
        raise InputError(f"A check in the report is not a dictionary: {check!r}.")
    passed = bool(check.get("passed"))
    feedback = html.escape(str(check.get("feedback") or ""))
    hint = check.get("hint")
    if hint and not passed and fold_hints:
        # Hints are folded away so a student can try once more before reading them.
        feedback += f"<details><summary>Hint</summary>{html.escape(str(hint))}</details>"
    elif hint and not passed:  # graded feedback: nothing left to try, and a printout shows no folded text
        feedback += f"<br><i>Hint: {html.escape(str(hint))}</i>"
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
