"""Labs for users who are not root, through the lab service: two real users each get their own lab, see,
reach and grade only theirs, and every way to ask for too much or for someone else's gets one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.lab import Lab
from halab.runtime.state import lab_states, load_state
from halab.spec.instances import instance_name
from tests.integration.conftest import leftovers
from tests.support.users import User, lab_service, made_users

pytestmark = pytest.mark.integration
QUOTAS = "[defaults]\nlabs = 1\nnodes = 4\n"


@pytest.fixture(scope="module")
def socket() -> Iterator[Path]:
    with lab_service(QUOTAS) as path:
        yield path


@pytest.fixture(scope="module")
def users(socket: Path) -> Iterator[list[User]]:
    with made_users(2, socket) as made:
        yield made
        for user in made:  # whatever a test left up: taken down as root, and nothing may remain
            user.halab("down", "clustering")
            whoami = json.loads(user.halab("status", "--json").stdout or "{}")
            assert not whoami.get("labs"), whoami


def slot_of(user: User) -> int:
    readable, _ = lab_states()
    return next(s.slot for s in readable.values() if (s.owner or {}).get("uid") == user.uid)


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0 and "Traceback" not in result.stderr, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and all(w in lines[0] for w in words), (result.returncode, result.stdout, result.stderr)


def test_two_users_have_labs_of_their_own(users: list[User]) -> None:
    ann, ben = users
    for user in users:
        result = user.halab("up", "clustering", "--json")
        assert result.returncode == 0, result.stderr
    ann_nodes = json.loads(ann.halab("status", "--json").stdout)["labs"]
    ben_nodes = json.loads(ben.halab("status", "--json").stdout)["labs"]
    assert [lab["lab"] for lab in ann_nodes] == ["clustering"] == [lab["lab"] for lab in ben_nodes]
    ann_addresses = {n["address"] for n in ann_nodes[0]["nodes"]}
    ben_addresses = {n["address"] for n in ben_nodes[0]["nodes"]}
    assert ann_addresses.isdisjoint(ben_addresses)
    assert all(a.startswith(f"10.{42 + slot_of(ann)}.") for a in ann_addresses)
    # Each reaches their own nodes as themselves, with a key of their own.
    for user, addresses in ((ann, ann_addresses), (ben, ben_addresses)):
        shown = user.halab("ssh", "node1", "--", "ip", "-brief", "address")
        assert shown.returncode == 0, shown.stderr
        assert any(a in shown.stdout for a in addresses)
        key = user.home / ".local/share/halab/labs/clustering/id_ed25519"
        assert key.stat().st_uid == user.uid and key.stat().st_mode & 0o077 == 0


def test_each_grades_their_own_lab(users: list[User]) -> None:
    ann, ben = users
    assert ann.halab("solve", "clustering").returncode == 0
    graded = ann.halab("check", "clustering", "--json", "--evidence", "evidence-clustering.json")
    assert graded.returncode == 0, graded.stdout[-2000:]
    report = json.loads(graded.stdout)
    assert report["score"] == report["max_score"] == 120
    evidence = ann.home / "evidence-clustering.json"
    assert evidence.stat().st_uid == ann.uid
    # Graded again from the evidence, with ann's own values (her floating IP, her cluster name).
    regraded = subprocess.run([sys.executable, "-c", "import sys; from graders.evidence import grade_evidence; "
                               "from halab.spec import load_spec; g = grade_evidence(sys.argv[1], "
                               "load_spec('clustering')); print(g.report.score, g.evidence.slot)", str(evidence)],
                              capture_output=True, text=True, check=True)
    assert regraded.stdout.split() == ["120", str(slot_of(ann))]
    fresh = json.loads(ben.halab("check", "clustering", "--json", "--no-faults").stdout)
    assert fresh["score"] < 0.2 * fresh["max_score"]  # ben's lab is still untouched


def test_a_notebook_of_an_unprivileged_user_checks_their_own_lab(users: list[User]) -> None:
    ann = users[0]
    program = ("from pathlib import Path; from halab.course import labaccess; "
               "from halab.course.widgets.report_view import check_and_save; "
               "print(labaccess.up_labs()); "
               "r = check_and_save('clustering', Path('nb-evidence.json'), lambda m: None); print(r['score'])")
    result = ann.python("-c", program, timeout=900)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["(['clustering'], None)", "120"]
    assert (ann.home / "nb-evidence.json").stat().st_uid == ann.uid


def test_the_check_lab_button_of_an_unprivileged_user_grades_their_own_lab(users: list[User]) -> None:
    """The notebook's "Check lab" button (ReportView without an evidence file: report_view.run_checks) grades
    the user's own instance through the lab service; it used to grade root's lab of that name, which a user
    cannot reach (or, when root had one up, the wrong lab)."""
    ann = users[0]
    program = ("from halab.course.widgets.report_view import ReportView; view = ReportView(lab='clustering'); "
               "view.run(wait=True); print(view.report['lab'], view.report['score']) if view.report else "
               "print('no report:', view.out.value)")
    result = ann.python("-c", program, timeout=900)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [instance_name("clustering", slot_of(ann)), "120"], result.stdout


def test_refusals_are_one_line_and_touch_nothing(users: list[User]) -> None:
    ann, ben = users
    theirs = instance_name("clustering", slot_of(ann))
    for command in (("down", theirs), ("ssh", "node1", "--lab", theirs, "--", "true"),
                    ("fault", theirs, "power-off", "node1")):
        one_line_error(ben.halab(*command), "belongs to another user")
    assert Lab(theirs).is_up()  # and ann's lab is as it was
    one_line_error(ann.halab("up", "clustering3"), "over quota", "1 lab(s)")
    assert load_state(instance_name("clustering3", slot_of(ann))) is None  # nothing half-made
    away = {**ann.env, "HALAB_SERVICE_SOCKET": f"/tmp/halab-no-service-{uuid.uuid4().hex}/service.sock"}
    result = subprocess.run(["runuser", "-u", ann.name, "--", "env", "-i", *(f"{k}={v}" for k, v in away.items()),
                             sys.executable, "-m", "halab", "up", "clustering"], capture_output=True, text=True)
    one_line_error(result, "lab service is not running")


def test_a_caller_the_service_cannot_name_is_refused(socket: Path) -> None:
    stranger = subprocess.run(["setpriv", "--reuid", "54321", "--regid", "54321", "--clear-groups", "env", "-i",
                               f"HALAB_SERVICE_SOCKET={socket}", f"PYTHONPATH={Path.cwd()}", "COLUMNS=200",
                               "HOME=/tmp", sys.executable, "-m", "halab", "status"], capture_output=True, text=True)
    one_line_error(stranger, "uid 54321 has no user name")


def test_down_through_the_service_leaves_nothing(users: list[User]) -> None:
    for user in users:
        name = instance_name("clustering", slot_of(user))
        assert user.halab("down", "clustering").returncode == 0
        assert leftovers(name) == []
