"""/etc/booth/booth.conf -> the booth configuration: transport, port, sites, arbitrators and tickets.

booth reads ``key = value`` lines (values may be quoted, ``#`` starts a comment); ``site`` and ``arbitrator``
may repeat; ``ticket = "NAME"`` starts a ticket, and the options after it (expire, timeout, retries, ...)
belong to that ticket until the next one. Options before the first ticket are defaults for every ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError

_ASSIGNMENT = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$")
# Options booth knows for a ticket; anything else after a ticket line is a typo booth would refuse.
TICKET_OPTIONS = {"expire", "timeout", "retries", "weights", "acquire-after", "before-acquire-handler",
                  "renewal-freq", "mode", "attr-prereq", "site-user", "site-group", "arbitrator-user",
                  "arbitrator-group"}


@dataclass
class BoothConf:
    options: dict[str, str] = field(default_factory=dict)
    sites: list[str] = field(default_factory=list)
    arbitrators: list[str] = field(default_factory=list)
    tickets: dict[str, dict[str, str]] = field(default_factory=dict)

    def ticket_option(self, ticket: str, option: str) -> str | None:
        """A ticket's option, or the default given before the tickets, or None (booth's built-in default)."""
        return self.tickets.get(ticket, {}).get(option, self.options.get(option))


def _value(text: str) -> str:
    text = text.split("#", 1)[0].strip() if not text.startswith(('"', "'")) else text
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse(text: str) -> BoothConf:
    conf = BoothConf()
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            raise ParseError(f"line {number}: {line[:60]!r} is not 'key = value'")
        key, value = match[1], _value(match[2])
        if key == "site":
            conf.sites.append(value)
        elif key == "arbitrator":
            conf.arbitrators.append(value)
        elif key == "ticket":
            if not value:
                raise ParseError(f"line {number}: a ticket needs a name")
            current = conf.tickets.setdefault(value, {})
        elif current is not None:
            if key not in TICKET_OPTIONS:
                raise ParseError(f"line {number}: {key!r} is not a ticket option booth knows")
            current[key] = value
        else:
            conf.options[key] = value
    return conf
