"""`systemd-analyze cat-config sysctl.d` -> the kernel settings applied at boot, file by file, in the order
systemd-sysctl applies them (so a later assignment of a key wins).

Each file is printed after a ``# /etc/sysctl.d/90-x.conf`` line; assignments are ``key = value``, where the key
may use ``/`` for ``.`` and a leading ``-`` (ignore errors for that key).
"""

from __future__ import annotations

from dataclasses import dataclass

from graders.collectors import ParseError


@dataclass(frozen=True)
class Assignment:
    key: str
    value: str
    file: str


def parse(text: str) -> list[Assignment]:
    assignments, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("# /"):
            current = line[2:].strip()
            continue
        if not line or line[0] in "#;":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue  # systemd-sysctl ignores such lines too, with a warning
        if not current:
            raise ParseError("sysctl settings before any file name: not systemd-analyze cat-config output")
        assignments.append(Assignment(key.strip().lstrip("-").replace("/", "."), value.strip(), current))
    return assignments


def boot_value(assignments: list[Assignment], key: str) -> Assignment | None:
    """The assignment of ``key`` that wins at boot (the last one), if any."""
    found = [a for a in assignments if a.key == key]
    return found[-1] if found else None
