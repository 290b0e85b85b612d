"""Students' code at grading time runs in halab's sandbox (halab/course/gradebox.py): `halab grade`, run by root on
a course of root's (the single-user set-up), with the real nbgrader CLI and real bubblewrap.

mallory hands in the right answers and solved lab evidence, plus a cell that tries what a hostile student would:
read the class's passwords, the gradebook and a classmate's submission, write the course's nbgrader_config.py,
open a socket, fork without end, fill the disk, take all the memory. Every attempt fails, her notebook runs as
the course's grader account (never root), and she scores what she earned. Her submission also carries a link to
the passwords (collect leaves it out), the exchange holds folders with odd names (collect goes on), and sam's
evidence says that halab solved his lab (flagged in the summary, the feedback and the gradebook). No lab and no
Unix users: evidence is built from facts recorded on real nodes, with a FABRICATED identity.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
from pathlib import Path

import nbformat
import pytest

from halab.course.gradebox import grader_name
from tests.course.helpers import recorded_raw, write_evidence
from tests.course.nbgrader_flow import CourseFlow, answer_quiz

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="`halab grade` makes the sandbox as root")
ASSIGNMENT = "03-clustering"
SECRET = "mallory-must-never-see-this"
FULL = 122
HOSTILE = '''
import os, socket
def attempt(what, action):
    try:
        shown = action()
        print("LEAK", what, repr(shown)[:300])
    except Exception as exc:
        print("BLOCKED", what, type(exc).__name__)
def fork_without_end():
    children = []
    try:
        while len(children) < 10000:
            pid = os.fork()
            if pid == 0:
                import time; time.sleep(3); os._exit(0)
            children.append(pid)
    finally:
        for pid in children:
            os.waitpid(pid, 0)
def fill_the_disk():
    for n in range(40):
        with open(f"filler-{{n}}", "wb") as handle:
            for _ in range(60):
                handle.write(b"x" * 1024 * 1024)
print("uid", os.getuid())
attempt("passwords", lambda: open({passwords!r}).read())
attempt("gradebook", lambda: open({gradebook!r}, "rb").read(100))
attempt("classmate's submission", lambda: open({classmate!r}).read())
attempt("classmate's autograded copy", lambda: os.listdir({classmate_graded!r}))
attempt("the exchange", lambda: os.listdir({exchange!r}))
attempt("write the config", lambda: open({config!r}, "a").write("import os; os.system('touch /tmp/pwned')\\n"))
attempt("a socket to the host", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=3))
attempt("fork without end", fork_without_end)
attempt("fill the disk", fill_the_disk)
attempt("all the memory", lambda: bytearray(16 * 1024 ** 3))
'''


def hostile_cell(flow: CourseFlow, port: int) -> str:
    course = flow.course
    return HOSTILE.format(passwords=str(flow.root / "passwords.csv"), gradebook=str(course / "gradebook.db"),
                          classmate=str(course / "submitted" / "victim" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
                          classmate_graded=str(course / "autograded" / "victim" / ASSIGNMENT),
                          exchange=str(flow.exchange), config=str(course / "nbgrader_config.py"), port=port)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[CourseFlow, str, str]:
    flow = CourseFlow(tmp_path_factory.mktemp("sandbox"))
    passwords = flow.root / "passwords.csv"
    passwords.write_text(f"user,password\nvictim,{SECRET}\n")
    passwords.chmod(0o600)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    flow.release(ASSIGNMENT)
    for student in ("victim", "mallory", "sam"):
        folder = flow.fetch(ASSIGNMENT, student)
        answer_quiz(flow, folder)
        write_evidence(folder, recorded_raw("solved", failover_passed=True),
                       **({"solved_at": "2026-12-06T09:30:00+0000"} if student == "sam" else {}))
        if student == "victim":
            (folder / "notes.txt").write_text(SECRET)
        if student == "mallory":
            notebook = nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)
            notebook.cells.insert(1, nbformat.v4.new_code_cell(hostile_cell(flow, listener.getsockname()[1])))
            nbformat.write(notebook, folder / f"{ASSIGNMENT}.ipynb")
        flow.submit(ASSIGNMENT, student)
    inbound = flow.exchange / "halab" / "inbound"
    mallory = next(inbound.glob(f"mallory+{ASSIGNMENT}+*"))
    (mallory / "stolen.txt").symlink_to(passwords)  # made by hand in her own submission folder
    for odd in (f"victim+{ASSIGNMENT}+garbage", f"x+{ASSIGNMENT}+not-a-time+1"):
        (inbound / odd).mkdir()
    config = (flow.course / "nbgrader_config.py").read_bytes()
    summary = flow.halab_grade(ASSIGNMENT)
    listener.close()
    assert (flow.course / "nbgrader_config.py").read_bytes() == config
    autograded = flow.course / "autograded" / "mallory" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    outputs = "".join(o.get("text", "") for o in nbformat.read(autograded, as_version=4).cells[1].outputs)
    return flow, summary, outputs


def test_hostile_code_reaches_nothing_and_runs_as_the_grader_account(graded: tuple[CourseFlow, str, str]) -> None:
    flow, _, outputs = graded
    grader = pwd.getpwnam(grader_name(flow.course))
    assert f"uid {grader.pw_uid}\n" in outputs and grader.pw_uid != 0
    assert "LEAK" not in outputs and SECRET not in outputs and "SQLite" not in outputs, outputs
    assert outputs.count("BLOCKED") == 10, outputs
    assert SECRET not in flow.feedback(ASSIGNMENT, "mallory")
    assert not Path("/tmp/pwned").exists()
    # The grader account runs nothing any more, and has no files outside the sandbox's folders.
    assert subprocess.run(["pgrep", "-u", str(grader.pw_uid)], capture_output=True).returncode == 1


def test_a_hostile_submission_scores_what_it_earns(graded: tuple[CourseFlow, str, str]) -> None:
    flow, _, _ = graded
    for student in ("victim", "mallory"):
        assert sum(score for score, _ in flow.scores(ASSIGNMENT, student).values()) == FULL, student


def test_collect_follows_no_link_and_goes_on_past_odd_folders(graded: tuple[CourseFlow, str, str]) -> None:
    flow, summary, _ = graded
    assert not (flow.course / "submitted" / "mallory" / ASSIGNMENT / "stolen.txt").exists()
    said = " ".join(summary.split())
    assert "Left out" in said and "stolen.txt" in said
    for odd in (f"victim+{ASSIGNMENT}+garbage", f"x+{ASSIGNMENT}+not-a-time+1"):
        assert f"Rejected the submission {odd}: its name is not <student>+<assignment>+<time>+<id>" in said
    assert {"victim", "mallory", "sam"} <= {p.name for p in (flow.course / "submitted").iterdir()}


def test_a_lab_halab_solved_is_flagged_for_the_instructor(graded: tuple[CourseFlow, str, str]) -> None:
    from nbgrader.api import Gradebook

    flow, summary, _ = graded
    assert "sam's lab clustering was solved by halab (`halab solve`, at 2026-12-06T09:30:00+0000)" in " ".join(
        summary.split())
    assert "halab solved this lab (`halab solve`, at 2026-12-06T09:30:00+0000)" in flow.feedback(ASSIGNMENT, "sam")
    with Gradebook(f"sqlite:///{flow.course / 'gradebook.db'}", "halab") as gradebook:
        flagged = {student: sorted(g.name for g in gradebook.find_submission_notebook(
            ASSIGNMENT, ASSIGNMENT, student).grades if g.needs_manual_grade) for student in ("sam", "victim")}
    written = "diagnosis-clustering"  # both answered the written diagnosis: the instructor grades it anyway
    labs = [name for name in flagged["sam"] if name != written]
    assert len(labs) == 7 and all(name.startswith("lab-clustering-") for name in labs) and written in flagged["sam"]
    assert flagged["victim"] == [written]
    assert sum(score for score, _ in flow.scores(ASSIGNMENT, "sam").values()) == FULL  # flagged, not marked down
