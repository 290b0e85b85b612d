"""/etc/corosync/corosync.conf -> nested sections, parsed the way Corosync's own parser reads it.

Corosync wants every ``key: value`` and every ``name {`` on its own line; ``node { name: x`` on one line is
a parse error for Corosync, so it is one here too (with the line number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError

_SECTION = re.compile(r"^([A-Za-z0-9_.-]+)\s*\{$")
_KEY = re.compile(r"^([A-Za-z0-9_.-]+)\s*:\s*(.*?)\s*$")


@dataclass
class Section:
    name: str
    values: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    def all(self, name: str) -> list[Section]:
        return [s for s in self.sections if s.name == name]

    def first(self, name: str) -> Section | None:
        found = self.all(name)
        return found[0] if found else None

    def get(self, path: str) -> str | None:
        """A value by dotted path, e.g. ``totem.cluster_name`` (first section of each name)."""
        *sections, key = path.split(".")
        current: Section | None = self
        for name in sections:
            current = current.first(name) if current else None
        return current.values.get(key) if current else None


def parse(text: str) -> Section:
    root = Section("")
    stack = [root]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            if len(stack) == 1:
                raise ParseError(f"line {number}: '}}' without a matching section")
            stack.pop()
        elif match := _SECTION.match(line):
            section = Section(match.group(1))
            stack[-1].sections.append(section)
            stack.append(section)
        elif (match := _KEY.match(line)) and "{" not in line and "}" not in line:
            stack[-1].values[match.group(1)] = match.group(2)
        else:
            raise ParseError(f"line {number}: Corosync cannot parse '{raw.strip()}' "
                             "(each 'key: value' and each 'section {' needs a line of its own)")
    if len(stack) != 1:
        raise ParseError(f"section '{stack[-1].name}' is never closed with '}}'")
    return root
