"""The lab's power switch (halab/fence/daemon.py), started for real on a loopback address.

Each test starts the real daemon the way `halab up` does (fence.start: setsid --fork, readiness on a pipe)
for a lab whose state lives in a temporary HALAB_STATE_DIR, and talks HTTP to it over real sockets. Its
nodes are nspawn nodes that are not running, so status and list are real answers ("off") and nothing is
ever powered on or off.
"""

from __future__ import annotations

import json
import os
import random
import resource
import socket
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from halab import paths
from halab.errors import HalabError
from halab.fence import daemon as fence
from halab.host import procs
from halab.runtime.state import LabState, NodeInfo, lab_dir, save_state

ANSWER_SECONDS = 10.0  # how long a client waits for an answer: far above what the switch needs


@dataclass
class Switch:
    lab: str
    address: str  # a loopback address of its own (all of 127.0.0.0/8 is loopback)
    password: str

    def source(self, last: int) -> str:
        """Another loopback address in the same /24, for a client that must look like another node."""
        return self.address.rsplit(".", 1)[0] + f".{last}"

    def request(self, body: bytes, headers: dict[str, str] | None = None, source: int = 200) -> tuple[int, dict]:
        head = {"Authorization": f"Bearer {self.password}", "Content-Length": str(len(body)), **(headers or {})}
        raw = "POST /power HTTP/1.1\r\nHost: x\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        with socket.create_connection((self.address, fence.PORT), timeout=ANSWER_SECONDS,
                                      source_address=(self.source(source), 0)) as sock:
            sock.sendall(raw.encode() + body)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        status_line, _, rest = reply.partition(b"\r\n")
        return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2] or b"{}")

    def call(self, action: str, plug: str | None = None) -> tuple[int, dict]:
        return self.request(json.dumps({"action": action, "plug": plug}).encode())


def _state(lab: str, names: list[object]) -> LabState:
    state = LabState(lab, "nspawn", "/nonexistent/lab.toml", phase="up")
    state.nodes = [NodeInfo(name, f"10.99.0.{i}", 22, "root", "/k", "ssh-ed25519 AAAA")  # type: ignore[arg-type]
                   for i, name in enumerate(names, start=1)]
    return state


def _start(state_dir: Path, monkeypatch: pytest.MonkeyPatch, nofile: int | None = None) -> Switch:
    monkeypatch.setenv("HALAB_STATE_DIR", str(state_dir))
    lab = f"ft{uuid.uuid4().hex[:8]}"  # unique: the switch is found by its lab's name in /proc
    address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.1"
    save_state(_state(lab, ["node1", "node2"]))
    password = fence.new_password(lab)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if nofile:  # the switch inherits halab's limit on open files; Debian's default is 1024
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
    try:
        fence.start(lab, address)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return Switch(lab, address, password)


@pytest.fixture
def switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Switch]:
    started = _start(tmp_path / "labs", monkeypatch)
    yield started
    fence.stop(started.lab)


def test_it_answers_list_and_status(switch: Switch) -> None:
    assert switch.call("list") == (200, {"nodes": {"node1": "off", "node2": "off"}})
    assert switch.call("status", "node2") == (200, {"status": "off"})
    code, body = switch.call("status", "node9")
    assert code == 400 and "no node 'node9'" in body["error"]


def test_it_refuses_a_wrong_password(switch: Switch) -> None:
    answer = switch.request(b'{"action": "list"}', {"Authorization": "Bearer guess"})
    assert answer == (403, {"error": "wrong password"})


@pytest.mark.parametrize(("body", "headers", "code", "says"), [
    (b'["status", "node1"]', {}, 400, "must be a JSON object"),
    (b"{not json", {}, 400, "not JSON"),
    (b"", {"Content-Length": "-1"}, 400, "negative"),
    (b"", {"Content-Length": "99999999999"}, 413, "larger than"),
    (b"", {"Content-Length": "ten"}, 400, "not a number"),
])
def test_bad_requests_get_an_answer(switch: Switch, body: bytes, headers: dict[str, str], code: int,
                                    says: str) -> None:
    answer_code, answer = switch.request(body, headers)
    assert answer_code == code and says in answer["error"]
    assert switch.call("list")[0] == 200, "the switch must keep working"


def test_an_unexpected_failure_is_answered_and_logged(switch: Switch) -> None:
    # A state file that parses but is wrong inside (a node name that is a number) makes the provider fail
    # with an error nobody planned for (TypeError).
    save_state(_state(switch.lab, [5, "node2"]))
    code, body = switch.request(b'{"action": "status", "plug": 5}')
    assert code == 500 and "the power switch failed: TypeError" in body["error"]
    assert "internal error" in (lab_dir(switch.lab) / "fence.log").read_text()
    save_state(_state(switch.lab, ["node1", "node2"]))
    assert switch.call("status", "node1") == (200, {"status": "off"})


