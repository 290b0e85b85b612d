"""`booth peers` -> the other booth members (sites and arbitrators) and what the local daemon heard from them.

For each peer: ``<type> <address>, last recv: YYYY-MM-DD HH:MM:SS`` then ``Sent pkts:N error:N resends:N`` and
``Recv pkts:N error:N authfail:N invalid:N``. A peer never heard from shows 0 packets received (and the
epoch as its last time); authfail counts packets signed with another authkey.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

_PEER = re.compile(r"^(?P<type>site|arbitrator)\s+(?P<address>\S+), last recv: (?P<last>.+?)\s*$")
_SENT = re.compile(r"^Sent pkts:(\d+) error:(\d+) resends:(\d+)$")
_RECV = re.compile(r"^Recv pkts:(\d+) error:(\d+) authfail:(\d+) invalid:(\d+)$")


@dataclass
class Peer:
    type: str  # site | arbitrator
    address: str
    last_recv: str
    sent: int = 0
    received: int = 0
    authfail: int = 0
    invalid: int = 0

    @property
    def heard(self) -> bool:
        return self.received > 0 and not self.last_recv.startswith("1970-")


def parse(text: str) -> list[Peer]:
    peers: list[Peer] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        peer = _PEER.match(line)
        if peer:
            peers.append(Peer(peer["type"], peer["address"], peer["last"]))
            continue
        if not peers:
            raise ParseError(f"unexpected line {line[:80]!r} (not a booth peer)")
        sent, received = _SENT.match(line), _RECV.match(line)
        if sent:
            peers[-1].sent = int(sent[1])
        elif received:
            peers[-1].received, peers[-1].authfail, peers[-1].invalid = (int(received[1]), int(received[3]),
                                                                        int(received[4]))
        else:
            raise ParseError(f"unexpected line {line[:80]!r} in booth peers")
    return peers
