"""`crm_ticket --details` -> the tickets a Pacemaker cluster knows, granted or revoked, standby or not.

One line per ticket: ``NAME<TAB>granted|revoked [standby]`` (nine spaces instead of ``[standby]``), then with
--details `` (name=value, ...)``: what booth stored with it (owner, expires, term, ...; times quoted). A
ticket that an rsc_ticket constraint names but that was never granted is listed as revoked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError

_LINE = re.compile(r"^(?P<name>\S+)\t(?P<state>granted|revoked) (?P<standby>\[standby\]|\s*)"
                   r"(?: \((?P<details>.*)\))?\s*$")


@dataclass(frozen=True)
class ClusterTicket:
    name: str
    granted: bool
    standby: bool
    details: dict[str, str] = field(default_factory=dict)


def _details(text: str) -> dict[str, str]:
    found = {}
    for part in re.split(r", (?=[\w-]+=)", text):
        key, _, value = part.partition("=")
        found[key.strip()] = value.strip().strip("'")
    return found


def parse(text: str) -> dict[str, ClusterTicket]:
    tickets = {}
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if not match:
            raise ParseError(f"unexpected line {raw.strip()[:80]!r} (not 'TICKET<tab>granted|revoked')")
        tickets[match["name"]] = ClusterTicket(match["name"], match["state"] == "granted",
                                               match["standby"] == "[standby]",
                                               _details(match["details"]) if match["details"] else {})
    return tickets
