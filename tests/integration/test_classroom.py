"""A class of two on JupyterHub, end to end, with real accounts, a real hub and real labs.

The instructor sets the classroom up; bad rosters are refused with one line and make nothing; the students
are added (accounts, workspaces, slots); the hub refuses a busy port and starts on a free one, with the lab
service. Both students log in through the hub's login form over HTTP; each one's JupyterLab runs as them; in
their own notebook's kernel each sees their own lab's values before it is up, brings up and checks a lab of
their own (ann solves hers; ben's is over quota when he asks for a second). The instructor releases through
their own JupyterLab (formgrader there, not in the students'); ann submits her work, ben submits ann's
evidence file with a cell that tries to write /etc and /root; root runs `halab grade`, which grades as the
instructor: ben's hostile cell fails, ann's lab scores, ben's is flagged by name, and the CSV has it all.
One page of the hub is opened in headless Chromium. Run as root with a Python every user can run.
"""

from __future__ import annotations

import csv
import html
import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from halab import paths
from halab.runtime.slots import slot_held
from halab.spec.instances import instance_name
from tests.integration.conftest import leftovers
from tests.support.classroom import Room, account_exists, classroom, process_uids, server_processes
from tests.support.hubclient import HubSession

pytestmark = pytest.mark.integration
ASSIGNMENT = "03-clustering"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
HOSTILE = """import os
for target in ("/etc/halab-pwned-{tag}", "/root/halab-pwned-{tag}"):
    try:
        with open(target, "w") as handle:
            handle.write("pwned")
    except OSError as exc:
        print("refused", target, exc.strerror)
with open("autograde-uid.txt", "w") as handle:
    handle.write(str(os.getuid()))
"""


@pytest.fixture(scope="module")
def room() -> Iterator[Room]:
    with classroom(2) as made:
        yield made


def one_line_error(result: subprocess.CompletedProcess[str], *words: str, after_progress: bool = False) -> None:
    """One line of error and nothing else (with after_progress, the progress lines before it are fine)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if after_progress:
        lines = lines[-1:] if lines and all(not line.startswith("halab: error") for line in lines[:-1]) else lines
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and all(w in lines[0] for w in words), (result.stdout, result.stderr)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_init_and_bad_rosters_make_nothing(room: Room, tmp_path: Path) -> None:
    made = room.halab("classroom", "init", "--instructor", room.instructor)
    assert made.returncode == 0, made.stderr
    exchange = room.root / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    inbound = exchange / "halab" / "inbound"
    assert stat.S_IMODE(inbound.stat().st_mode) == 0o2733 and inbound.stat().st_uid == room.uid(room.instructor)
    assert stat.S_IMODE((room.root / "course").stat().st_mode) == 0o700
    ann, ben = room.students
    one_line_error(room.halab("classroom", "add-students", str(room.roster([f"{ann},Ann,A,", ",Ben,B,"]))),
                   "line 3: no user name")
    elsewhere = f"{room.students[0][:-1]}x"
    room.others.append(elsewhere)
    subprocess.run(["useradd", "--create-home", "--home-dir", str(tmp_path / "away"), elsewhere], check=True)
    one_line_error(room.halab("classroom", "add-students", str(room.roster([f"{ann},Ann,A,", f"{elsewhere},X,Y,"]))),
                   f"{elsewhere} exists with home {tmp_path / 'away'}, not /home/{elsewhere}")
    # A failure half-way (useradd refuses a name that is taken by a group): what was made for ann is undone.
    taken = f"{room.students[0][:-1]}g"
    room.groups.append(taken)
    subprocess.run(["groupadd", taken], check=True)
    one_line_error(room.halab("classroom", "add-students", str(room.roster([f"{ann},Ann,A,", f"{taken},G,H,"]))),
                   f"useradd {taken} failed", after_progress=True)
    assert not account_exists(ann) and not Path(f"/home/{ann}").exists()
    slots = paths.state_dir() / ".users.json"
    assert ann not in (slots.read_text() if slots.exists() else "")  # her slot was given back
    assert json.loads((room.root / "classroom.json").read_text())["students"] == []
    assert not (room.root / "course" / "classroom-roster.json").exists()


def test_students_get_accounts_workspaces_and_slots_in_roster_order(room: Room) -> None:
    ann, ben = room.students
    added = room.halab("classroom", "add-students", str(room.roster([f"{ann},Ann,Archer,ann@example.org",
                                                                      f"{ben},Ben,Baker,"])))
    assert added.returncode == 0, added.stderr
    slots = [slot_held(room.uid(user)) for user in room.students]
    assert slots[0] and slots[1] and slots[0] < slots[1]  # given in roster order, kept in the lab service's table
    for user in room.students:
        workspace = Path(f"/home/{user}/halab-course")
        assert workspace.stat().st_uid == room.uid(user) and stat.S_IMODE(workspace.stat().st_mode) == 0o700
        assert (workspace / NOTEBOOK).is_file() and "BEGIN SOLUTION" not in (workspace / NOTEBOOK).read_text()
    passwords = room.root / "passwords.csv"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600 and passwords.stat().st_uid == room.uid(room.instructor)
    assert json.loads((room.root / "course" / "classroom-roster.json").read_text())["slots"] == dict(
        zip(room.students, slots, strict=True))


def test_a_busy_port_starts_nothing_and_a_free_one_starts_the_hub(room: Room) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        one_line_error(room.halab("classroom", "start", "--ip", "127.0.0.1", "--port", str(port)),
                       f"port {port} on 127.0.0.1 is in use")
    assert not Path(room.env["HALAB_SERVICE_SOCKET"]).exists()  # the lab service was not started either
    port = free_port()
    started = room.halab("classroom", "start", "--ip", "127.0.0.1", "--port", str(port))
    assert started.returncode == 0, started.stderr
    room.env["HUB"] = f"http://127.0.0.1:{port}"
    assert Path(room.env["HALAB_SERVICE_SOCKET"]).exists()


@pytest.fixture(scope="module")
def sessions(room: Room) -> dict[str, HubSession]:
    """Every user logged in through the hub's login form, their servers started by the hub."""
    logged = {user: HubSession.login(room.env["HUB"], user, room.password(user))
              for user in [*room.students, room.instructor]}
    for session in logged.values():
        session.wait_for_server()
    return logged


