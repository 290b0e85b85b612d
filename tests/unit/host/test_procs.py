"""Processes that have ended: zombies are not alive, and signalling a process that is gone is not an error.

Real processes throughout: a child forked and deliberately not reaped is a real zombie, as the nodes'
systemd-nspawn processes become on a host whose init does not reap them (or reaps them late), and as the
stand-in nspawn below is until the test reaps it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.host import procs
from halab.providers.nspawn.provider import NspawnProvider, _node_dir
from halab.runtime.state import LabState


def _wait_for_state(pid: int, wanted: str) -> None:
    deadline = time.monotonic() + 10
    while procs.state(pid) != wanted:
        assert time.monotonic() < deadline, f"process {pid} never reached state {wanted}"
        time.sleep(0.01)


@pytest.fixture
def zombie() -> Iterator[int]:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    _wait_for_state(pid, "Z")
    yield pid
    os.waitpid(pid, 0)


def test_a_zombie_is_not_running(zombie: int) -> None:
    assert Path(f"/proc/{zombie}").exists(), "a zombie still has its /proc entry"
    assert not procs.is_running(zombie)
    assert procs.wait_gone([zombie], 5)


def test_a_live_process_is_running_until_it_ends() -> None:
    with subprocess.Popen(["sleep", "30"]) as child:
        assert procs.is_running(child.pid)
        assert not procs.wait_gone([child.pid], 0.2)
        child.kill()
        child.wait()
    assert not procs.is_running(child.pid)


def test_signalling_a_process_that_is_gone_does_not_raise() -> None:
    child = subprocess.Popen(["true"])
    child.wait()  # reaped: the PID is free now
    assert procs.send_signal(child.pid, signal.SIGKILL) is False
    with subprocess.Popen(["sleep", "30"]) as alive:
        assert procs.send_signal(alive.pid, signal.SIGKILL) is True
        alive.wait()


def test_nspawn_power_cut_does_not_wait_for_zombies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for a node's systemd-nspawn: a real process with the command line halab recognises as the
    node's nspawn, whose child plays the container's init. As with the real nspawn, it exits once its init
    is killed; nobody reaps it yet (we are its parent and wait only afterwards), so it stays a zombie."""
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    state = LabState("zombielab", "nspawn", "")
    root = _node_dir(state.lab, "node1") / "root"
    root.mkdir(parents=True)
    fake_nspawn = subprocess.Popen(
        ["bash", "-c", "exec -a systemd-nspawn bash -c 'sleep 60 & wait' shell --directory=" + str(root)])
    try:
        deadline = time.monotonic() + 10
        while not (NspawnProvider().node_running(state, "node1") and _children_of(fake_nspawn.pid)):
            assert time.monotonic() < deadline, "the stand-in nspawn did not start"
            time.sleep(0.01)
        NspawnProvider()._kill(state, "node1")  # without the zombie fix: "systemd-nspawn ... does not exit"
        assert not NspawnProvider().node_running(state, "node1")
        assert procs.state(fake_nspawn.pid) == "Z", "the test needs its stand-in to be a zombie here"
    finally:
        fake_nspawn.kill()
        fake_nspawn.wait()


def _children_of(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def test_a_process_started_now_is_dated_now_and_this_one_earlier() -> None:
    before = time.time()
    proc = subprocess.Popen(["sleep", "30"])
    try:
        started = procs.started_at(proc.pid)
        assert started is not None and before - 1 <= started <= time.time() + 1
        own = procs.started_at(os.getpid())
        assert own is not None and own <= started
    finally:
        proc.kill()
        proc.wait()
    assert procs.started_at(proc.pid) is None  # reaped: no such process
