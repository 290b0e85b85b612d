"""`halab classroom init` and `add-students`: the classroom's folder, the instructor's course, the exchange,
and the students (accounts, workspaces, lab slots, gradebook), each step all or nothing.

Everything is checked before anything is made; a step that fails after that undoes what it made (accounts,
slots, workspaces), so a failed command leaves the classroom as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from graders.provenance import ROSTER_FILE, Roster
from halab import paths
from halab.classroom import accounts, workspaces
from halab.classroom.hubconfig import write_hub_files
from halab.classroom.model import Classroom, Student, load_classroom
from halab.classroom.roster import RosterEntry
from halab.course import workspace
from halab.course.gradebox import ensure_grader
from halab.course.workspace import COURSE_ID, NOT_COPIED, STUDENT_CONFIG, venv_env
from halab.errors import HalabError
from halab.host.runas import run_as, write_private_as
from halab.runtime.quotas import config_path, policy_says
from halab.runtime.slots import assign_slot, release_slot, slot_held, slot_of
from halab.types import Progress

# nbgrader's own modes for an exchange (nbgrader/exchange/default/release_assignment.py, release_feedback.py):
# made here by the instructor's account up front, so that no student can take the course's folders first.
EXCHANGE_MODES = {"": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
CLASSROOM_CONFIG = '''
# halab classroom: this class's exchange on this machine (written by `halab classroom`).
c.Exchange.root = {exchange!r}
'''
GRADEBOOK_STUDENTS = """
import json, sys
from nbgrader.apps import NbGraderAPI
from traitlets.config.loader import PyFileConfigLoader
api = NbGraderAPI(config=PyFileConfigLoader("nbgrader_config.py", path=".").load_config())
with api.gradebook as gradebook:
    for student in json.loads(sys.stdin.read()):
        if sys.argv[1] == "add":
            gradebook.update_or_create_student(student.pop("id"), **student)
        else:
            gradebook.remove_student(student["id"])
"""


# -- init ---------------------------------------------------------------------------------------------------
def init(root: Path, instructor: str, course_id: str, home_base: str, progress: Progress) -> list[str]:
    """Make the classroom; the lines to show the instructor."""
    root = root.resolve()
    if (root / "classroom.json").exists():
        raise HalabError(f"{root} holds a classroom already (instructor {load_classroom(root).instructor}); to start "
                         "over, remove that folder (and its students' accounts)")
    if root.exists() and any(root.iterdir()):
        raise HalabError(f"{root} is not empty; give an empty or new folder (--dir)")
    plan = accounts.plan_account(instructor, str(Path(home_base) / instructor), "instructor", None)
    classroom = Classroom(root, course_id, instructor, home_base)
    made_root, made_account = not root.exists(), False
    try:
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        lines = []
        if plan.uid is None:
            progress(f"Making the instructor's account {instructor}...")
            _uid, password = accounts.make_account(plan, "halab instructor")
            made_account = True
            accounts.append_passwords(classroom.passwords, instructor, [(instructor, password)])
            lines.append(f"Made the account {instructor}; its password is in {classroom.passwords}.")
        progress("Copying the course for the instructor...")
        _course_copy(classroom)
        _exchange(classroom)
        classroom.hub.mkdir(mode=0o700)
        write_hub_files(classroom)
        classroom.save()
        grader = ensure_grader(classroom.course)
        lines.append(f"Students' notebooks are graded in a sandbox as {grader.pw_name} (halab grade, as root).")
    except BaseException:
        if made_account:
            accounts.remove_account(instructor)
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        else:
            for child in root.iterdir():
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        raise
    lines.append(f"Classroom in {root}: course {course_id!r} in {classroom.course} (the instructor's), exchange "
                 f"{classroom.exchange}. Next: halab classroom add-students ROSTER.csv")
    return lines + _no_solve() + _readable_solutions()


def _no_solve() -> list[str]:
    """Students may not have halab solve their labs: [policy] solve = false in the lab service's config (added to
    the file, whose other settings stay as they are)."""
    path = config_path()
    said = policy_says(path, "solve")
    if said is False:
        return []
    if said is True or (path.exists() and "policy" in tomllib.loads(path.read_text())):
        return [f"Warning: {path} has a [policy] section; add `solve = false` to it, or students may `halab solve` "
                "their labs (restart the lab service afterwards)"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as config:
        config.write("\n[policy]\n# halab classroom init: students configure their labs themselves\nsolve = false\n")
    return [f"Students may not `halab solve` their labs ([policy] solve = false in {path}; the lab service reads it "
            "when it starts)."]


def _readable_solutions() -> list[str]:
    """A warning if every user of the host can read the course's solutions in the checkout (the classroom's
    workspaces are made from the instructor's copy, so nothing of the classroom needs them readable)."""
    source = paths.course_dir() / "source"
    if source.is_dir() and source.stat().st_mode & 0o005:
        return [f"Warning: every user of this host can read the solutions in {source}; on a class's server run: "
                f"chmod -R o-rwx {source}"]
    return []


