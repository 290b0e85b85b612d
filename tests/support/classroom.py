"""A classroom for the tests: a folder of its own, a lab service socket of its own, and Unix accounts made for
the test (halab-c<random>i, the instructor, and halab-c<random>s<N>, the students). Everything is removed
afterwards, whatever the test did: the students' labs (as root, by their owner's slot), the hub and the lab
service it started, the accounts with their homes, and their lab slots."""

from __future__ import annotations

import csv
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from halab.errors import HalabError
from halab.runtime.slots import release_slot, slot_held
from halab.spec.instances import Owner

REPO = Path(__file__).resolve().parents[2]
QUOTAS = "[defaults]\nlabs = 1\nnodes = 4\n"
LABS = ("clustering", "clustering3")


@dataclass
class Room:
    root: Path
    env: dict[str, str]
    instructor: str
    students: list[str]
    others: list[str] = field(default_factory=list)  # accounts a test made by hand (bad input)
    groups: list[str] = field(default_factory=list)  # groups a test made by hand

    def halab(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """`halab ARGS` as root, with this classroom's folder and lab service."""
        return subprocess.run([sys.executable, "-m", "halab", *args], capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def password(self, user: str) -> str:
        with (self.root / "passwords.csv").open() as handle:
            return next(row["password"] for row in csv.DictReader(handle) if row["user"] == user)

    def uid(self, user: str) -> int:
        return pwd.getpwnam(user).pw_uid

    def roster(self, lines: list[str], name: str = "roster.csv") -> Path:
        path = self.root.parent / name
        path.write_text("\n".join(["user,first_name,last_name,email", *lines]) + "\n")
        return path


def account_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _take_labs_down(user: str) -> None:
    """Whatever the user left up, taken down as root (the service may be gone by now)."""
    from halab.access import LocalAccess

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return
    slot = slot_held(entry.pw_uid)
    for lab in LABS if slot else ():
        with suppress(HalabError):
            LocalAccess(lab, Owner(entry.pw_uid, user, slot)).down()


@contextmanager
def classroom(students: int = 2) -> Iterator[Room]:
    tag = uuid.uuid4().hex[:5]
    base = Path(tempfile.mkdtemp(prefix="halab-classroom-", dir="/tmp"))
    base.chmod(0o755)  # the students reach the exchange and the lab service's socket in here
    (base / "service").mkdir(mode=0o755)
    (base / "service" / "service.toml").write_text(QUOTAS)
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", "HALAB_CLASSROOM_DIR": str(base / "room"),
           "HALAB_SERVICE_SOCKET": str(base / "service" / "service.sock"),
           "HALAB_SERVICE_CONFIG": str(base / "service" / "service.toml")}
    room = Room(base / "room", env, f"halab-c{tag}i", [f"halab-c{tag}s{i}" for i in range(students)])
    try:
        yield room
    finally:
        for user in room.students + room.others:
            _take_labs_down(user)
        if (room.root / "classroom.json").exists():
            room.halab("classroom", "stop", timeout=120)
        for user in [room.instructor, *room.students, *room.others]:
            if account_exists(user):
                uid = pwd.getpwnam(user).pw_uid
                home = pwd.getpwnam(user).pw_dir
                subprocess.run(["userdel", "--remove", user], capture_output=True)
                shutil.rmtree(home, ignore_errors=True)
                release_slot(uid)
        for group in room.groups:
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def server_processes(user: str) -> list[int]:
    """The PIDs of the user's JupyterLab started by the hub (jupyterhub.singleuser with their JUPYTERHUB_USER)."""
    found = []
    marker = f"JUPYTERHUB_USER={user}\0".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            command, environ = (entry / "cmdline").read_bytes(), (entry / "environ").read_bytes()
            if b"jupyterhub.singleuser" in command and marker in environ:
                found.append(int(entry.name))
    return found


def process_uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process."""
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Uid:"))
    return [int(value) for value in line.split()[1:]]
