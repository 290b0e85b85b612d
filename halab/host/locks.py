"""Lock files that name their holder and that a dead holder cannot keep.

A lock is an flock(2) on a file. The kernel drops it when the last descriptor of the open file goes, so
normally it dies with the process that took it. It outlives that process only if another process still has
the descriptor: a child forked without exec, or one that was handed the descriptor. halab opens lock files
close-on-exec and starts children with close_fds, so none of its own children should keep one; if one ever
does (a library that forks, a future change), the lock would block every later command on the lab for as
long as that child lives, a container node possibly for days.

So the holder writes who it is into the file (PID, process start time, command). A process that finds the
lock taken reads that record: if the holder still runs, the error names it; if it is gone, the lock is
stale. A stale lock is broken by replacing the file (whoever inherited the old one keeps a lock on a file
nobody uses any more); a guard lock makes sure two processes never break it at the same time, and every
holder checks, once locked, that its file is still the one at the path.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError
from halab.host import procs


@dataclass(frozen=True)
class Holder:
    pid: int
    started: int | None
    command: str

    def running(self) -> bool:
        """The same process (not just the same PID) still runs."""
        if not procs.is_running(self.pid):
            return False
        return self.started is None or procs.start_time(self.pid) == self.started

    def __str__(self) -> str:
        return f"PID {self.pid}: {self.command}" if self.command else f"PID {self.pid}"


def _me() -> Holder:
    pid = os.getpid()
    command = shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv and sys.argv[0] else ""
    return Holder(pid, procs.start_time(pid), command[:200])


def _read_holder(fd: int) -> Holder | None:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"null")
        return Holder(int(record["pid"]), record.get("started"), str(record.get("command", "")))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # not written yet, or by an older halab


def _write_holder(fd: int) -> None:
    data = json.dumps(_me().__dict__).encode()
    with contextlib.suppress(OSError):  # a full disk must not stop the lock from working; only the record is lost
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


_REPLACED = Holder(0, None, "")  # _try_lock's answer when the file was replaced under us: just try again


def _try_lock(path: Path) -> tuple[int | None, Holder | None]:
    """(locked descriptor, None), or (None, the holder as recorded: None if it wrote no record)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_holder(fd)
        os.close(fd)
        return None, holder
    if not _same_file(fd, path):  # broken as stale by someone between our open and our flock
        os.close(fd)
        return None, _REPLACED
    return fd, None


def _break_if_stale(path: Path) -> None:
    """Replace the lock file if its recorded holder is gone (checked again under the guard)."""
    guard = os.open(path.with_name(path.name + ".guard"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX)  # held for microseconds, never across a fork
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return  # free after all (our descriptor's lock goes with it below); the caller tries again
            except BlockingIOError:
                pass
            holder = _read_holder(fd)
            if holder is not None and not holder.running() and _same_file(fd, path):
                path.unlink()
        finally:
            os.close(fd)
    finally:
        os.close(guard)


@contextmanager
def hold(path: Path, busy: Callable[[Holder | None], HalabError], wait: float = 0.0) -> Iterator[None]:
    """Hold the lock at ``path``; while another live process holds it, wait up to ``wait`` seconds, then
    raise ``busy(holder)``. A lock whose holder is gone is broken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    retries = 0  # a replaced or stale file is retried at once, a few times (races with other processes)
    while True:
        fd, holder = _try_lock(path)
        if fd is not None:
            break
        if retries < 20 and (holder is _REPLACED or (holder is not None and not holder.running())):
            retries += 1
            _break_if_stale(path)
            continue
        if time.monotonic() >= deadline:
            raise busy(None if holder is _REPLACED else holder)
        time.sleep(0.01)
    try:
        _write_holder(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # nobody holds it now; an empty record says so
        os.close(fd)
