"""ssh.run reads at most OUTPUT_LIMIT bytes per stream and says when it cut the output off.

No lab here, so the SSH server is paramiko's own server side (paramiko.ServerInterface, the library's API
for writing servers) on a loopback TCP port; it runs each command for real with sh -c and pumps its
output into the channel. The client side is halab's real ssh.connect (pinned host key, key login) and
ssh.run.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import paramiko
import pytest

from halab.errors import HalabError
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
        if command.startswith(b"script:"):  # not a command: the answer, step by step, as the test wants it
            threading.Thread(target=_play, args=(channel, json.loads(command[7:])), daemon=True).start()
            return True
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


def _play(channel: paramiko.Channel, steps: list[list[Any]]) -> None:
    """Answer an exec request step by step: ["out", text], ["err", text], ["status", n], ["sleep", s],
    ["eof"], ["close"] (EOF and close), ["close-without-eof"], ["drop"] (the whole connection)."""
    time.sleep(0.05)  # paramiko acknowledges the exec request only after check_channel_exec_request returns
    for step in steps:
        if step[0] == "out":
            channel.sendall(step[1].encode())
        elif step[0] == "err":
            channel.sendall_stderr(step[1].encode())
        elif step[0] == "status":
            channel.send_exit_status(step[1])
        elif step[0] == "sleep":
            time.sleep(step[1])
        elif step[0] == "eof":
            channel.shutdown_write()
        elif step[0] == "close":
            channel.close()  # paramiko sends EOF first, as sshd does
        elif step[0] == "close-without-eof":  # what the protocol allows a server to do
            message = paramiko.Message()
            message.add_byte(paramiko.common.cMSG_CHANNEL_CLOSE)
            message.add_int(channel.remote_chanid)
            channel.get_transport()._send_user_message(message)  # noqa: SLF001 - no public way to break the rules
        elif step[0] == "drop":
            channel.get_transport().close()


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


def script(*steps: list[Any]) -> str:
    return "script:" + json.dumps(list(steps))


def test_output_after_the_exit_status_is_read_to_its_end(node: tuple[NodeInfo, list]) -> None:
    """The flaky false fail of the infrastructure lab's authkey check: `stat ... && sha256sum ...` came back with
    the stat line only. sshd sends the exit status when the command exits, possibly before the last of its
    output; the answer is whole only with the end of the output (EOF) too."""
    client = ssh.connect(node[0])
    try:
        result = ssh.run(client, script(["out", "400 root root 256\n"], ["status", 0], ["sleep", 0.3],
                                        ["out", "5d41402abc4b2a76b9719d911017c592  /etc/corosync/authkey\n"],
                                        ["err", "late warning\n"], ["eof"], ["close"]))
        assert result.stdout == "400 root root 256\n5d41402abc4b2a76b9719d911017c592  /etc/corosync/authkey\n"
        assert (result.exit_status, result.stderr, result.incomplete) == (0, "late warning\n", "")
        # In many small pieces, the status in the middle: the same.
        pieces = [["out", f"line {i}\n"] for i in range(50)]
        result = ssh.run(client, script(*pieces[:20], ["status", 3], *pieces[20:], ["eof"], ["close"]))
        assert result.stdout == "".join(f"line {i}\n" for i in range(50)) and result.exit_status == 3
    finally:
        client.close()


@pytest.mark.parametrize(("steps", "why"), [
    ([["out", "400 root root 256\n"], ["status", 0], ["close-without-eof"]],
     "closed before the end of the command's output"),
    ([["out", "400 root root 256\n"], ["close-without-eof"]], "closed before the end of the command's output"),
    ([["out", "400 root root 256\n"], ["sleep", 0.2], ["drop"]], "closed before the end of the command's output"),
])
def test_a_channel_closed_early_is_an_incomplete_answer(node: tuple[NodeInfo, list], steps: list[list[Any]],
                                                        why: str) -> None:
    client = ssh.connect(node[0])
    try:
        result = ssh.run(client, script(*steps), timeout=20)
        assert why in result.incomplete and why in result.stderr
        assert result.stdout == "400 root root 256\n"
        if ["status", 0] not in steps:
            assert result.exit_status == ssh.NO_STATUS
    finally:
        client.close()


def test_output_that_never_ends_after_the_exit_is_incomplete(node: tuple[NodeInfo, list],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssh, "EOF_GRACE", 0.3)
    client = ssh.connect(node[0])
    try:
        result = ssh.run(client, script(["out", "part\n"], ["status", 0], ["sleep", 3], ["eof"], ["close"]),
                         timeout=20)
        assert "output did not end within 0.3 s" in result.incomplete and result.exit_status == 0
    finally:
        client.close()


def test_a_command_killed_by_a_signal_is_whole_without_a_status(node: tuple[NodeInfo, list]) -> None:
    """sshd reports a command killed by a signal with "exit-signal", which paramiko does not read: the output
    ended (EOF), so the answer is whole, with no exit status."""
    client = ssh.connect(node[0])
    try:
        result = ssh.run(client, script(["out", "bye\n"], ["eof"], ["close"]))
        assert (result.stdout, result.exit_status, result.incomplete) == ("bye\n", -1, "")
    finally:
        client.close()


def test_halab_ssh_relays_output_that_comes_after_the_exit_status(node: tuple[NodeInfo, list],
                                                                 capfd: pytest.CaptureFixture[str]) -> None:
    """`halab ssh NODE -- CMD` copies the command's output to the terminal: it stopped at the exit status too."""
    from halab.command.ssh import _relay

    client = ssh.connect(node[0])
    try:
        channel = client.get_transport().open_session()  # type: ignore[union-attr]
        channel.exec_command(script(["out", "first\n"], ["status", 4], ["sleep", 0.3], ["out", "second\n"], ["eof"],
                                    ["close"]))
        assert _relay(channel, None) == 4
    finally:
        client.close()
    assert capfd.readouterr().out == "first\nsecond\n"


def test_a_node_that_drops_the_connection_in_the_handshake_is_unreachable_not_an_eof(tmp_path: Path) -> None:
    """A node being fenced (rebooted) while halab connects: sshd sends its banner and the connection ends in the key
    exchange. paramiko then raises the EOFError its transport thread saved, which click turned into "halab:
    interrupted" (exit 130) in the middle of `halab fault ... restore`; it must be a HalabError, which restore's
    wait retries."""
    _, host_public = ssh.new_keypair()
    user_private, _ = ssh.new_keypair()
    key_file = tmp_path / "id_ed25519"
    ssh.write_private_key(key_file, user_private)
    listener = socket.create_server(("127.0.0.1", 0))

    def banner_then_hang_up() -> None:
        with contextlib.suppress(OSError):
            while True:
                sock, _ = listener.accept()
                with sock:
                    sock.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
                    # The end of the stream (FIN), then read until the client gives up: closing with its key
                    # exchange unread would send a reset instead (an OSError, another path), depending on timing.
                    sock.shutdown(socket.SHUT_WR)
                    while sock.recv(4096):
                        pass
    threading.Thread(target=banner_then_hang_up, daemon=True).start()
    info = NodeInfo("node2", "127.0.0.1", listener.getsockname()[1], "root", str(key_file), host_public)
    try:
        with pytest.raises(HalabError, match=r"node2 \(127.0.0.1\) is unreachable over SSH: .*closed"):
            ssh.connect(info, timeout=5)
        with pytest.raises(HalabError, match="did not become reachable over SSH in time"):
            ssh.wait_ready(info, time.monotonic() + 1)
    finally:
        listener.close()
