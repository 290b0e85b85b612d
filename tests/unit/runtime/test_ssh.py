"""ssh.run reads at most OUTPUT_LIMIT bytes per stream and says when it cut the output off.

No lab here, so the SSH server is paramiko's own server side (paramiko.ServerInterface, the library's API
for writing servers) on a loopback TCP port; it runs each command for real with sh -c and pumps its
output into the channel. The client side is halab's real ssh.connect (pinned host key, key login) and
ssh.run.
"""

from __future__ import annotations

import io
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import paramiko
import pytest

from halab.runtime import ssh
from halab.runtime.state import NodeInfo


class _CommandServer(paramiko.ServerInterface):
    def __init__(self, allowed: paramiko.PKey, processes: list[subprocess.Popen[bytes]]) -> None:
        self.allowed = allowed
        self.processes = processes

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        return paramiko.AUTH_SUCCESSFUL if key == self.allowed else paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        process = subprocess.Popen(["sh", "-c", command.decode()], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.processes.append(process)
        threading.Thread(target=_serve_command, args=(channel, process), daemon=True).start()
        return True


def _pump(source: IO[bytes], send: Callable[[bytes], object], process: subprocess.Popen[bytes]) -> None:
    try:
        while data := source.read1(65536):  # type: ignore[attr-defined]
            send(data)
    except (OSError, EOFError):
        process.kill()  # the client closed the channel: like sshd, end the command that writes into it


def _serve_command(channel: paramiko.Channel, process: subprocess.Popen[bytes]) -> None:
    pumps = [threading.Thread(target=_pump, args=(process.stdout, channel.sendall, process)),
             threading.Thread(target=_pump, args=(process.stderr, channel.sendall_stderr, process))]
    for pump in pumps:
        pump.start()
    for pump in pumps:
        pump.join()
    status = process.wait()
    status = 128 - status if status < 0 else status  # killed by a signal: as a shell reports it
    try:
        channel.send_exit_status(status)
        channel.shutdown_write()
        # paramiko acknowledges the exec request only after check_channel_exec_request has returned, so a quick
        # command's close could reach the client before the acknowledgement (the client then says "Channel
        # closed."); sshd acknowledges before the command starts. Wait for the client to close first.
        deadline = time.monotonic() + 10
        while not channel.closed and time.monotonic() < deadline:
            time.sleep(0.01)
        channel.close()
    except (OSError, EOFError):
        pass


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[NodeInfo, list[subprocess.Popen[bytes]]]]:
    host_private, host_public = ssh.new_keypair()
    user_private, user_public = ssh.new_keypair()
    key_file = tmp_path / "id_ed25519"
    ssh.write_private_key(key_file, user_private)
    host_key = paramiko.Ed25519Key.from_private_key(io.StringIO(host_private))
    user_key = paramiko.Ed25519Key.from_private_key(io.StringIO(user_private))
    listener = socket.create_server(("127.0.0.1", 0))
    processes: list[subprocess.Popen[bytes]] = []
    transports: list[paramiko.Transport] = []

    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(sock)
            transport.add_server_key(host_key)
            transport.start_server(server=_CommandServer(user_key, processes))
            transports.append(transport)

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    yield NodeInfo("node1", "127.0.0.1", port, "root", str(key_file), host_public), processes
    listener.close()
    for transport in transports:
        transport.close()
    for process in processes:
        process.kill()
        process.wait()


def test_ordinary_output_is_whole(node: tuple[NodeInfo, list]) -> None:
    client = ssh.connect(node[0])
    try:
        result = ssh.run(client, "echo hello; echo oops >&2; exit 3")
        assert (result.exit_status, result.stdout, result.stderr, result.truncated) == (3, "hello\n", "oops\n", False)
        big = ssh.run(client, "head -c 300000 /dev/zero | tr '\\0' a")
        assert len(big.stdout) == 300000 and big.ok and not big.truncated
    finally:
        client.close()


@pytest.mark.parametrize("command", [
    "ln -sf /dev/zero /tmp/halab-test-zero-$$ && cat /tmp/halab-test-zero-$$; rm -f /tmp/halab-test-zero-$$",
    "cat /dev/zero >&2",
])
def test_endless_output_is_cut_off_and_says_so(node: tuple[NodeInfo, list], command: str) -> None:
    info, processes = node
    client = ssh.connect(info)
    try:
        # A long timeout: without the cap this would read until the timeout (exit 124), not stop at the cap.
        result = ssh.run(client, command, timeout=120, limit=200_000)
        assert result.truncated
        assert result.exit_status == ssh.CUT_OFF_STATUS
        stream = result.stdout if "&2" not in command else result.stderr.split("\nhalab:")[0]
        assert len(stream) == 200_000 and set(stream) == {"\0"}
        assert "halab: output cut off at 200000 bytes" in result.stderr
        assert ssh.run(client, "echo still here").stdout == "still here\n", "the connection must stay usable"
    finally:
        client.close()
    processes[0].wait(timeout=30)  # the endless command ends once we stop reading (else: TimeoutExpired)


def test_a_kept_connection_to_a_node_that_rebooted_is_made_again(node: tuple[NodeInfo, list], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen in the drbd lab's test: the failover fault check power-cycles a node, and the next command on the
    # connection kept from before failed with "Connection reset by peer" although the node was back.
    from halab import paths
    from halab.lab import Lab
    from halab.runtime.state import LabState, save_state

    info, _ = node
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path / "state")
    save_state(LabState("demo", "nspawn", "/x/demo.toml", phase="up", nodes=[info]))
    lab = Lab("demo")
    try:
        assert lab.run("node1", "echo before").stdout == "before\n"
        lab.client("node1").get_transport().sock.close()  # type: ignore[union-attr]  # the node's power cycle
        with pytest.raises(ssh.ConnectionLost) as lost:
            ssh.run(lab._clients["node1"], "echo never")  # noqa: SLF001
        assert not lost.value.started, "the session could not even be opened"
        assert lab.run("node1", "echo after").stdout == "after\n"
    finally:
        lab.close()
