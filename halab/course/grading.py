"""Grading an assignment with nbgrader (`halab grade ASSIGNMENT`, halab/command/grade.py, is its terminal
side): collect, autograde and generate_feedback in one step, then what a summary needs.

The real nbgrader commands do the work (and work on their own, as README.md shows); this adds what an
instructor would otherwise piece together: each student's score, whether their lab evidence is usable,
evidence from one lab instance handed in by several students (one of them copied it), in a classroom course
evidence from another student's lab or with a classmate's values (graders/provenance.py), and with --csv the
class's scores per assignment and lab task (halab/course/gradebook_export.py).

Autograding runs the students' code, and that code never runs as root nor as the instructor: root's
`halab grade` makes the course's grader account (one per course) and starts the grading broker
(halab/course/gradebox.py); nbgrader's kernels then run in a bubblewrap sandbox as that account
(halab/course/gradekernel.py). nbgrader itself runs as the course folder's owner: on a course of another
user's (a classroom's, the instructor's) the whole command runs again as that user, so root never executes
the course's nbgrader_config.py, which the owner may write. Without root there is no sandbox, and autograde
is refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.evidence import EvidenceError, load_evidence
from graders.grade import broken_by
from graders.provenance import check_provenance, roster_for
from graders.scenario import RECORD, recorded_seed
from halab.course.gradebox import BROKER_ENV, NO_BROKER, broker_for
from halab.course.labgrade import LIVE_ENV
from halab.course.workspace import venv_env
from halab.errors import HalabError
from halab.host.runas import account, run_as
from halab.spec import load_spec
from halab.types import Progress

STEP_TIMEOUT_S = 3600.0  # a whole class, each notebook with its own kernel
# On nbgrader's command line, so that they hold whatever the course's nbgrader_config.py says (an old course
# copied before the sandbox, or one its owner edited): a collect that rejects forged submissions
# (halab/course/collect.py), and autograde's preprocessors with its kernels in the sandbox and labs that halab
# solved flagged for the instructor (nbgrader's own list otherwise).
COLLECT_CLASS = "halab.course.collect.CheckedCollect"
COLLECT_OPTIONS = (f"--ExchangeFactory.collect={COLLECT_CLASS}",)
AUTOGRADE_STEPS = ("halab.course.gradekernel.SandboxedExecute", "nbgrader.preprocessors.IgnorePattern",
                   "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
                   "nbgrader.preprocessors.SaveAutoGrades", "halab.course.nbgrader_hooks.FlagSolvedLabs",
                   "nbgrader.preprocessors.AssignLatePenalties", "nbgrader.preprocessors.CheckCellMetadata")
AUTOGRADE_OPTIONS = tuple(f"--Autograde.autograde_preprocessors={step}" for step in AUTOGRADE_STEPS)
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
    broken: str = ""  # what `halab break` did to the lab (its seed's scenario), for grading the written diagnosis


LIVE_REFUSED = ("--live cannot grade in the sandbox: the students' notebooks run there without network and without "
                "the labs. Grade a lab live with `halab check LAB` on it, and the notebooks from their evidence")


def run_nbgrader(course_dir: Path, *args: str, progress: Progress) -> None:
    """One nbgrader command on the course; what it warned about goes to ``progress``."""
    env = venv_env()
    env.pop(LIVE_ENV, None)
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
        solved = [solved_flag(student, evidence)] if evidence.solved_by_halab else []
        try:
            classroom = roster_for(path)
        except HalabError as exc:
            found.append(EvidenceStatus(student, path.name, evidence.lab_instance, "", (str(exc), *solved)))
            continue
        flags = tuple(_provenance_flags(evidence, lab, *classroom)) if classroom else ()
        found.append(EvidenceStatus(student, path.name, evidence.lab_instance, "", (*solved, *flags),
                                    break_scenario(lab, evidence.raw)))
    return found


def break_scenario(lab: str, raw: dict[str, Any]) -> str:
    """The fault `halab break` gave this lab, derived from the seed its evidence recorded ("" when it was not
    broken on purpose): the student's summary says only the seed, the instructor needs the fault to grade the
    written diagnosis against it."""
    seed = recorded_seed(raw.get(RECORD))
    try:
        scenario = broken_by(load_spec(lab), raw) if seed is not None else None
    except HalabError:
        return ""
    return f"seed {seed}: {scenario.name} ({scenario.summary})" if scenario else ""


def solved_flag(student: str, evidence: Any) -> str:
    return (f"{student}'s lab {evidence.lab} was solved by halab (`halab solve`, at "
            f"{', '.join(evidence.solved_by_halab)}): its evidence shows halab's work, not only the student's")


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


def scores(course_dir: Path, assignment: str) -> list[tuple[str, float, float, bool]]:
    """(student, score, max score, needs a manual grade) of every submission of the assignment, from nbgrader's
    gradebook. A written answer (the break-fix diagnosis) scores nothing until the instructor grades it in the
    formgrader, so a summary must say that a score is not final yet."""
    # Here, not at the top: nbgrader takes about 2 s to import, and every `halab` command imports this module
    # (the CLI registers `halab grade`); only a grading run needs the gradebook.
    from nbgrader.api import Gradebook
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    db_url = config.CourseDirectory.get("db_url", f"sqlite:///{course_dir / 'gradebook.db'}")
    with Gradebook(db_url, config.CourseDirectory.get("course_id", "default_course")) as gradebook:
        return sorted((s.student.id, float(s.score), float(s.max_score), bool(s.needs_manual_grade))
                      for s in gradebook.assignment_submissions(assignment))


def course_folder(course_dir: Path) -> Path:
    """The course folder, checked to be one (nbgrader's config in it)."""
    course_dir = course_dir.resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise HalabError(f"{course_dir} is not an nbgrader course folder (it has no nbgrader_config.py)")
    return course_dir


def grade_owner(course_dir: Path) -> int | None:
    """The user to grade as, when not the caller: the course folder's owner if root runs this on a folder of
    another user's (nbgrader executes the course's nbgrader_config.py, which that user may write)."""
    owner = course_dir.stat().st_uid
    return owner if os.geteuid() == 0 and owner != 0 else None


@contextlib.contextmanager
def sandbox(course_dir: Path) -> Iterator[None]:
    """As root: the grading broker for the course (its grader account made if missing) while the block runs,
    its socket in our environment for nbgrader and `halab grade` run again as the owner. Otherwise nothing:
    a broker that root started is in the environment already, or there is none and autograde says so."""
    if os.geteuid() != 0 or os.environ.get(BROKER_ENV):
        yield
        return
    with broker_for(course_dir, course_dir.stat().st_uid) as broker:
        os.environ.update(broker.env())
        try:
            yield
        finally:
            os.environ.pop(BROKER_ENV, None)


def autograde(course_dir: Path, assignment: str, progress: Progress, collect: bool = True,
              csv_file: Path | None = None) -> None:
    """nbgrader's collect (unless ``collect`` is False), autograde and generate_feedback for the assignment,
    and with ``csv_file`` the class's scores per assignment and lab task (gradebook_export.py). Inside
    ``sandbox``: the students' notebooks run in it."""
    if not os.environ.get(BROKER_ENV):
        raise HalabError(NO_BROKER)
    if collect:
        run_nbgrader(course_dir, "collect", assignment, *COLLECT_OPTIONS, progress=progress)
    run_nbgrader(course_dir, "autograde", assignment, "--force", *AUTOGRADE_OPTIONS, progress=progress)
    run_nbgrader(course_dir, "generate_feedback", assignment, "--force", progress=progress)
    if csv_file:
        run_nbgrader(course_dir, "export", f"--exporter={EXPORTER}", "--to", str(csv_file), progress=progress)


def grade_as_owner(uid: int, course_dir: Path, assignment: str, csv_file: Path | None, options: list[str],
                   progress: Progress) -> int:
    """`halab grade` again as the course folder's owner (see the module docstring); its exit status. The CSV
    table is written by the owner into a file root made for it in a folder of root's (so that no link of the
    owner's can make root read another file), then copied where root asked for it."""
    entry = account(uid)
    progress(f"Grading as {entry.pw_name}, the owner of the course folder (root never runs the course's nbgrader "
             "config); the students' notebooks run in the sandbox.")
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