def _course_copy(classroom: Classroom) -> None:
    owner = pwd.getpwnam(classroom.instructor)
    shutil.copytree(paths.course_dir(), classroom.course,
                    ignore=shutil.ignore_patterns(*NOT_COPIED, "evidence-*.json", "__pycache__"))
    with (classroom.course / "nbgrader_config.py").open("a") as config:
        config.write(CLASSROOM_CONFIG.format(exchange=str(classroom.exchange)))
    accounts.chown_tree(classroom.course, owner.pw_uid, owner.pw_gid)
    classroom.course.chmod(0o700)


def _exchange(classroom: Classroom) -> None:
    owner = pwd.getpwnam(classroom.instructor)
    classroom.exchange.mkdir()
    classroom.exchange.chmod(0o1777)  # anyone may make their folder; nobody may remove another's (sticky)
    course = classroom.exchange / classroom.course_id
    for name, mode in EXCHANGE_MODES.items():
        folder = course / name if name else course
        folder.mkdir()
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        folder.chmod(mode)


# -- add-students -------------------------------------------------------------------------------------------
def add_students(classroom: Classroom, entries: list[RosterEntry], progress: Progress) -> list[str]:
    """Add the roster's students that are not in the class yet; the lines to show the instructor."""
    new = [e for e in entries if classroom.student(e.user) is None]
    if any(e.user == classroom.instructor for e in entries):
        raise HalabError(f"{classroom.instructor} is the instructor and cannot be a student too")
    plans = [accounts.plan_account(e.user, e.home or str(Path(classroom.home_base) / e.user), "student",
                                   "the roster gives" if e.home else "this classroom's accounts have") for e in new]
    if not new:
        return [f"Every one of the {len(entries)} students is in the class already; nothing to do."]
    source = pristine_course()
    names = workspace.assignments(source)
    progress(f"Making the student version of {len(names)} assignments (nbgrader generate_assignment)...")
    with workspace.generated(source, names) as generated, workspaces.readable_release(generated) as release, \
            _undo_on_failure() as undo:
        added, passwords = [], []
        for entry, plan in zip(new, plans, strict=True):
            progress(f"Adding {entry.user}...")
            student, password = _add_student(classroom, entry, plan, release, undo)
            added.append(student)
            if password:
                passwords.append((entry.user, password))
        _gradebook_students(classroom, added, "add")
        undo.add(lambda: _gradebook_students(classroom, added, "remove"))
        classroom.students += added
        _write_roster(classroom)
        accounts.append_passwords(classroom.passwords, classroom.instructor, passwords)
        classroom.save()
    lines = [f"{s.user}: slot {s.slot} (lab addresses 10.{42 + s.slot}.0.0/16), workspace {s.workspace}"
             for s in added]
    if len(new) < len(entries):
        lines.append(f"{len(entries) - len(new)} of the roster's students are in the class already: left as they are.")
    if passwords:
        lines.append(f"First passwords of the {len(passwords)} new accounts: {classroom.passwords} (mode 0600, for "
                     f"{classroom.instructor}); existing accounts keep their own.")
    return lines


