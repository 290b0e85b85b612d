"""The grader report in a notebook (report_html.py draws it), with the button that checks the live lab and
saves the evidence graded with the notebook."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from graders.evidence import evidence_name, write_evidence
from graders.report import Report
from halab.course import labaccess
from halab.course.labgrade import grade_lab
from halab.course.progress import ProgressError, record_lab_check
from halab.course.widgets.common import CourseWidget, guarded, message_html
from halab.course.widgets.report_html import render_report

CHECKS_TIMEOUT_S = 900.0  # fault checks kill nodes and wait for failover; slow under TCG emulation


def run_checks(lab: str) -> dict[str, Any]:
    """The full check of the live lab, through the caller's door (labaccess.check_lab): root's own lab, or a
    user's own instance of it through the lab service."""
    return labaccess.check_lab(lab).report


def check_and_save(lab: str, evidence: Path, progress: Callable[[str], None]) -> dict[str, Any]:
    """The full check of the live lab, fault checks included, saved as evidence for grading (by the student,
    as the student: a lab of the lab service is checked by the service, the file is written here)."""
    checked = labaccess.check_lab(lab, progress)
    write_evidence(evidence, checked.identity, checked.raw, Report.from_dict(checked.report))
    return checked.report


def record_progress(report: Mapping[str, Any] | None) -> str:
    """Record a live check in the user's progress file (which lab tasks passed); returns notices as HTML.

    Only checks the student runs are recorded, never a report shown from saved evidence: nbgrader re-runs
    the notebooks on the instructor's machine, whose progress this is not."""
    if not report:
        return ""
    try:
        notices = record_lab_check(report)
    except ProgressError as exc:
        return message_html(f"This check could not be saved to your progress: {exc}", "warn")
    return "".join(message_html(n, "warn") for n in notices)


def is_course_source(folder: Path) -> bool:
    """Is this an assignment folder of an nbgrader course's source/ (the instructor's notebooks)?"""
    return folder.parent.name == "source" and (folder.parent.parent / "nbgrader_config.py").is_file()


def saved_evidence_html(lab: str, evidence: Path) -> tuple[str, Mapping[str, Any] | None]:
    """What the grader will make of the evidence file: a sentence, and the report it gives (None: unusable)."""
    grade = grade_lab(lab, evidence.parent)  # exactly what the notebook's graded lab cells will compute
    if grade.report is not None and not grade.problem:
        sentence = (f"Saved in {evidence.name}. {grade.source} It is graded with this notebook when you submit "
                    "it; check again after any change to your lab.")
        return message_html(sentence, "ok"), grade.report.to_dict()
    if grade.report is None:  # a lab this halab cannot grade (yet): the button would not help
        return message_html(grade.problem, "warn"), None
    if not evidence.exists():
        return message_html(f"No evidence saved yet. When your lab is done, press the button: it runs every "
                            f"check (about a minute: one node is powered off and on) and saves {evidence.name} "
                            "next to this notebook, for grading.", "info"), None
    return message_html(f"{grade.problem} Press the button to check your lab and save it again.", "bad"), None


class ReportView(CourseWidget):
    """Shows a report; with a lab name it also offers a button that runs the graders on the live lab.

    With an evidence file (the graded lab-check cell), the button runs the full check and saves the evidence
    there, and the view opens on what is saved, so a student sees what will be graded."""

    def __init__(
        self, report: Mapping[str, Any] | None = None, lab: str | None = None, evidence: str | Path | None = None
    ) -> None:
        self.lab = lab
        # Resolved now: the kernel's working directory is the notebook's folder when the cell runs.
        self.evidence = Path(evidence).resolve() if evidence and lab else None
        in_source = self.evidence is not None and is_course_source(self.evidence.parent)
        if in_source:
            self.evidence = None
        self.out = w.HTML()
        label = f"Check lab {lab} and save evidence" if self.evidence else f"Check lab {lab}" if lab else "Check"
        self.button = w.Button(description=label, icon="check", disabled=not lab,
                               layout=w.Layout(width="auto") if self.evidence else w.Layout())
        self.button.on_click(lambda button: self.run())
        self.report: Mapping[str, Any] | None = None
        self.widget = w.VBox([self.button, self.out] if lab else [self.out])
        if report is not None:
            self.show(report)
        elif self.evidence is not None:
            self.show_saved()
        elif in_source:
            self.out.value = message_html(
                "This is the instructor's source notebook: the button checks the lab but saves no evidence here, "
                "where nbgrader would release it to every student and put it in place of theirs when grading."
            )
        elif lab:
            self.out.value = message_html(f"Press the button to grade lab '{lab}' (the same as `halab check {lab}`).")

    def show(self, report: Mapping[str, Any], note: str = "") -> None:
        @guarded(self.out)
        def update() -> None:
            self.out.value = note + render_report(report)
            self.report = report

        update()

    def show_saved(self, extra: str = "") -> None:
        @guarded(self.out)
        def update() -> None:
            assert self.lab and self.evidence
            note, report = saved_evidence_html(self.lab, self.evidence)
            if report is None:
                self.out.value = extra + note
            else:
                self.show(report, extra + note)

        update()

    def run(self, wait: bool = False) -> None:
        """Grade in a helper thread: checks can take minutes and the notebook must stay responsive."""
        if not self.lab:
            return
        lab, evidence = self.lab, self.evidence
        labs, problem = labaccess.up_labs()
        if lab not in labs:
            extra = f" ({problem})" if problem else ""
            kept = f" Your saved {evidence.name} is kept." if evidence and evidence.exists() else ""
            self.out.value = message_html(
                f"The lab '{lab}' is not up{extra}. Start it in a terminal with: halab up {lab}.{kept}", "warn"
            )
            return
        self.button.disabled = True
        self.out.value = message_html(f"Running the checks on lab '{lab}'...", "info")

        def progress(line: str) -> None:
            self.out.value = message_html(f"Running the checks on lab '{lab}': {line}", "info")

        def work() -> None:
            if evidence is None:
                report, problem = labaccess.call_with_timeout(lambda: run_checks(lab), CHECKS_TIMEOUT_S)
            else:
                report, problem = labaccess.call_with_timeout(
                    lambda: check_and_save(lab, evidence, progress), CHECKS_TIMEOUT_S
                )
            if problem:
                self.out.value = message_html(f"The checks could not run: {problem}", "bad")
            elif evidence is None:
                self.show(report or {}, record_progress(report))
            else:
                self.show_saved(record_progress(report))
            self.button.disabled = False

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        if wait:
            thread.join()


def report_view(report: Mapping[str, Any] | None = None, lab: str | None = None) -> ReportView:
    return ReportView(report, lab)


def lab_check(lab: str) -> ReportView:
    """The graded lab-check cell: check the live lab and save its evidence next to the notebook."""
    return ReportView(lab=lab, evidence=evidence_name(lab))
