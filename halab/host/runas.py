"""Running a command as another Unix user (root only): the classroom's steps that touch a student's or the
instructor's files, and grading, which runs the students' code and so must never run as root.

The process gets the user's uid, primary group and only their own supplementary groups (none of root's), and
an environment of theirs (HOME, USER, LOGNAME) on top of ours, so that the venv, PYTHONPATH and HALAB_*
settings still apply.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from halab.errors import HalabError


def account(user: str | int) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(user) if isinstance(user, int) else pwd.getpwnam(user)
    except KeyError:
        raise HalabError(f"there is no user {user!r} on this host") from None


def user_env(entry: pwd.struct_passwd, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    for private in ("XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "JUPYTER_RUNTIME_DIR"):
        env.pop(private, None)  # root's own folders, which the user may not write
    return env


def groups_of(entry: pwd.struct_passwd) -> list[int]:
    return [g for g in os.getgrouplist(entry.pw_name, entry.pw_gid) if g != entry.pw_gid]


def run_as(user: str | int, argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None,
           capture: bool = True, timeout: float | None = None, input_text: str | None = None,
           ) -> subprocess.CompletedProcess[str]:
    """Run argv as the user (from root); their output captured unless ``capture`` is False."""
    entry = account(user)
    try:
        return subprocess.run(list(argv), cwd=cwd or entry.pw_dir, env=user_env(entry, env), user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=groups_of(entry), capture_output=capture, text=True,
                              timeout=timeout, input=input_text, stdin=None if input_text else subprocess.DEVNULL)
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
    done = run_as(user, [sys.executable, "-c", WRITE_PRIVATE, str(path)], cwd=path.parent, input_text=text,
                  timeout=60)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise HalabError(f"cannot write {path} as {account(user).pw_name}: {detail}")
