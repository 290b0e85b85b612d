"""The lab items of the nbgrader assignments: graded from the evidence file, or live when the instructor asks.

While the student works, the lab-check cell (widgets.report_view.lab_check) runs the live grader and saves
evidence-<lab>.json next to the notebook; nbgrader collects it with the submission. Each lab test cell then
calls `lab_score(lab, points, task)`: it shows that task's checks with their feedback and hints and returns
the points earned, which nbgrader takes as the cell's partial credit (a test cell whose output is a number
scores that number). No exception escapes, so every problem reaches the feedback as a sentence.

At autograde time no lab is reachable, so the checks run on the evidence. An instructor who can reach the
lab (say, grading on the machine where it runs) sets HALAB_GRADE_LIVE=1 to grade it live instead.
"""

from __future__ import annotations

import contextlib
import functools
import html
import io
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from graders.evidence import Evidence, evidence_name, failed_report, grade_evidence, load_evidence, retry_hint
from graders.provenance import check_provenance, roster_for
from graders.report import Report
from halab import paths
from halab.errors import HalabError
from halab.spec import LabSpec, load_spec

LIVE_ENV = "HALAB_GRADE_LIVE"


@dataclass(frozen=True)
class LabGrade:
    lab: str
    report: Report | None  # None: this halab cannot grade the lab at all
    source: str  # where the verdicts come from, one sentence
    problem: str = ""  # why the lab items score zero; empty when the report is usable
    notes: tuple[str, ...] = ()
    hint: str = ""  # what to do about the problem