def test_a_full_disk_does_not_stop_the_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        full = _start(mount_point / "labs", monkeypatch)
        try:
            with open(mount_point / "filler", "wb", buffering=0) as handle, pytest.raises(OSError):
                while True:
                    handle.write(b"x" * 4096)
            # The switch cannot write its log line now; it must answer anyway.
            assert full.call("list") == (200, {"nodes": {"node1": "off", "node2": "off"}})
        finally:
            fence.stop(full.lab)
    finally:  # the switch may still hold its log open for a moment after stop(): never leave the mount behind
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def test_the_password_file_is_private_even_if_an_old_one_was_not(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    old = fence.password_file("demo")
    old.parent.mkdir(parents=True)
    old.write_text("an old password")
    old.chmod(0o644)
    password = fence.new_password("demo")
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert old.read_text() == password


def test_another_process_on_the_port_is_refused_and_never_gets_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    lab = f"ft{uuid.uuid4().hex[:8]}"
    address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.1"
    save_state(_state(lab, ["node1", "node2"]))
    fence.new_password(lab)
    with socket.socket() as impostor:
        impostor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        impostor.bind((address, fence.PORT))
        impostor.listen()
        try:
            with pytest.raises(HalabError, match=rf"already taken by PID {os.getpid()} .*password is not sent"):
                fence.start(lab, address)
        finally:
            fence.stop(lab)
        assert not fence.running(lab)
        impostor.settimeout(0.5)
        with pytest.raises(TimeoutError):
            impostor.accept()  # nobody (halab least of all) connected to it


def _idle_connections(switch: Switch, sources: range, per_source: int) -> list[socket.socket]:
    """Connections that say nothing, from several addresses; stops early if the switch stops accepting."""
    opened = []
    for last in sources:
        for _ in range(per_source):
            sock = socket.socket()
            opened.append(sock)
            sock.bind((switch.source(last), 0))
            sock.settimeout(2)
            try:
                sock.connect((switch.address, fence.PORT))
            except TimeoutError:
                return opened  # its queue of new connections is full: the switch is not accepting any more
    return opened


def _slow_client(switch: Switch, source: int, stop: threading.Event, cut: list[float]) -> None:
    """Sends a request one byte at a time, never finishing its headers and never giving the password.
    Records when the switch ended the connection."""
    started = time.monotonic()
    with socket.create_connection((switch.address, fence.PORT), source_address=(switch.source(source), 0)) as sock:
        sock.settimeout(0.3)
        for byte in b"POST /power HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 1000:
            if stop.is_set():
                return
            try:
                sock.send(bytes([byte]))
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
    cut.append(time.monotonic() - started)


def test_idle_and_slow_clients_cannot_stop_the_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    switch = _start(tmp_path / "labs", monkeypatch, nofile=1024)
    stop, cut = threading.Event(), []
    slow = [threading.Thread(target=_slow_client, args=(switch, 3 + n % 3, stop, cut)) for n in range(12)]
    idle: list[socket.socket] = []
    try:
        for thread in slow:
            thread.start()
        idle = _idle_connections(switch, range(10, 50), 30)  # 1200 connections: more than 1024 open files
        time.sleep(0.5)
        # The node that fences, from an address of its own, gets its answer.
        assert switch.call("status", "node1") == (200, {"status": "off"})
        for thread in slow:
            thread.join(timeout=3 * fence.REQUEST_SECONDS + 5)
        assert len(cut) == len(slow), "slow clients must be cut off after the request deadline"
        assert switch.call("list")[0] == 200
    finally:
        stop.set()
        for sock in idle:
            sock.close()
        fence.stop(switch.lab)


def test_a_switch_started_before_halab_was_updated_runs_older_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """After an upgrade while a lab is up, `halab up LAB` restarts a switch that runs the old code (it would
    import the new code into its old at its next power action)."""
    started = procs.started_at(os.getpid())
    assert started is not None
    monkeypatch.setattr(fence, "_daemon_pids", lambda _lab: [os.getpid()])
    monkeypatch.setattr(paths, "code_changed_at", lambda: started + 60)  # updated after it started
    assert fence.runs_older_code("clustering")
    monkeypatch.setattr(paths, "code_changed_at", lambda: started - 60)  # updated before
    assert not fence.runs_older_code("clustering")
    monkeypatch.setattr(fence, "_daemon_pids", lambda _lab: [])
    assert not fence.runs_older_code("clustering")


def test_a_switch_is_stopped_only_from_its_own_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two halab checkouts on one host, each with its own HALAB_STATE_DIR and a lab of the same name: one's `down`
    stopped the other's power switch (switches were found by lab name alone), and its fencing failed."""
    started = _start(tmp_path / "a", monkeypatch)
    try:
        monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "b"))
        assert not fence.running(started.lab)
        fence.stop(started.lab)
        monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "a"))
        assert fence.running(started.lab), "another state directory's down stopped this switch"
    finally:
        monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "a"))
        fence.stop(started.lab)
    assert not fence.running(started.lab)