def test_each_users_jupyterlab_runs_as_them(room: Room, sessions: dict[str, HubSession]) -> None:
    for user, session in sessions.items():
        pids = server_processes(user)
        assert len(pids) == 1 and process_uids(pids[0]) == [room.uid(user)] * 4, (user, pids)
        formgrader = session.server_api("GET", "/formgrader").status_code
        assert formgrader == (200 if user == room.instructor else 404), (user, formgrader)
    with pytest.raises(AssertionError):  # a wrong password: PAM says no, the hub shows its login form again
        HubSession.login(room.env["HUB"], room.students[0], "not-the-password")


def test_each_student_works_on_a_lab_of_their_own(room: Room, sessions: dict[str, HubSession]) -> None:
    ann, ben = room.students
    for user in room.students:
        slot = slot_held(room.uid(user))
        kernel = sessions[user].kernel(NOTEBOOK)
        shown = kernel.run("from halab.course.widgets import lab_facts\nprint(lab_facts('clustering').value)")
        assert f"halab-u{slot}" in shown and f"10.{42 + slot}.10.100" in shown and f"(slot {slot}" in shown
        kernel.run("from halab.access import open_lab\nlab = open_lab('clustering')\nnodes = lab.up()")
        if user == ann:
            kernel.run("lab.solve()")
        report = kernel.run("from pathlib import Path\nfrom halab.course.widgets.report_view import check_and_save\n"
                            "r = check_and_save('clustering', Path('evidence-clustering.json'), lambda m: None)\n"
                            "print(r['score'], [n.address for n in nodes])")
        score, addresses = report.split(" ", 1)
        assert (int(score) == 120) == (user == ann), report
        assert f"'10.{42 + slot}.10.11'" in addresses
        if user == ben:
            refused = kernel.run("try:\n    open_lab('clustering3').up()\nexcept Exception as exc:\n    print(exc)")
            assert "over quota" in refused and "1 lab(s)" in refused
        kernel.close()
    status = json.loads(room.halab("classroom", "status", "--json").stdout)
    assert [(s["user"], s["server"], [lab["lab"] for lab in s["labs"]]) for s in status["students"]] == [
        (ann, "running", ["clustering"]), (ben, "running", ["clustering"])]
    assert status["hub"]["running"] and status["lab_service"]["running"] and status["instructor_server"] == "running"
    assert load_instance_state(room, ben, "clustering3") is None  # the refused lab: nothing half-made


def load_instance_state(room: Room, user: str, lab: str) -> object:
    from halab.runtime.state import load_state

    return load_state(instance_name(lab, slot_held(room.uid(user)) or 0))


