"""Sandboxes for code nobody vouches for (students' notebooks at grading): bubblewrap, run by a system account
of its own, with resource limits.

bubblewrap (Debian's `bubblewrap`, not setuid) builds the sandbox from an unprivileged user namespace, so the
account that runs it needs nothing but the host allowing such namespaces (`unshare -U` as a normal user:
``userns_problem`` says so when it does not). Root starts it as that account; inside, the process has no
capability, no network (a network namespace with only its own loopback), its own PID, IPC and UTS
namespaces, a session of its own (no terminal to push keystrokes into), cannot make further user namespaces,
and dies with the process that started it. It sees:

- the system read-only: /usr (and the /bin, /lib, /sbin links into it), /etc, fresh /proc and /dev;
- the binds it is given (``Mount``): read-only ones (halab's checkout and its venv) and writable ones (the
  folder it works in), each at the path it names, and read-only empty folders to hold them;
- a fresh, size-limited /tmp; everything else is an empty, read-only root: no /home, /root, /srv, /var, /run.

Limits (``Limits``): prlimit before bwrap, so they hold for everything inside: processes (RLIMIT_NPROC counts
the tasks of the account, which is why every course has an account of its own), address space, file size,
CPU time, open files, no core dumps. Disk: every writable place is a tmpfs of a fixed size. The host's cgroups
are not used here: this host has cgroup v1, whose memory controller halab does not own (see README,
"Classroom").
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError

BWRAP = "bwrap"
SYSTEM_LINKS = ("/bin", "/lib", "/lib64", "/sbin")  # /usr-merged Debian: links into /usr
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    processes: int = 96  # tasks (threads count) of the account at once
    address_space: int = 4096 * MIB  # per process; a Python kernel with matplotlib maps ~1 GiB
    file_size: int = 64 * MIB  # per file written
    cpu_seconds: int = 900  # per process
    open_files: int = 512
    tmp_size: int = 64 * MIB  # the fresh /tmp

    def prlimit(self) -> list[str]:
        return ["prlimit", f"--nproc={self.processes}", f"--as={self.address_space}", f"--fsize={self.file_size}",
                f"--cpu={self.cpu_seconds}", f"--nofile={self.open_files}", "--core=0", "--"]


@dataclass(frozen=True)
class Mount:
    """One step of the sandbox's file system, in order: a bind (read-only unless ``writable``), or with no
    source an empty directory (a tiny tmpfs) that is made read-only by a later step with ``seal``."""

    source: str
    target: str
    writable: bool = False
    seal: bool = False  # make ``target`` (a mount point made before) read-only

    def options(self) -> list[str]:
        if self.seal:
            return ["--remount-ro", self.target]
        if not self.source:
            return ["--perms", "0555", "--size", str(MIB), "--tmpfs", self.target]
        return ["--bind" if self.writable else "--ro-bind", self.source, self.target]


def system_mounts() -> list[str]:
    """bwrap options for the read-only system."""
    options = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            options += ["--ro-bind", link, link]
    return options + ["--proc", "/proc", "--dev", "/dev"]


def bwrap_argv(argv: Sequence[str], mounts: Sequence[Mount], cwd: str, env: Mapping[str, str], limits: Limits,
               info_fd: int | None = None) -> list[str]:
    """The command line that runs ``argv`` in the sandbox (see the module docstring), limits first."""
    command = [*limits.prlimit(), BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
               "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox", *system_mounts(),
               "--size", str(limits.tmp_size), "--tmpfs", "/tmp"]
    for mount in mounts:
        command += mount.options()
    command += ["--remount-ro", "/", "--chdir", cwd, "--clearenv"]
    for key, value in sorted(env.items()):
        command += ["--setenv", key, value]
    if info_fd is not None:
        command += ["--info-fd", str(info_fd)]
    return [*command, "--", *argv]


def userns_problem() -> str:
    """Why an unprivileged account cannot run bwrap here ("" if it can): bwrap needs user namespaces."""
    try:
        probe = subprocess.run([BWRAP, "--unshare-user", "--ro-bind", "/", "/", "true"], capture_output=True,
                               text=True, timeout=30, user="nobody", start_new_session=True, cwd="/",
                               env={"PATH": "/usr/bin:/bin"})
    except FileNotFoundError:
        return "bubblewrap is not installed (apt-get install bubblewrap; scripts/install.sh installs it)"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not be run as nobody: {exc}"
    if probe.returncode != 0:
        return (f"bwrap cannot make a user namespace as an unprivileged user here ({probe.stderr.strip()}): allow them "
                "(sysctl kernel.unprivileged_userns_clone=1, or user.max_user_namespaces above 0)")
    return ""


def system_account(name: str, comment: str) -> pwd.struct_passwd:
    """A system account (made if missing, by root): a group of its own, no home, no login shell, no password."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    made = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--comment", comment.replace(":", " "), name],
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise HalabError(f"useradd {name} failed: {made.stderr.strip() or f'exit {made.returncode}'}")
    return pwd.getpwnam(name)


def remove_system_account(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["userdel", name], capture_output=True)


def tmpfs(path: Path, size: int, inodes: int, mode: int) -> None:
    """A tmpfs of a fixed size and number of files mounted at ``path`` (made if missing), root's."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes},mode={mode:o}", "tmpfs",
                           str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise HalabError(f"cannot mount a tmpfs on {path}: {done.stderr.strip()}")
