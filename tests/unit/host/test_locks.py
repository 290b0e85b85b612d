"""The lab lock dies with its holder: real processes take it, start children the way halab does, and get
SIGKILLed; the next command must get the lock, and a live holder must be named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.fence import daemon as fence
from halab.host import procs
from halab.runtime.state import LabState, lab_lock, save_state
from tests.support.paths import REPO

PROJECT = REPO


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "labs"))
    return f"lk{uuid.uuid4().hex[:8]}"  # unique: the switch is found by its lab's name in /proc


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def _holder(code: str, lab: str, started: list[subprocess.Popen[str]]) -> tuple[subprocess.Popen[str], str]:
    """A real process that takes the lab lock, runs ``code`` under it, says "ready" (and the value of
    ``extra`` if the code set one), then sleeps; returns the process and that value."""
    script = ("import sys, time\nfrom halab.runtime.state import lab_lock\nlab = sys.argv[1]\n"
              "with lab_lock(lab):\n" + "".join(f"    {line}\n" for line in code.splitlines()) +
              "    print('ready', globals().get('extra', ''), flush=True)\n    time.sleep(120)\n")
    process = subprocess.Popen([sys.executable, "-c", script, lab], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(PROJECT)})
    started.append(process)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("ready"), f"the lock holder did not get going (said {line!r})"
    return process, line.removeprefix("ready").strip()


def _sigkill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_live_holder_is_named(lab: str, started: list[subprocess.Popen[str]]) -> None:
    holder, _ = _holder("pass", lab, started)
    with pytest.raises(HalabError, match=rf"another halab command \(PID {holder.pid}: .*\) is working on lab"), \
            lab_lock(lab):
        pass
    _sigkill(holder)
    with lab_lock(lab):
        pass


def test_a_lock_inherited_by_a_child_of_a_killed_holder_is_stale(lab: str,
                                                                started: list[subprocess.Popen[str]]) -> None:
    """The worst case: the holder forked a child that kept the lock's descriptor (a fork without exec), and
    the holder was SIGKILLed. The kernel keeps that lock as long as the child lives."""
    code = "import os, time\nextra = os.fork()\nif extra == 0:\n    time.sleep(120)\n    os._exit(0)"
    holder, output = _holder(code, lab, started)
    child = int(output)
    try:
        _sigkill(holder)
        assert procs.is_running(child), "the child that inherited the lock should still run"
        with lab_lock(lab):  # without stale-lock recognition: "another halab command is working on lab"
            pass
    finally:
        procs.send_signal(child)


def test_children_started_the_way_halab_starts_them_do_not_keep_the_lock(lab: str,
                                                                         started: list[subprocess.Popen[str]]) -> None:
    """Under the lock, the holder starts the lab's power switch (fence.start: setsid --fork) and a long-lived
    process the way nspawn nodes are started (setsid --fork, output to a file); then it is SIGKILLed."""
    save_state(LabState(lab, "nspawn", "", phase="up"))
    fence.new_password(lab)
    marker = f"{3600 + int(uuid.uuid4().int % 1000)}.5"
    code = ("import subprocess\nfrom halab.fence import daemon as fence\nfence.start(lab, '127.77.3.1')\n"
            "with open('/dev/null', 'ab') as out:\n"
            f"    subprocess.run(['setsid', '--fork', 'sleep', '{marker}'], stdin=subprocess.DEVNULL, stdout=out,"
            " stderr=out, check=True)")
    holder, _ = _holder(code, lab, started)
    sleeper = _wait_for_command(["sleep", marker])
    try:
        lock_file = Path(os.environ["HALAB_STATE_DIR"]) / f".{lab}.lock"
        for pid in [*fence._daemon_pids(lab), sleeper]:
            assert not _has_open(pid, lock_file), f"PID {pid} ({procs.command_line(pid)}) inherited the lab lock"
        _sigkill(holder)
        assert fence.running(lab), "the switch outlives the command that started it"
        with lab_lock(lab):
            pass
    finally:
        fence.stop(lab)
        procs.send_signal(sleeper)


def _wait_for_command(args: list[str]) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and procs.command_line(int(entry.name)) == " ".join(args):
                return int(entry.name)
        time.sleep(0.02)
    raise AssertionError(f"{args} did not start")


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
