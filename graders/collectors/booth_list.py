"""`booth list` -> the tickets booth knows and where each is granted, as the local booth daemon sees them.

One line per ticket: ``ticket: NAME, leader: LEADER[, expires: DATE TIME][ (commit pending until ...)]`` with
``[manual mode]`` for manual tickets; ``leader: NONE`` when no site holds it. booth adds a ``WARNING: The ticket
NAME is granted to multiple sites: A, B. ...`` line when it knows of a double grant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

_LINE = re.compile(r"^ticket: (?P<name>[^,]+), leader: (?P<leader>[^,\s]+)(?:, expires: (?P<expires>[^(\[]+?))?"
                   r"(?P<pending> \(commit pending until [^)]*\))?(?P<manual> \[manual mode\])?\s*$")
_MULTIPLE = re.compile(r"^WARNING: The ticket (\S+) is granted to multiple sites: (.*?)\. ")


@dataclass(frozen=True)
class Ticket:
    name: str
    leader: str  # the site address that holds it, or "" when none does
    expires: str
    manual: bool
    commit_pending: bool


@dataclass(frozen=True)
class BoothList:
    tickets: dict[str, Ticket]
    granted_to_several: dict[str, list[str]]  # ticket -> the sites booth knows it is granted to


def parse(text: str) -> BoothList:
    tickets: dict[str, Ticket] = {}
    several: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        if match:
            leader = match["leader"]
            tickets[match["name"]] = Ticket(match["name"], "" if leader == "NONE" else leader,
                                            (match["expires"] or "").strip(), bool(match["manual"]),
                                            bool(match["pending"]))
            continue
        warning = _MULTIPLE.match(line)
        if warning:
            several[warning[1]] = [site.strip() for site in warning[2].split(",")]
            continue
        raise ParseError(f"unexpected line {line[:80]!r} (not a 'ticket: ..., leader: ...' line)")
    return BoothList(tickets, several)
