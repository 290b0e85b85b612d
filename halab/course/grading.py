"""Grading an assignment with nbgrader (`halab grade ASSIGNMENT`, halab/command/grade.py, is its terminal
side): collect, autograde and generate_feedback in one step, then what a summary needs.

The real nbgrader commands do the work (and work on their own, as README.md shows); this adds what an
instructor would otherwise piece together: each student's score, whether their lab evidence is usable,
evidence from one lab instance handed in by several students (one of them copied it), in a classroom course
evidence from another student's lab or with a classmate's values (graders/provenance.py), and with --csv the
class's scores per assignment and lab task (halab/course/gradebook_export.py).

Autograding runs the students' code. Run by root on a course folder that belongs to another user (a
classroom's, the instructor's), the whole command runs again as that user, so a hostile submission never
runs as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.evidence import EvidenceError, load_evidence
from graders.provenance import check_provenance, roster_for
from halab.course.labgrade import LIVE_ENV
from halab.course.workspace import venv_env
from halab.errors import HalabError
from halab.host.runas import account, run_as
from halab.spec import load_spec
from halab.types import Progress

STEP_TIMEOUT_S = 3600.0  # a whole class, each notebook with its own kernel
# nbgrader warnings that are routine when grading again, not news for the instructor.
ROUTINE = ("Removing existing assignment", "Alternative text is missing")
EXPORTER = "halab.course.gradebook_export.LabTaskExport"


@dataclass(frozen=True)
class EvidenceStatus:
    student: str
    file: str
    instance: str  # "" when the file is not usable
    problem: str  # "" when it is
    flags: tuple[str, ...] = ()  # what the class roster says against it (graders/provenance.py)


def run_nbgrader(course_dir: Path, *args: str, progress: Progress, live: bool = False) -> None:
    """One nbgrader command on the course; what it warned about goes to ``progress``."""
    env = venv_env()
    env[LIVE_ENV] = "1" if live else ""
    progress(f"$ nbgrader {' '.join(args)}")
    try:
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                                capture_output=True, text=True, timeout=STEP_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise HalabError(f"nbgrader {args[0]} took more than {STEP_TIMEOUT_S:g} s") from None
    for record in notable_records(result.stderr)[-20:]:
        progress(f"  {record}")
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise HalabError(f"nbgrader {args[0]} failed (exit {result.returncode}):\n{tail}")


def notable_records(log: str) -> list[str]:
    """nbgrader's warnings and errors, each with its continuation lines (it logs every file it copies too)."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if line.startswith("["):
            records.append([line])
        elif records and line.strip():
            records[-1].append(line.strip())
    notable = ("| WARNING]", "| ERROR]", "| CRITICAL]")
    return [" ".join(r) for r in records
            if any(level in r[0] for level in notable) and not any(text in " ".join(r) for text in ROUTINE)]


def evidence_statuses(course_dir: Path, assignment: str) -> list[EvidenceStatus]:
    """Every evidence file in the collected submissions, checked as the autograder checks it."""
    found = []
    for path in sorted((course_dir / "submitted").glob(f"*/{assignment}/evidence-*.json")):
        student, lab = path.parent.parent.name, path.stem.removeprefix("evidence-")
        try:
            evidence = load_evidence(path, lab)
        except EvidenceError as exc:
            found.append(EvidenceStatus(student, path.name, "", str(exc)))
            continue
        try:
            classroom = roster_for(path)
        except HalabError as exc:
            found.append(EvidenceStatus(student, path.name, evidence.lab_instance, "", (str(exc),)))
            continue
        flags = tuple(_provenance_flags(evidence, lab, *classroom)) if classroom else ()
        found.append(EvidenceStatus(student, path.name, evidence.lab_instance, "", flags))
    return found


def _provenance_flags(evidence: Any, lab: str, roster: Any, student: str) -> list[str]:
    try:
        spec = load_spec(lab)
    except HalabError as exc:
        return [f"{student}'s evidence of lab {lab!r} could not be checked against the roster: {exc}"]
    return check_provenance(evidence, spec, student, roster).flags(student)


