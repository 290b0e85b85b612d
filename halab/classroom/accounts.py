"""Unix accounts for the classroom: checked before anything is made, made with useradd, passwords with chpasswd.

Students and the instructor log in to JupyterHub with their Unix account's password (JupyterHub's PAM
authenticator), so an account halab makes gets a random first password, written to the instructor's 0600
file; an account that exists keeps its own. Only ordinary accounts take part: root and system accounts
(uids outside UID_MIN..UID_MAX, such as nobody) never, as JupyterHub would start a server as them.
"""

from __future__ import annotations

import csv
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError

PASSWORD_BYTES = 9  # 12 characters of URL-safe base64: 72 bits


def ordinary_uids() -> range:
    """The uids of ordinary accounts: login.defs UID_MIN to UID_MAX (1000 to 60000 on Debian)."""
    limits = {"UID_MIN": 1000, "UID_MAX": 60000}
    try:
        for line in Path("/etc/login.defs").read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in limits and parts[1].isdigit():
                limits[parts[0]] = int(parts[1])
    except OSError:
        pass
    return range(limits["UID_MIN"], limits["UID_MAX"] + 1)


@dataclass(frozen=True)
class AccountPlan:
    """What to do for one user: use the account that exists (uid set), or make it (uid None)."""

    user: str
    home: str
    uid: int | None


def plan_account(user: str, home: str, role: str, expected: str | None) -> AccountPlan:
    """Check a user before anything is made; HalabError with one sentence if they cannot take part. An account
    that exists must have ``home`` as its home, unless ``expected`` is None (any home will do); ``expected``
    says where that home comes from, for the message."""
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        if Path(home).exists():
            raise HalabError(f"{user} has no account, but their home {home} exists already (left by an account "
                             "removed earlier?): remove it, or give that user another name") from None
        return AccountPlan(user, home, None)
    if entry.pw_uid not in ordinary_uids():
        raise HalabError(f"{user} is a system account (uid {entry.pw_uid}) and cannot be a {role}: JupyterHub would "
                         "start a server as that account")
    if expected is not None and os.path.realpath(entry.pw_dir) != os.path.realpath(home):
        raise HalabError(f"{user} exists with home {entry.pw_dir}, not {home} as {expected}: to use the account as it "
                         "is, give its home in the roster's home column; else choose another user name")
    if not Path(entry.pw_dir).is_dir():
        raise HalabError(f"{user} exists, but their home {entry.pw_dir} is missing; make it or fix the account")
    return AccountPlan(user, entry.pw_dir, entry.pw_uid)


def make_account(plan: AccountPlan, full_name: str) -> tuple[int, str]:
    """Make the account (home 0700, a group of its own) with a random password; (uid, password)."""
    comment = full_name.replace(":", " ").replace(",", " ")
    command = ["useradd", "--create-home", "--home-dir", plan.home, "--shell", "/bin/bash", "--user-group",
               *(["--comment", comment] if comment else []), plan.user]
    made = subprocess.run(command, capture_output=True, text=True)
    if made.returncode != 0:
        raise HalabError(f"useradd {plan.user} failed: {made.stderr.strip() or f'exit {made.returncode}'}")
    try:
        os.chmod(plan.home, 0o700)
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        changed = subprocess.run(["chpasswd"], input=f"{plan.user}:{password}\n", capture_output=True, text=True)
        if changed.returncode != 0:
            raise HalabError(f"chpasswd for {plan.user} failed: {changed.stderr.strip()}")
    except (OSError, HalabError):
        remove_account(plan.user)
        raise
    return pwd.getpwnam(plan.user).pw_uid, password


def remove_account(user: str) -> None:
    """Remove an account halab made, with its home (undoing a half-made step)."""
    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        return
    subprocess.run(["userdel", "--remove", user], capture_output=True)
    shutil.rmtree(home, ignore_errors=True)


def chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def append_passwords(path: Path, owner: str, rows: list[tuple[str, str]]) -> None:
    """Add user,password lines to the instructor's password file (0600, theirs; made if missing)."""
    if not rows:
        return
    new = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if new:
            writer.writerow(["user", "password"])
        writer.writerows(rows)
    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    os.chmod(path, 0o600)
