"""The grader's report: JSON for scripts and evidence, HTML for notebooks (the terminal's table is drawn by the
CLI, halab/command/terminal.py, so that grading never needs a terminal library)."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    passed: bool
    points: int
    max_points: int
    feedback: str
    hint: str
    task: str = ""
    fault: bool = False
    # Not judged: a node's answer came back incomplete (graders/facts.py NodeUnreadable). Scores no points, as
    # nothing was shown, but is no failure of the student's: the report says to run the check again.
    unreadable: bool = False


@dataclass
class Report:
    lab: str
    checks: list[CheckResult]
    measurements: dict[str, Any] = field(default_factory=dict)
    collected_at: str = ""
    faults_run: bool = False

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def percent(self) -> float:
        return round(100.0 * self.score / self.max_score, 1) if self.max_score else 0.0

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed and not c.unreadable]

    @property
    def unreadable(self) -> list[CheckResult]:
        return [c for c in self.checks if c.unreadable]

    def only_tasks(self, tasks: tuple[str, ...] | list[str]) -> Report:
        """The report of these tasks' checks alone (a checkpoint: `halab check LAB --task T`)."""
        return Report(self.lab, [c for c in self.checks if c.task in tasks], self.measurements, self.collected_at,
                      self.faults_run)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab, "score": self.score, "max_score": self.max_score, "percent": self.percent,
            "checks": [asdict(c) for c in self.checks], "measurements": self.measurements,
            "collected_at": self.collected_at, "faults_run": self.faults_run,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        known = set(CheckResult.__dataclass_fields__)
        checks = [CheckResult(**{k: v for k, v in c.items() if k in known}) for c in data.get("checks", [])]
        return cls(data.get("lab", "?"), checks, dict(data.get("measurements", {})), data.get("collected_at", ""),
                   bool(data.get("faults_run", False)))

    def to_html(self) -> str:
        rows = []
        for c in self.checks:
            colour = "#1a7f37" if c.passed else "#9a6700" if c.unreadable else "#cf222e"
            hint = "" if c.passed or not c.hint else f"<br><i>Hint: {html.escape(c.hint)}</i>"
            rows.append(
                f"<tr><td style='color:{colour}'>{'✔' if c.passed else '?' if c.unreadable else '✘'}</td>"
                f"<td><b>{html.escape(c.title)}</b><br><code>{html.escape(c.id)}</code></td>"
                f"<td>{c.points}/{c.max_points}</td><td>{html.escape(c.feedback)}{hint}</td></tr>"
            )
        measured = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>"
                           for k, v in self.measurements.items())
        return (
            f"<div class='halab-report'><h3>{html.escape(self.lab)}: {self.score}/{self.max_score} points "
            f"({self.percent:g} %)</h3><table><tr><th></th><th>Check</th><th>Points</th><th>Feedback</th></tr>"
            + "".join(rows) + "</table>" + (f"<ul>{measured}</ul>" if measured else "") + "</div>"
        )
