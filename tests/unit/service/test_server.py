"""The lab service's front door under a hostile caller (halab/service/server.py): a real service on a socket of
the test's own, no labs. Each of these failed on the main this branch started from: the request line had a
deadline per read (a trickle held a thread for ever), connections had no cap, nested JSON raised RecursionError
out of the reader, and raw request fields were logged before they were checked, newlines and all."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from halab.access.protocol import LineReader, send
from halab.runtime.quotas import load_quotas
from halab.service import server


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "state"))
    log = tmp_path / "log" / "service.log"
    config = tmp_path / "service.toml"
    config.write_text(f'[service]\nrequest_seconds = 1\nconnections = 6\nconnections_per_user = 3\nlog = "{log}"\n'
                      "log_kib = 16\nlog_files = 2\n")
    quotas = load_quotas(config)
    path = tmp_path / "service.sock"
    server._Handler.service = server.Service(quotas)
    listener = server._Server(str(path), quotas)
    server.setup(log, quotas.settings.log_kib, quotas.settings.log_files)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        yield path, log
    finally:
        listener.shutdown()
        listener.server_close()


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(path))
    return sock


def answer(sock: socket.socket) -> dict:
    message = LineReader(sock, 1 << 20).next()
    assert message is not None
    return message


def ask(path: Path, line: bytes) -> dict:
    with connect(path) as sock:
        with contextlib.suppress(BrokenPipeError):  # refused before it read: its answer is there (as the client)
            sock.sendall(line)
        return answer(sock)


def test_a_trickling_request_is_cut_off_at_its_deadline(service: tuple[Path, Path]) -> None:
    path, _ = service
    with connect(path) as sock:
        started = time.monotonic()
        reply: dict = {}
        for byte in b'{"op": "whoami"':  # a byte every 0.2 s: each read is quick, the whole never comes
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.2)
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                data = b""
            sock.setblocking(True)
            if data:
                reply = json.loads(data.split(b"\n")[0])
                break
        assert "within 1 s" in reply.get("error", ""), reply
        assert time.monotonic() - started < 3


def test_connections_are_capped_per_user_and_the_service_keeps_answering(service: tuple[Path, Path]) -> None:
    path, _ = service
    held = [connect(path) for _ in range(3)]  # three requests open, none sent yet (the per-user cap)
    try:
        time.sleep(0.2)
        refused = ask(path, b'{"op": "whoami"}\n')
        assert "requests open" in refused["error"], refused
    finally:
        for sock in held:
            sock.close()
    time.sleep(1.5)  # their threads end at the request deadline
    assert ask(path, b'{"op": "whoami"}\n')["result"]["uid"] >= 0


def test_deeply_nested_json_is_refused_in_one_line(service: tuple[Path, Path]) -> None:
    path, _ = service
    reply = ask(path, b'{"op": "whoami", "args": ' + b"[" * 30000 + b"]" * 30000 + b"}\n")
    assert "levels deep (at most 64" in reply["error"], reply
    assert ask(path, b'{"op": "whoami"}\n')["result"]["uid"] >= 0  # and the service is still there


def test_the_log_has_checked_fields_only_one_line_each_and_a_bound(service: tuple[Path, Path]) -> None:
    path, log = service
    forged = "clustering\n2099-01-01 00:00:00 root (uid 0): down everything"
    for _ in range(60):  # ~60 x 300 bytes: past the 16 KiB rotation
        reply = ask(path, json.dumps({"op": "status", "lab": forged, "args": {"junk": "x" * 2000}}).encode() + b"\n")
        assert "not a valid lab name" in reply["error"]
    ask(path, json.dumps({"op": "not-an-op\nforged"}).encode() + b"\n")
    text = "".join(p.read_text() for p in sorted(log.parent.glob("service.log*")))
    assert "status refused" in text and "unknown request refused" in text
    assert "xxxxxxxxxx" not in text  # no raw request bodies
    assert not any(line.startswith("2099") for line in text.splitlines())  # no forged lines
    assert all(p.stat().st_size <= 16 * 1024 + 512 for p in log.parent.glob("service.log*"))
    assert len(list(log.parent.glob("service.log*"))) <= 3
    assert log.stat().st_mode & 0o077 == 0


def test_sending_garbage_then_hanging_up_is_fine(service: tuple[Path, Path]) -> None:
    path, _ = service
    with connect(path) as sock:
        send(sock, {"op": "whoami"})
        assert "result" in answer(sock)
    with connect(path) as sock:
        sock.sendall(b"\xff\xfe not json\n")
        assert "not JSON" in answer(sock)["error"]
