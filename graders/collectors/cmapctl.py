"""`corosync-cmapctl` -> {key: value}: lines like ``runtime.members.1.status (str) = joined``."""

from __future__ import annotations

import re

from graders.collectors import ParseError

_LINE = re.compile(r"^(\S+) \((\w+)\) = ?(.*)$")


def parse(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if match := _LINE.match(line):
            values[match.group(1)] = match.group(3)
    if not values:
        raise ParseError("corosync-cmapctl printed no keys")
    return values


def members(values: dict[str, str]) -> dict[int, dict[str, str]]:
    """runtime.members.<id>.* grouped by node id (status 'joined' or 'left', ip, ...)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in values.items():
        parts = key.split(".")
        if len(parts) == 4 and parts[:2] == ["runtime", "members"] and parts[2].isdigit():
            found.setdefault(int(parts[2]), {})[parts[3]] = value
    return found
