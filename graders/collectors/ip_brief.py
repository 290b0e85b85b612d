"""`ip -brief address show` -> each interface's state and addresses.

One line per interface: name (``eth0@if4`` inside a container: the part after ``@`` is the peer's index),
state (UP, DOWN, UNKNOWN), then its addresses with prefix length: ``eth0@if4  UP  10.42.50.11/24 10.42.50.100/24``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from graders.collectors import ParseError


@dataclass(frozen=True)
class Interface:
    name: str
    state: str
    addresses: tuple[str, ...]  # "10.42.50.100/24"

    def has(self, address: str) -> bool:
        return any(a.split("/")[0] == address for a in self.addresses)


def parse(text: str) -> dict[str, Interface]:
    interfaces = {}
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if len(words) < 2:
            raise ParseError(f"not an 'ip -brief address' line: {line[:60]!r}")
        name = words[0].split("@")[0]
        for address in words[2:]:
            try:
                ipaddress.ip_interface(address)
            except ValueError:
                raise ParseError(f"{address[:40]!r} on {name} is not an address") from None
        interfaces[name] = Interface(name, words[1], tuple(words[2:]))
    if not interfaces:
        raise ParseError("ip printed no interfaces")
    return interfaces


def holds(interfaces: dict[str, Interface], address: str) -> str | None:
    """The interface that carries the address, if any."""
    return next((i.name for i in interfaces.values() if i.has(address)), None)
