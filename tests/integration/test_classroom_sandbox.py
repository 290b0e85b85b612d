"""A classroom's grading as an attacker in the class sees it, with real accounts and no hub or lab: root never
executes what the instructor can write, a submission forged under a classmate's name is rejected at collect,
and a hostile notebook graded by root's `halab grade` runs as the course's grader account in the sandbox, where
the passwords, the course, the exchange and a classmate's submission are out of its reach.

ann submits her work (with notes only she should see); ben submits a notebook with a hostile cell, and also
makes a folder in the exchange under ann's name, newer than hers, holding that notebook. The instructor's
nbgrader_config.py has a line added that records every uid which executes it.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from graders.provenance import ROSTER_FILE
from halab.course.gradebox import grader_name
from tests.support.classroom import Room, classroom

pytestmark = pytest.mark.integration
ASSIGNMENT = "03-clustering"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
TAG = uuid.uuid4().hex[:8]
MARKERS = Path("/tmp") / f"halab-config-ran-{TAG}"
SECRET = f"ann-private-notes-{TAG}"
HOSTILE = '''
import os
def attempt(what, action):
    try:
        print("LEAK", what, repr(action())[:200])
    except Exception as exc:
        print("BLOCKED", what, type(exc).__name__)
print("uid", os.getuid())
attempt("passwords", lambda: open({passwords!r}).read())
attempt("ann's submission", lambda: open({ann!r}).read())
attempt("the gradebook", lambda: open({course!r} + "/gradebook.db", "rb").read(16))
print("course holds", sorted(os.listdir({course!r})))
attempt("the exchange", lambda: os.listdir({exchange!r}))
attempt("write the config", lambda: open({config!r}, "a").write("print('pwned')\\n"))
'''


def as_user(user: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(user)
    env = [f"HOME={entry.pw_dir}", f"USER={user}", f"PATH={Path(sys.executable).parent}:/usr/bin:/bin",
           f"PYTHONPATH={Path(__file__).resolve().parents[2]}"]
    return subprocess.run(["runuser", "-u", user, "--", "env", "-i", *env, *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def room() -> Iterator[Room]:
    with classroom(2) as made:
        yield made
    for marker in MARKERS.parent.glob(f"{MARKERS.name}-*"):
        marker.unlink()


@pytest.fixture(scope="module")
def graded(room: Room) -> tuple[Room, str]:
    assert room.halab("classroom", "init", "--instructor", room.instructor).returncode == 0
    course = room.root / "course"
    with (course / "nbgrader_config.py").open("a") as config:  # as the instructor could
        config.write(f"\nimport os\nopen('{MARKERS}-' + str(os.getuid()), 'w').close()\n")
    ann, ben = room.students
    added = room.halab("classroom", "add-students", str(room.roster([f"{ann},Ann,A,", f"{ben},Ben,B,"])))
    assert added.returncode == 0, added.stderr
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    for step in ("generate_assignment", "release_assignment"):
        done = as_user(room.instructor, nbgrader, step, ASSIGNMENT, "--force", cwd=course)
        assert done.returncode == 0, done.stderr
    ann_folder, ben_folder = (Path(f"/home/{user}/halab-course/{ASSIGNMENT}") for user in (ann, ben))
    (ann_folder / "notes.txt").write_text(SECRET)
    os.chown(ann_folder / "notes.txt", room.uid(ann), room.uid(ann))
    notebook = nbformat.read(ben_folder / NOTEBOOK, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_code_cell(HOSTILE.format(
        passwords=str(room.root / "passwords.csv"), ann=str(course / "submitted" / ann / ASSIGNMENT / "notes.txt"),
        course=str(course), exchange=str(room.root / "exchange" / "halab" / "inbound"),
        config=str(course / "nbgrader_config.py"))))
    nbformat.write(notebook, ben_folder / NOTEBOOK)
    for user in (ann, ben):
        done = as_user(user, nbgrader, "submit", ASSIGNMENT, cwd=Path(f"/home/{user}/halab-course"))
        assert done.returncode == 0, done.stderr
    # ben's forgery: a folder under ann's name, newer than her submission, made by his own account
    forged = room.root / "exchange" / "halab" / "inbound" / f"{ann}+{ASSIGNMENT}+2030-01-01 00:00:00.000000 UTC+x"
    script = (f"import os, shutil; os.mkdir({str(forged)!r}); shutil.copy({str(ben_folder / NOTEBOOK)!r}, "
              f"{str(forged)!r}); open({str(forged / 'timestamp.txt')!r}, 'w').write('2030-01-01 00:00:00.000000 UTC')")
    assert as_user(ben, sys.executable, "-c", script, cwd=Path("/")).returncode == 0
    graded = room.halab("grade", ASSIGNMENT, "--course-dir", str(course))
    said = graded.stdout + graded.stderr
    assert graded.returncode == 0, said[-3000:]
    return room, " ".join(said.split())


def test_root_never_executes_the_instructors_config(graded: tuple[Room, str]) -> None:
    room, _ = graded
    ran = {int(path.name.rsplit("-", 1)[1]) for path in MARKERS.parent.glob(f"{MARKERS.name}-*")}
    assert 0 not in ran, "root executed the instructor's nbgrader_config.py"
    assert ran == {room.uid(room.instructor)}  # nbgrader ran it as the instructor; the sandbox never loads it


def test_a_submission_forged_under_a_classmates_name_is_rejected(graded: tuple[Room, str]) -> None:
    room, said = graded
    ann, ben = room.students
    assert (f"Rejected the submission {ann}+{ASSIGNMENT}+2030-01-01 00:00:00.000000 UTC+x: it claims to be {ann}'s, "
            f"but {ben} made it (a forged submission)") in said
    collected = room.root / "course" / "submitted" / ann / ASSIGNMENT
    assert (collected / "notes.txt").read_text() == SECRET and "LEAK" not in (collected / NOTEBOOK).read_text()


def test_a_hostile_notebook_runs_as_the_grader_account_and_reaches_nothing(graded: tuple[Room, str]) -> None:
    room, said = graded
    ann, ben = room.students
    course = room.root / "course"
    grader = pwd.getpwnam(grader_name(course))
    assert f"Grading as {room.instructor}" in said
    autograded = course / "autograded" / ben / ASSIGNMENT / NOTEBOOK
    assert autograded.exists(), said[-3000:]
    cells = nbformat.read(autograded, as_version=4).cells
    outputs = "".join(o.get("text", "") for o in cells[1].outputs)
    assert f"uid {grader.pw_uid}\n" in outputs and grader.pw_uid not in (0, room.uid(room.instructor))
    assert "LEAK" not in outputs and SECRET not in outputs and outputs.count("BLOCKED") == 5, outputs
    # The course folder in the sandbox is an empty one holding only the roster and the submission's copy.
    assert f"course holds ['autograded', '{ROSTER_FILE}']\n" in outputs, outputs
    assert "print('pwned')" not in (course / "nbgrader_config.py").read_text()


def test_the_passwords_and_the_roster_are_out_of_the_grader_accounts_reach(graded: tuple[Room, str]) -> None:
    room, _ = graded
    passwords, roster = room.root / "passwords.csv", room.root / "course" / "classroom-roster.json"
    info = passwords.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == room.uid(room.instructor)
    grader = grader_name(room.root / "course")
    for check in (["cat", str(passwords)], ["test", "-w", str(roster)], ["cat", str(roster)]):
        assert subprocess.run(["runuser", "-u", grader, "--", *check], capture_output=True).returncode != 0, check
    assert json.loads(roster.read_text())["slots"]  # the roster is there, the instructor's


def test_init_turned_solve_off_for_the_class(graded: tuple[Room, str]) -> None:
    room, _ = graded
    config = Path(room.env["HALAB_SERVICE_CONFIG"]).read_text()
    assert "[policy]" in config and "solve = false" in config and "[defaults]" in config


def test_the_instructor_alone_cannot_grade_outside_the_sandbox(graded: tuple[Room, str]) -> None:
    room, _ = graded
    course = room.root / "course"
    done = as_user(room.instructor, sys.executable, "-m", "halab", "grade", ASSIGNMENT, "--course-dir", str(course),
                   "--no-collect", cwd=course)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "only in its grading sandbox" in done.stdout + done.stderr and "run as root" in done.stdout + done.stderr
