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
import signal
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