def shared_instances(statuses: list[EvidenceStatus]) -> dict[str, list[str]]:
    """Lab instances whose evidence several students handed in: every `halab up` has its own instance id."""
    students = defaultdict(set)
    for status in statuses:
        if status.instance:
            students[status.instance].add(status.student)
    return {instance: sorted(names) for instance, names in students.items() if len(names) > 1}


def scores(course_dir: Path, assignment: str) -> list[tuple[str, float, float]]:
    """(student, score, max score) of every submission of the assignment, from nbgrader's gradebook."""
    # Here, not at the top: nbgrader takes about 2 s to import, and every `halab` command imports this module
    # (the CLI registers `halab grade`); only a grading run needs the gradebook.
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    db_url = config.CourseDirectory.get("db_url", f"sqlite:///{course_dir / 'gradebook.db'}")
    with Gradebook(db_url, config.CourseDirectory.get("course_id", "default_course")) as gradebook:
        return sorted((s.student.id, float(s.score), float(s.max_score))
                      for s in gradebook.assignment_submissions(assignment))


def course_folder(course_dir: Path) -> Path:
    """The course folder, checked to be one (nbgrader's config in it)."""
    course_dir = course_dir.resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise HalabError(f"{course_dir} is not an nbgrader course folder (it has no nbgrader_config.py)")
    return course_dir


def grade_owner(course_dir: Path) -> int | None:
    """The user to grade as, when not the caller: the course folder's owner if root runs this on a folder of
    another user's (autograde runs the students' code, which must never run as root)."""
    owner = course_dir.stat().st_uid
    return owner if os.geteuid() == 0 and owner != 0 else None


def autograde(course_dir: Path, assignment: str, progress: Progress, live: bool = False, collect: bool = True,
              csv_file: Path | None = None) -> None:
    """nbgrader's collect (unless ``collect`` is False), autograde and generate_feedback for the assignment,
    and with ``csv_file`` the class's scores per assignment and lab task (gradebook_export.py)."""
    if collect:
        run_nbgrader(course_dir, "collect", assignment, progress=progress)
    run_nbgrader(course_dir, "autograde", assignment, "--force", progress=progress, live=live)
    run_nbgrader(course_dir, "generate_feedback", assignment, "--force", progress=progress)
    if csv_file:
        run_nbgrader(course_dir, "export", f"--exporter={EXPORTER}", "--to", str(csv_file), progress=progress)


def grade_as_owner(uid: int, course_dir: Path, assignment: str, csv_file: Path | None, options: list[str],
                   progress: Progress) -> int:
    """`halab grade` again as the course folder's owner (see the module docstring); its exit status. The CSV
    table is written by the owner into a file root made for it in a folder of root's (so that no link of the
    owner's can make root read another file), then copied where root asked for it."""
    entry = account(uid)
    progress(f"Grading as {entry.pw_name}, the owner of the course folder: autograde runs the students' code, "
             "which must not run as root.")
    with tempfile.TemporaryDirectory(prefix="halab-grade-") as scratch_dir:
        scratch = Path(scratch_dir) / "grades.csv"
        if csv_file:
            Path(scratch_dir).chmod(0o711)  # the owner may reach the file, not replace it
            scratch.touch(mode=0o600)
            os.chown(scratch, entry.pw_uid, entry.pw_gid)
        args = [assignment, "--course-dir", str(course_dir), *options, *(["--csv", str(scratch)] if csv_file else [])]
        status = run_as(uid, [sys.executable, "-m", "halab", "grade", *args], cwd=course_dir, capture=False).returncode
        if status == 0 and csv_file:
            try:
                shutil.copyfile(scratch, csv_file)
            except OSError as exc:
                raise HalabError(f"cannot write {csv_file}: {exc.strerror}") from None
            progress(f"(copied to {csv_file})")
    return status
