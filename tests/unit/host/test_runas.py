"""What root hands a user's process (halab/host/runas.py): a session without root's terminal, an allow-listed
environment, no module planted in its working directory; and root's own Python children never import from
their working directory. Real processes, as root and as a user made for the test."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.host.runas import run_as
from tests.support.paths import REPO
from tests.support.users import User, made_users

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runs processes as another user: needs root")
PROBE = """
import json, os, sys
try:
    os.open("/dev/tty", os.O_RDWR)
    tty = "has a terminal"
except OSError as exc:
    tty = exc.strerror
print(json.dumps({"sid": os.getsid(0), "pid": os.getpid(), "tty": tty, "cwd": os.getcwd(), "env": dict(os.environ),
                  "stdout_is_a_pipe": not os.isatty(1)}))
"""


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    with made_users(1, tmp_path_factory.mktemp("runas") / "unused.sock") as [made]:
        yield made


def test_a_users_process_has_its_own_session_and_only_the_allowed_environment(user: User,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("HALAB_COURSE_TOKEN", "root's-jupyter-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "root's-secret")
    monkeypatch.setenv("HALAB_STATE_DIR", "/var/lib/halab/somewhere")
    done = run_as(user.name, [sys.executable, "-c", PROBE])
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["sid"] == seen["pid"] != os.getsid(0)  # a session of its own: no TIOCSTI into root's terminal
    assert seen["cwd"] == "/"  # root's, not a folder of the user's
    env = seen["env"]
    assert "HALAB_COURSE_TOKEN" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["HALAB_STATE_DIR"] == "/var/lib/halab/somewhere" and env["PYTHONSAFEPATH"] == "1"
    assert env["HOME"] == str(user.home) and env["USER"] == user.name


def test_a_users_process_cannot_push_keystrokes_into_roots_terminal(user: User) -> None:
    """Root's process has a terminal (a pty here); the user's process tries TIOCSTI on /dev/tty."""
    attack = ("import fcntl, os, termios\ntry:\n    fcntl.ioctl(os.open('/dev/tty', os.O_RDWR), termios.TIOCSTI, b'#')"
              "\n    print('INJECTED')\nexcept OSError as exc:\n    print('refused:', exc.strerror)\n")
    root_side = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO)!r})
        os.setsid()
        os.close(os.open(os.ttyname(int(sys.argv[1])), os.O_RDWR))  # a session leader opening a tty: its terminal
        from halab.host.runas import run_as
        print(run_as({user.name!r}, [sys.executable, "-c", {attack!r}]).stdout.strip())
    """)
    master, slave = os.openpty()
    try:
        done = subprocess.run([sys.executable, "-c", root_side, str(slave)], capture_output=True, text=True,
                              timeout=60, pass_fds=(slave,))
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("refused:"), done.stdout


def test_a_module_planted_in_the_working_directory_is_not_imported(user: User) -> None:
    with tempfile.TemporaryDirectory(prefix="halab-planted-", dir="/tmp") as folder:  # one the user can reach
        planted = Path(folder)
        planted.chmod(0o755)
        (planted / "json.py").write_text("print('PLANTED')\n")
        done = run_as(user.name, [sys.executable, "-c", "import json; print(json.dumps('real'))"], cwd=planted)
    assert done.returncode == 0 and done.stdout.strip() == '"real"', done.stdout + done.stderr


def test_roots_python_daemons_do_not_import_from_the_folder_root_is_in(tmp_path: Path) -> None:
    """`halab service start` from a folder where a user planted a `halab` package: the daemon (python -m) must
    import halab's own code (it used to import the planted one, as root)."""
    marker = tmp_path / "ran-as-root"
    planted = tmp_path / "cwd"
    (planted / "halab").mkdir(parents=True)
    (planted / "halab" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('planted code ran')\n")
    env = {**os.environ, "HALAB_SERVICE_SOCKET": str(tmp_path / "service.sock"),
           "HALAB_SERVICE_CONFIG": str(tmp_path / "service.toml"), "PYTHONPATH": str(REPO)}
    halab = [str(Path(sys.executable).parent / "halab"), "service"]
    started = subprocess.run([*halab, "start"], cwd=planted, env=env, capture_output=True, text=True, timeout=120)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert not marker.exists(), "root's daemon imported a module from its working directory"
    finally:
        subprocess.run([*halab, "stop"], cwd=tmp_path, env=env, capture_output=True, timeout=120)
