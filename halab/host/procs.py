"""Processes on the lab host, seen through /proc: alive or not, who they are, and signals that never raise.

A process that has exited but was not reaped is a zombie: /proc/PID still exists, but it runs nothing and
holds nothing (no files, no locks, no memory). halab starts nodes and the power switch with ``setsid
--fork``, so they are children of the host's init; where that init does not reap (a container's minimal
init, a CI runner's process manager), every ended node stays a zombie for good. So "gone" here means "not
running", never "no /proc entry".
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from pathlib import Path


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may contain spaces and parentheses)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return text.rpartition(")")[2].split()


def state(pid: int) -> str | None:
    """The process state letter (R, S, D, Z, X, ...), or None if there is no such process."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def is_running(pid: int) -> bool:
    """True while the process exists and has not exited (a zombie has exited)."""
    return state(pid) not in (None, "Z", "X")


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the PID, an identity that survives PID reuse."""
    fields = _stat_fields(pid)
    # Field 22 of stat(5); fields[0] is field 3 (the state).
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def started_at(pid: int) -> float | None:
    """When the process started, in seconds since the epoch (None if there is no such process)."""
    ticks = start_time(pid)
    if ticks is None:
        return None
    try:
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def runs_as_root(pid: int) -> bool:
    """Whether the process runs as root on the host: real, effective, saved and filesystem uid all 0. A command
    line is anyone's to choose, and a setuid-root program a user starts keeps the user's real uid; this tells
    halab's own daemons and nodes from a user's process made to look like them."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError):
        return False
    uids = next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])
    return len(uids) == 4 and all(uid == "0" for uid in uids)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def send_signal(pid: int, sig: int = signal.SIGKILL) -> bool:
    """Signal a process; a process that is already gone is fine (returns False), never an exception."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
        return True
    return False


def wait_gone(pids: list[int], seconds: float) -> bool:
    """Wait until none of the processes runs any more (zombies count as gone); False on timeout."""
    deadline = time.monotonic() + seconds
    while any(is_running(pid) for pid in pids):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def read_line(fd: int, seconds: float) -> str:
    """The first line written to the pipe, "" if every writer closed it or nothing came in time."""
    data = b""
    deadline = time.monotonic() + seconds
    while b"\n" not in data and (left := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").partition("\n")[0]


def start_daemon(argv: list[str], log: Path, seconds: float) -> str:
    """Start ``argv`` in a session of its own (it outlives us, ignores our Ctrl-C and is never our zombie),
    with ``--ready-fd N`` appended: a pipe on which the daemon reports readiness itself ("ready PID", or
    "error ..."). Returns that line, or "" if nothing came within ``seconds``."""
    read_end, write_end = os.pipe()
    try:
        with open(log, "ab") as handle:
            subprocess.run(["setsid", "--fork", *argv, "--ready-fd", str(write_end)], stdin=subprocess.DEVNULL,
                           stdout=handle, stderr=handle, pass_fds=(write_end,), check=True)
        os.close(write_end)
        write_end = -1
        return read_line(read_end, seconds)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def report_ready(fd: int | None, line: str) -> None:
    """The daemon's side of start_daemon: say "ready PID" or "error ..." once, then close the pipe."""
    if fd is None:
        return
    with contextlib.suppress(OSError):
        os.write(fd, (line + "\n").encode())
        os.close(fd)
