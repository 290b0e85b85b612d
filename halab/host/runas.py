"""Running a command as another Unix user (root only): the classroom's steps that touch a student's or the
instructor's files, and grading, which runs the students' code and so must never run as root.

What the user's process gets from root, and nothing more:

- the user's uid, primary group and only their own supplementary groups (none of root's);
- a session of its own (setsid), so it has no controlling terminal: it cannot push keystrokes into root's
  shell (TIOCSTI) or read from it, and its output reaches root's terminal only through a pipe root reads;
- an environment made from an allow-list (PASSED_ON: the venv's PATH, the locale, halab's own HALAB_*
  settings but no secret among them), plus the user's HOME, USER and LOGNAME: no token, agent socket or
  other setting of root's;
- a working directory of root's (``/``) unless the caller names one, and PYTHONSAFEPATH=1, so that a Python
  started with ``-m`` or ``-c`` never imports a module the user planted in the directory it runs in.

Root's own Python children (daemons, nbgrader on a root course) get PYTHONSAFEPATH from ``harden_root()``,
which the `halab` command calls first when it runs as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from halab.errors import HalabError

PASSED_ON = ("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "COLUMNS", "LINES", "NO_COLOR", "PYTHONPATH")
PASSED_ON_PREFIXES = ("LC_", "HALAB_")
SECRETS = ("HALAB_COURSE_TOKEN",)  # a JupyterLab's token: root's own server, never a user's business
SAFE_PATH = {"PYTHONSAFEPATH": "1"}


def account(user: str | int) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(user) if isinstance(user, int) else pwd.getpwnam(user)
    except KeyError:
        raise HalabError(f"there is no user {user!r} on this host") from None


def passed_on(env: Mapping[str, str]) -> dict[str, str]:
    """The part of an environment that may reach another user's process (see the module docstring)."""
    return {k: v for k, v in env.items()
            if (k in PASSED_ON or k.startswith(PASSED_ON_PREFIXES)) and k not in SECRETS}


def user_env(entry: pwd.struct_passwd, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = passed_on(os.environ if base is None else base)
    env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name, **SAFE_PATH)
    return env


def groups_of(entry: pwd.struct_passwd) -> list[int]:
    return [g for g in os.getgrouplist(entry.pw_name, entry.pw_gid) if g != entry.pw_gid]


def harden_root() -> None:
    """For a process of root's: its Python children never put their working directory (which may be a user's
    folder root happened to be in) first on sys.path."""
    if os.geteuid() == 0:
        os.environ.update(SAFE_PATH)


def run_as(user: str | int, argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None,
           capture: bool = True, timeout: float | None = None, input_text: str | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run argv as the user (from root); their output captured, or with ``capture`` False copied to ours as it
    comes (through a pipe: the user's process holds no descriptor of root's terminal)."""
    entry = account(user)
    options: dict[str, Any] = {"cwd": cwd or "/", "env": user_env(entry, env), "user": entry.pw_uid,
                               "group": entry.pw_gid, "extra_groups": groups_of(entry), "start_new_session": True}
    try:
        if capture or input_text is not None:
            return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input_text,
                                  stdin=None if input_text is not None else subprocess.DEVNULL, **options)
        with subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              **options) as proc:
            assert proc.stdout is not None
            sys.stdout.flush()  # what we printed before comes first
            shutil.copyfileobj(proc.stdout, sys.stdout.buffer, 4096)
            sys.stdout.flush()
            return subprocess.CompletedProcess(list(argv), proc.wait(timeout))
    except subprocess.TimeoutExpired:
        raise HalabError(f"{argv[0]} as {entry.pw_name} took more than {timeout:g} s") from None
    except OSError as exc:
        raise HalabError(f"cannot run {argv[0]} as {entry.pw_name}: {exc.strerror or exc}") from None


WRITE_PRIVATE = """
import os, sys
descriptor = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
with os.fdopen(descriptor, "w") as handle:
    handle.write(sys.stdin.read())
os.chmod(sys.argv[1], 0o600)
"""


def write_private_as(user: str | int, path: Path, text: str) -> None:
    """Write a file (0600) in a folder of the user's, as the user: root never follows a link they planted."""
    done = run_as(user, [sys.executable, "-I", "-c", WRITE_PRIVATE, str(path)], input_text=text, timeout=60)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HalabError(f"cannot write {path} as {account(user).pw_name}: {detail}")
