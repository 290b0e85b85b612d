"""The lab state under pressure: concurrent writers, a damaged lab beside a healthy one, a full disk.

Real processes and threads write through the same functions halab's commands and the power switch use;
the full disk is a real tmpfs of a few KiB mounted for the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.command.ssh import find_lab
from halab.errors import HalabError
from halab.lab import Lab, damaged_labs, running_labs
from halab.runtime.state import LabState, NodeInfo, load_state, save_state, update_state
from tests.support.paths import REPO

PROJECT = REPO


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "labs"))
    return tmp_path / "labs"


def _lab_up(name: str, nodes: tuple[str, ...] = ("node1", "node2")) -> LabState:
    state = LabState(name, "nspawn", str(PROJECT / "labs" / "clustering.toml"), phase="up")
    for index, node in enumerate(nodes, start=1):
        state.nodes.append(NodeInfo(node, f"10.99.0.{index}", 22, "root", "/nonexistent", "ssh-ed25519 AAAA"))
    state.provider_data["pids"] = {}
    save_state(state)
    return state


# What `halab fault` does (faults.record) and what the power switch does after a power action
# (nspawn._save_pid on the state it loaded when the request came in), in separate processes at once.
FAULT_WRITER = """
import sys
from halab.runtime import faults
from halab.lab import Lab
for i in range(int(sys.argv[2])):
    faults.record(Lab(sys.argv[1]), "node2", {"fault": "kill-daemon", "writer": sys.argv[3], "n": i})
"""
SWITCH_WRITER = """
import sys
from halab.providers.nspawn.provider import _save_pid
from halab.runtime.state import load_state
for i in range(int(sys.argv[2])):
    state = load_state(sys.argv[1])  # loaded at request time; faults are recorded meanwhile
    state.provider_data["pids"]["node1"] = 1000 + i
    _save_pid(state, "node1")
"""


def _python(code: str, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.PIPE)


def test_the_switch_never_overwrites_faults_recorded_meanwhile() -> None:
    _lab_up("race")
    writers = [_python(FAULT_WRITER, "race", "40", f"w{n}") for n in range(3)]
    switch = _python(SWITCH_WRITER, "race", "120")
    for process in [*writers, switch]:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err.decode()
    state = load_state("race")
    assert state is not None
    recorded = {(f["writer"], f["n"]) for f in state.provider_data["faults"]["node2"]}
    assert recorded == {(f"w{w}", n) for w in range(3) for n in range(40)}, "fault records were lost"
    assert state.provider_data["pids"]["node1"] == 1119


def test_threads_of_one_process_take_turns() -> None:
    """The power switch serves requests in threads: each thread's change survives the others'."""
    _lab_up("threads")

    def bump(state: LabState) -> None:
        state.provider_data["count"] = state.provider_data.get("count", 0) + 1

    def work() -> None:
        for _ in range(25):
            update_state("threads", bump)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = load_state("threads")
    assert state is not None and state.provider_data["count"] == 200


def test_update_of_a_lab_that_is_not_up_is_a_clear_error() -> None:
    with pytest.raises(HalabError, match="lab 'nothing' is not up; start it with: halab up nothing"):
        update_state("nothing", lambda state: None)


@pytest.fixture
def damaged_beside_healthy(state_dir: Path) -> None:
    _lab_up("clustering")
    (state_dir / "broken").mkdir(parents=True)
    (state_dir / "broken" / "state.json").write_text('{"lab": "broken", "nodes": [')


@pytest.mark.usefixtures("damaged_beside_healthy")
def test_a_damaged_lab_does_not_break_the_others() -> None:
    assert running_labs() == ["clustering"]
    assert "halab down broken" in damaged_labs()["broken"]
    # The case: `halab ssh node1` looks for the lab that has node1.
    assert find_lab("node1", None).name == "clustering"
    status = Lab("broken").status()
    assert status["phase"] == "damaged" and "halab down broken" in status["problem"]
    assert Lab("clustering").status()["phase"] == "up"


@pytest.mark.usefixtures("damaged_beside_healthy")
def test_halab_status_reports_the_damaged_lab_and_the_healthy_one() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    as_json = subprocess.run([sys.executable, "-m", "halab", "status", "--json"], env=env, capture_output=True,
                             text=True, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    labs = {lab["lab"]: lab for lab in json.loads(as_json.stdout)["labs"]}
    assert labs["clustering"]["phase"] == "up"
    assert labs["broken"]["phase"] == "damaged" and "halab down broken" in labs["broken"]["problem"]
    as_text = subprocess.run([sys.executable, "-m", "halab", "status"], env=env, capture_output=True, text=True,
                             timeout=60)
    assert as_text.returncode == 0 and "Traceback" not in as_text.stderr, as_text.stderr
    assert "lab clustering" in as_text.stdout and "damaged" in as_text.stdout  # the answer, on stdout


@pytest.fixture
def tiny_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real 64 KiB filesystem: writes beyond it fail with ENOSPC, as on a full disk."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    monkeypatch.setenv("HALAB_STATE_DIR", str(mount_point / "labs"))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_is_a_clear_error_and_leaves_the_old_state(tiny_disk: Path) -> None:
    state = _lab_up("full")
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as handle, pytest.raises(OSError):
        while True:
            handle.write(b"x" * 4096)
    state.provider_data["big"] = "y" * 20000
    with pytest.raises(HalabError, match="cannot save the state of lab 'full'.*disk is full"):
        save_state(state)
    with pytest.raises(HalabError, match="disk is full"):
        update_state("full", lambda saved: saved.provider_data.update(big="z" * 20000))
    leftovers = [p.name for p in (tiny_disk / "labs" / "full").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    saved = load_state("full")
    assert saved is not None and "big" not in saved.provider_data, "the last good state must survive"
