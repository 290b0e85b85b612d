"""The lab service's wire: a Unix stream socket carrying one JSON object per line.

A request is ``{"op": ..., "lab": ... or null, "args": {...}}``; the service answers with any number of
``{"progress": "..."}`` lines and then exactly one ``{"result": ...}`` or ``{"error": "..."}``. Lines are
bounded (a request is small; a result carries a lab's raw facts), so neither side can be made to read
without end.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from halab import jsonload
from halab.errors import HalabError

MAX_REQUEST = 64 * 1024
MAX_REPLY = 64 * 1024 * 1024  # a check's raw facts: some MiB for a lab of five nodes at most
OPS = ("labs", "up", "down", "status", "access", "check", "fault", "solve", "break", "whoami")


def socket_path() -> Path:
    return Path(os.environ.get("HALAB_SERVICE_SOCKET", "/run/halab/service.sock"))


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


class LineReader:
    """Reads newline-terminated JSON objects from a socket, each at most ``limit`` bytes."""

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.sock, self.limit, self.buffer = sock, limit, b""

    def next(self, seconds: float | None = None) -> dict[str, Any] | None:
        """The next message; None at the end of the stream. HalabError for an oversized or garbled one, or one
        that has not come whole within ``seconds`` (a deadline for the whole message, not for each read: a
        peer trickling a byte at a time cannot hold the reader longer)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while b"\n" not in self.buffer:
            if len(self.buffer) > self.limit:
                raise HalabError(f"a message longer than {self.limit} bytes")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HalabError(f"the request did not arrive whole within {seconds:g} s")
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise HalabError(f"the request did not arrive whole within {seconds:g} s") from None
            if not chunk:
                if self.buffer.strip():
                    raise HalabError("the other side hung up in the middle of a message")
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        if len(line) > self.limit:
            raise HalabError(f"a message longer than {self.limit} bytes")
        try:
            message = jsonload.loads(line)  # json.loads alone raises RecursionError on deep nesting
        except jsonload.TooDeep as exc:
            raise HalabError(f"a message that is refused: {exc}") from None
        except ValueError:
            raise HalabError("a message that is not JSON") from None
        if not isinstance(message, dict):
            raise HalabError("a message that is not a JSON object")
        return message
