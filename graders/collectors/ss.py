"""`ss -Hltnp` -> the TCP sockets listening on the node, with the process that owns each.

A line: ``LISTEN 0 4096 10.42.50.100:80 0.0.0.0:* users:(("haproxy",pid=397,fd=6))``; the local address is
``0.0.0.0:80``, ``*:80`` or ``[::]:80`` for every address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

_PROCESS = re.compile(r'\("([^"]+)",pid=')
WILDCARDS = ("0.0.0.0", "*", "::", "")


@dataclass(frozen=True)
class Listener:
    address: str
    port: int
    processes: tuple[str, ...]

    def serves(self, address: str, port: int) -> bool:
        """Whether a connection to address:port reaches this socket."""
        return self.port == port and (self.address == address or self.address in WILDCARDS)


def parse(text: str) -> list[Listener]:
    listeners = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] != "LISTEN" or len(words) < 5:
            raise ParseError(f"not an 'ss -Hltnp' line: {line[:60]!r}")
        host, _, port = words[3].rpartition(":")
        host = host.strip("[]")
        host = host.split("%")[0]  # 0.0.0.0%eth0: bound to a device
        if not port.isdigit():
            raise ParseError(f"{words[3]!r} is not an address:port")
        listeners.append(Listener(host, int(port), tuple(_PROCESS.findall(line))))
    return listeners


def listening(listeners: list[Listener], address: str, port: int, process: str) -> Listener | None:
    return next((s for s in listeners if s.serves(address, port) and process in s.processes), None)
