"""Real Unix users and a real lab service for the tests of shared machines: the users are made for the test and
removed afterwards (with their home and their slot), the service runs on a socket of the test's own."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from halab.runtime.slots import release_slot

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    home: Path
    env: dict[str, str]

    def halab(self, *args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`halab ARGS` run as this user (runuser: no root left in the process)."""
        return self.python("-m", "halab", *args, timeout=timeout, cwd=cwd)

    def python(self, *args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        command = ["runuser", "-u", self.name, "--", "env", "-i", *(f"{k}={v}" for k, v in self.env.items()),
                   sys.executable, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd or self.home,
                              stdin=subprocess.DEVNULL)


def _usable_by(name: str) -> str:
    """Why the user cannot run this checkout's Python, or ''."""
    probe = subprocess.run(["runuser", "-u", name, "--", sys.executable, "-c", f"import sys; sys.path.insert(0, "
                            f"{str(REPO)!r}); import halab"], capture_output=True, text=True, timeout=60)
    return "" if probe.returncode == 0 else (probe.stderr.strip().splitlines() or ["?"])[-1]


@contextmanager
def made_users(count: int, socket: Path) -> Iterator[list[User]]:
    made: list[str] = []
    try:
        users = []
        for _ in range(count):
            name = f"halab-t{uuid.uuid4().hex[:6]}"
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
            made.append(name)
            entry = pwd.getpwnam(name)
            env = {"HOME": entry.pw_dir, "USER": name, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                   "PYTHONPATH": str(REPO), "HALAB_SERVICE_SOCKET": str(socket), "COLUMNS": "200",
                   "HALAB_PROGRESS_FILE": f"{entry.pw_dir}/progress.json"}
            users.append(User(name, entry.pw_uid, Path(entry.pw_dir), env))
        problem = _usable_by(made[0])
        if problem:
            raise AssertionError(f"a user other than root cannot run this checkout's Python ({sys.executable}): "
                                 f"{problem}. On a shared machine the checkout and its venv must be readable by "
                                 "everyone (install.sh makes the venv with /usr/bin/python3)")
        yield users
    finally:
        for name in made:
            uid = pwd.getpwnam(name).pw_uid
            subprocess.run(["userdel", "--remove", name], capture_output=True)
            release_slot(uid)


@contextmanager
def lab_service(quotas: str) -> Iterator[Path]:
    """The lab service on a socket of its own (in a folder every user can reach), with these quotas; stopped
    afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="halab-service-", dir="/tmp"))
    folder.chmod(0o755)
    config = folder / "service.toml"
    # The service's log beside its socket (the test's own folder), unless the test sets [service] itself.
    config.write_text(quotas if "[service]" in quotas else f"{quotas}\n[service]\nlog = \"{folder}/service.log\"\n")
    socket = folder / "service.sock"
    env = {**os.environ, "HALAB_SERVICE_SOCKET": str(socket), "HALAB_SERVICE_CONFIG": str(config)}
    started = subprocess.run([sys.executable, "-m", "halab", "service", "start"], capture_output=True, text=True,
                             env=env, timeout=60)
    assert started.returncode == 0, started.stderr
    try:
        yield socket
    finally:
        subprocess.run([sys.executable, "-m", "halab", "service", "stop"], capture_output=True, env=env, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