def pristine_course() -> Path:
    """The course the students' workspaces are generated from, as root: halab's own (the checkout's course/),
    never the instructor's copy, whose nbgrader_config.py the instructor may have written code into (nbgrader
    executes that file). Refused if anyone but root could have changed it."""
    source = paths.course_dir().resolve()
    for path in (source, source / "nbgrader_config.py"):
        try:
            info = path.stat()
        except OSError as exc:
            raise HalabError(f"cannot read the course {path}: {exc.strerror}") from None
        if info.st_uid != 0 or info.st_mode & 0o022:
            raise HalabError(f"{path} must belong to root and be writable by root alone: the students' workspaces "
                             "are generated from it, as root")
    return source


class _Undo:
    def __init__(self) -> None:
        self.steps: list[Callable[[], None]] = []

    def add(self, step: Callable[[], None]) -> None:
        self.steps.append(step)


@contextlib.contextmanager
def _undo_on_failure() -> Iterator[_Undo]:
    undo = _Undo()
    try:
        yield undo
    except BaseException:
        for step in reversed(undo.steps):
            with contextlib.suppress(Exception):
                step()
        raise


def _add_student(classroom: Classroom, entry: RosterEntry, plan: accounts.AccountPlan, release: Path,
                 undo: _Undo) -> tuple[Student, str]:
    password = ""
    uid = plan.uid
    if uid is None:
        uid, password = accounts.make_account(plan, f"{entry.first_name} {entry.last_name}".strip())
        undo.add(lambda: accounts.remove_account(entry.user))
    held = slot_held(uid)
    slot = slot_of(uid, entry.user)  # the lowest free slot, taken in roster order; kept if the user has one
    if held is None:
        undo.add(lambda: release_slot(uid))
    student = Student(entry.user, uid, slot, plan.home, entry.first_name, entry.last_name, entry.email,
                      made_account=bool(password))
    block = CLASSROOM_CONFIG.format(exchange=str(classroom.exchange))
    if workspaces.make_workspace(student, release, STUDENT_CONFIG.format(course_id=COURSE_ID), block):
        undo.add(lambda: workspaces.remove_workspace(student))
    return student, password


def _gradebook_students(classroom: Classroom, students: list[Student], what: str) -> None:
    """The students in nbgrader's gradebook (names and emails for its exports), written by the instructor's
    account, which owns the gradebook."""
    rows = [{"id": s.user, "first_name": s.first_name or None, "last_name": s.last_name or None,
             "email": s.email or None} for s in students]
    done = run_as(classroom.instructor, [sys.executable, "-c", GRADEBOOK_STUDENTS, what], cwd=classroom.course,
                  env=venv_env(), timeout=300, input_text=json.dumps(rows))
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HalabError(f"nbgrader's gradebook did not take the students: {detail}")


def _write_roster(classroom: Classroom) -> None:
    """The roster the graders read beside the submissions (graders/provenance.py), the instructor's."""
    roster = Roster({s.user: s.slot for s in classroom.students})
    write_private_as(classroom.instructor, classroom.course / ROSTER_FILE, roster.to_json())


def pin_slots(classroom: Classroom) -> None:
    """Every student's slot as the roster has it, in the lab service's table again (if it was reset or the
    account made anew): a student's values stay theirs for the course."""
    for student in classroom.students:
        try:
            uid = pwd.getpwnam(student.user).pw_uid
        except KeyError:
            raise HalabError(f"student {student.user} has no account any more; make it again with the same name "
                             "(halab classroom add-students) or remove them from the class") from None
        assign_slot(uid, student.user, student.slot)
        if uid != student.uid:
            classroom.students[classroom.students.index(student)] = replace(student, uid=uid)
    classroom.save()
