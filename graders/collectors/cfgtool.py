"""`corosync-cfgtool -s` (Corosync 3.1 format) -> links and the state of each peer on each link.

    Local node ID 1, transport knet
    LINK ID 0 udp
            addr    = 10.42.10.11
            status:
                    nodeid:          2:     connected
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError


@dataclass
class Links:
    local_nodeid: int
    transport: str
    # link id -> {peer node id: "connected" | "disconnected" | "localhost" | ...}
    links: dict[int, dict[int, str]] = field(default_factory=dict)


def parse(text: str) -> Links:
    header = re.search(r"Local node ID (\d+), transport (\w+)", text)
    if not header:
        raise ParseError("corosync-cfgtool output has no 'Local node ID ..., transport ...' line")
    result = Links(int(header.group(1)), header.group(2))
    link = None
    for line in text.splitlines():
        if match := re.match(r"LINK ID (\d+)", line.strip()):
            link = int(match.group(1))
            result.links[link] = {}
        elif (match := re.match(r"nodeid:\s+(\d+):\s+(.+)$", line.strip())) and link is not None:
            result.links[link][int(match.group(1))] = match.group(2).strip()
    return result
