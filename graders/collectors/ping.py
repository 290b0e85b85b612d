"""`ping -D -i INTERVAL ADDRESS` (iputils) -> the replies and the longest silence between two of them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

# [1796135752.972774] 64 bytes from 10.42.61.50: icmp_seq=12 ttl=64 time=0.512 ms
_REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) ")


@dataclass(frozen=True)
class PingRun:
    replies: tuple[tuple[float, int], ...]  # (timestamp, icmp_seq) of every reply, in order
    longest_gap: float  # seconds between the two replies furthest apart (0 with fewer than two)
    gap_after: float  # timestamp of the reply that ended the longest gap

    def downtime(self, interval: float) -> float:
        """How long the address did not answer: the longest gap less the interval between two pings."""
        return max(0.0, self.longest_gap - interval)


def parse(text: str) -> PingRun:
    replies = tuple((float(m[1]), int(m[2])) for m in map(_REPLY.match, text.splitlines()) if m)
    if not replies and "PING" not in text:
        raise ParseError("not the output of ping -D")
    gap, after = 0.0, replies[0][0] if replies else 0.0
    for (earlier, _), (later, _) in zip(replies, replies[1:], strict=False):
        if later - earlier > gap:
            gap, after = later - earlier, later
    return PingRun(replies, round(gap, 3), after)