# One grading per lab and evidence file per kernel: a notebook has a test cell per task, and a live grading
# (fault checks included) must run once, not once per cell.
_cache: dict[tuple[object, ...], LabGrade] = {}


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """nbgrader scores a test cell zero if it writes anything to stderr: keep import warnings out of it."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def live_requested() -> bool:
    return os.environ.get(LIVE_ENV, "").strip().lower() not in ("", "0", "no", "false")


def grade_lab(lab: str, folder: Path | None = None) -> LabGrade:
    """The grade of a lab for the notebook in `folder` (the working directory: the notebook's folder)."""
    path = (folder or Path.cwd()) / evidence_name(lab)
    try:
        stat = path.stat()
        stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    key = (lab, str(path), stamp, live_requested())
    if key not in _cache:
        with quiet():
            try:
                _cache[key] = _grade(lab, path, live_requested())
            except Exception as exc:  # noqa: BLE001 - a grader bug: zero with the reason, not a traceback
                problem = f"The grader failed ({type(exc).__name__}: {exc}); please report it to your instructor."
                return LabGrade(lab, None, "", problem)
    return _cache[key]


def _grade(lab: str, path: Path, live: bool) -> LabGrade:
    try:
        spec = load_spec(lab)
    except HalabError as exc:
        return LabGrade(lab, None, "", f"This version of halab cannot grade lab '{lab}' ({exc}).")
    if not spec.checks:
        return LabGrade(lab, None, "", f"Lab '{lab}' has no checks in this version of halab yet, so it cannot "
                                       "be graded.")
    notes: tuple[str, ...] = ()
    if live:
        graded = _grade_live(spec, path)
        if isinstance(graded, LabGrade):
            return graded
        notes = (f"Live grading was asked for ({LIVE_ENV}), but {graded}: graded from the evidence instead.",)
    result = grade_evidence(path, spec)
    if result.problem is not None or result.evidence is None:
        return LabGrade(lab, result.report, "no usable evidence", str(result.problem), notes, retry_hint(lab))
    whose, more = _provenance(path, result.evidence, spec)
    if whose:
        return LabGrade(lab, failed_report(spec, whose, retry_hint(lab)), "evidence of another lab", whose,
                        notes + more, retry_hint(lab))
    return LabGrade(lab, result.report, f"Graded from the {result.evidence.describe()}.", "", notes + more)


def _provenance(path: Path, evidence: Evidence, spec: LabSpec) -> tuple[str, tuple[str, ...]]:
    """In a classroom course (a roster beside the collected submissions): why the evidence is not the student's
    own lab's ("" if it is), and notes on a classmate's values found in it (graders/provenance.py)."""
    try:
        found = roster_for(path)
    except HalabError as exc:
        return "", (f"The class roster could not be read ({exc}), so it was not checked whose lab this was.",)
    if found is None:
        return "", ()
    roster, student = found
    provenance = check_provenance(evidence, spec, student, roster)
    return provenance.wrong_lab, tuple(provenance.notes())


def _grade_live(spec: LabSpec, path: Path) -> LabGrade | str:
    """Grade the lab on its live nodes; a sentence saying why not if it is not reachable from here."""
    # Here, not at the top: grading from evidence (the rule) needs no lab runtime, and notebooks are graded
    # where it may be missing (halab/course/labaccess.py); live grading is asked for (HALAB_GRADE_LIVE).
    from graders.live import grade_live
    from halab.lab import Lab

    lab = Lab(spec.name)
    if not lab.is_up():
        return f"lab '{spec.name}' is not up on this machine"
    try:
        instance = lab.state().instance
        report, _ = grade_live(lab, faults=True)
    except Exception as exc:  # noqa: BLE001 - an unreachable lab falls back to the evidence, with the reason
        return f"lab '{spec.name}' could not be checked ({exc})"
    finally:
        lab.close()
    notes: tuple[str, ...] = ()
    with contextlib.suppress(Exception):
        saved = load_evidence(path, spec.name)
        if saved.lab_instance != instance:
            notes = (f"The submitted evidence comes from another instance of lab '{spec.name}' "
                     f"({saved.lab_instance[:12]}) than the live one.",)
    return LabGrade(spec.name, report, f"Graded live on lab '{spec.name}' (instance {instance[:12]}).", "", notes)


def task_report(grade: LabGrade, task: str | Sequence[str] | None) -> tuple[Report | None, str]:
    """The checks of one task, of several (a list), or of all (None), and a heading; (None, why) if there are
    none."""
    if grade.report is None:
        return None, grade.problem
    tasks = None if task is None else [task] if isinstance(task, str) else list(task)
    known = {c.task for c in grade.report.checks}
    unknown = [t for t in tasks or [] if t not in known]
    if unknown or tasks == []:
        return None, (f"Lab '{grade.lab}' has no task '{', '.join(unknown)}': the notebook does not match the lab "
                      "(a course bug).")
    checks = [c for c in grade.report.checks if tasks is None or c.task in tasks]
    titles = [_task_title(grade.lab, t) for t in tasks or []]
    title = grade.lab if tasks is None else f"{grade.lab}, task{'s' if len(titles) > 1 else ''}: {'; '.join(titles)}"
    measured = grade.report.measurements if any(c.fault for c in checks) else {}
    return Report(title, checks, measured), ""


def _task_title(lab: str, task: str) -> str:
    return _task_titles(lab, str(paths.labs_dir())).get(task, task)


@functools.cache
def _task_titles(lab: str, _labs_dir: str) -> dict[str, str]:
    """The lab's task titles, read once per kernel and labs folder (a notebook has a graded cell per task)."""
    try:
        return {t.id: t.title for t in load_spec(lab).tasks}
    except HalabError:
        return {}


def lab_score(lab: str, points: float, task: str | Sequence[str] | None = None) -> float:
    """For a lab test cell worth `points`: show the task's checks and return the points earned (0 to points).

    The fraction of the task's check points that passed, scaled to the cell's points (a cell worth its task's
    points in the lab spec scores exactly the grader's points). `task` may be a list of tasks graded together,
    or None for the whole lab."""
    # Here, not at the top: halab.course.widgets imports ipywidgets and every widget, which only a graded cell
    # that shows its result needs (not `halab grade`'s summaries, nor the lab-check button's grade_lab).
    from halab.course.widgets.common import message_html
    from halab.course.widgets.report_html import render_report

    grade = grade_lab(lab)
    report, why = task_report(grade, task)
    parts = [message_html(note, "warn") for note in grade.notes]
    earned = 0.0
    if grade.problem or report is None:
        # One reason for the whole item: a table repeating it on every check would only bury it.
        parts.append(message_html(f"{grade.problem or why} This item scores zero.", "bad", "Not graded:"))
        if grade.hint:
            parts.append(message_html(grade.hint, "info", "What to do:"))
    else:
        parts += [message_html(grade.source, "info"), render_report(report.to_dict(), fold_hints=False)]
        if report.max_score:
            earned = min(float(points), round(float(points) * report.score / report.max_score, 2))
    _display("".join(parts))
    return earned


def _display(markup: str) -> None:
    # Here, not at the top: `halab grade` imports this module (for its summaries) and never displays anything.
    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is not None:
        display(HTML(markup))
    else:  # plain Python (a script): the text without markup
        print(html.unescape(re.sub(r"<[^>]+>", " ", markup)))