def test_submit_collect_autograde_and_swapped_evidence_is_flagged(room: Room, sessions: dict[str, HubSession],
                                                                   tmp_path: Path) -> None:
    ann, ben = room.students
    release = sessions[room.instructor].kernel(f"source/{NOTEBOOK}")
    release.run("import os, subprocess, sys\nfor step in ('generate_assignment', 'release_assignment'):\n"
                f"    subprocess.run([sys.executable, '-m', 'nbgrader', step, '{ASSIGNMENT}', '--force'], check=True, "
                "cwd=os.environ['HALAB_COURSE_DIR'], capture_output=True)")
    release.close()
    # ben hands in ann's evidence file (she gave it to him), and a cell that tries to get out of autograde
    ben_folder = Path(f"/home/{ben}/halab-course/{ASSIGNMENT}")
    (ben_folder / "evidence-clustering.json").write_bytes(
        Path(f"/home/{ann}/halab-course/{ASSIGNMENT}/evidence-clustering.json").read_bytes())
    notebook = nbformat.read(ben_folder / f"{ASSIGNMENT}.ipynb", as_version=4)
    tag = os.urandom(4).hex()
    notebook.cells.append(nbformat.v4.new_code_cell(HOSTILE.format(tag=tag)))
    nbformat.write(notebook, ben_folder / f"{ASSIGNMENT}.ipynb")
    for path in ben_folder.iterdir():
        os.chown(path, room.uid(ben), room.uid(ben))
    for user in room.students:
        kernel = sessions[user].kernel(NOTEBOOK)
        kernel.run("import subprocess, sys\n"
                   f"subprocess.run([sys.executable, '-m', 'nbgrader', 'submit', '{ASSIGNMENT}'], cwd='..', "
                   "check=True, capture_output=True)")
        kernel.run("from halab.access import open_lab\nopen_lab('clustering').down()")
        kernel.close()
        assert leftovers(instance_name("clustering", slot_held(room.uid(user)) or 0)) == []

    table = tmp_path / "grades.csv"
    started = time.monotonic()
    graded = room.halab("grade", ASSIGNMENT, "--course-dir", str(room.root / "course"), "--csv", str(table))
    seconds = time.monotonic() - started
    said = graded.stdout + graded.stderr
    assert graded.returncode == 0, said[-3000:]
    print(f"halab grade of 2 submissions: {seconds:.1f} s")
    assert f"Grading as {room.instructor}" in said
    assert not Path(f"/etc/halab-pwned-{tag}").exists() and not Path(f"/root/halab-pwned-{tag}").exists()
    ran_in = room.root / "course" / "autograded" / ben / ASSIGNMENT  # where autograde runs the notebook
    assert (ran_in / "autograde-uid.txt").read_text() == str(room.uid(room.instructor))
    slots = {user: slot_held(room.uid(user)) for user in room.students}
    flag = f"{ben}'s evidence was made on {ann}'s lab (slot {slots[ann]}), not on {ben}'s own (slot {slots[ben]})"
    assert flag in said
    feedback = html.unescape((room.root / "course" / "feedback" / ben / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text())
    assert f"This evidence was made on {ann}'s lab (slot {slots[ann]}), not on your own lab" in feedback
    rows = {row["student_id"]: row for row in csv.DictReader(table.open())}
    corosync = f"{ASSIGNMENT} lab clustering: corosync"
    assert rows["max_score"][corosync] == "35" and rows[ann][corosync] == "35" and rows[ben][corosync] == "0"
    assert float(rows[ann][ASSIGNMENT]) >= 120 and float(rows[ben][ASSIGNMENT]) <= 2


def test_a_page_of_the_hub_in_headless_chromium(room: Room) -> None:
    from playwright.sync_api import sync_playwright

    from tests.course.helpers import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "browser-classroom-hub.png"
    ann = room.students[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            page.goto(f"{room.env['HUB']}/hub/login", timeout=60_000)
            page.fill("#username_input", ann)
            page.fill("#password_input", room.password(ann))
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{ann}/lab**", timeout=120_000)
            page.locator(".jp-DirListing-item", has_text=ASSIGNMENT).first.wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "browser-classroom-student-lab.png"))  # her own workspace
            page.goto(f"{room.env['HUB']}/hub/home", timeout=60_000)
            page.get_by_text("Stop My Server").first.wait_for(timeout=30_000)
            page.screenshot(path=str(screenshot))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "browser-classroom-failure.png"))
            raise
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000


def test_stop_takes_the_hub_and_every_jupyterlab_down(room: Room) -> None:
    stopped = room.halab("classroom", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert all(server_processes(user) == [] for user in [*room.students, room.instructor])
    assert not Path(room.env["HALAB_SERVICE_SOCKET"]).exists()  # the lab service the hub started went with it
    status = json.loads(room.halab("classroom", "status", "--json").stdout)
    assert not status["hub"]["running"] and all(s["server"] == "unknown" and not s["labs"] for s in status["students"])
