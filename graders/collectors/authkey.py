"""`stat -c '%a %U %G %s' FILE && sha256sum FILE` -> file mode, owner, size and checksum."""

from __future__ import annotations

from dataclasses import dataclass

from graders.collectors import ParseError


@dataclass(frozen=True)
class FileInfo:
    mode: str  # octal, as stat prints it: "400"
    owner: str
    group: str
    size: int
    sha256: str


def parse(text: str) -> FileInfo:
    lines = text.split("\n")
    try:
        mode, owner, group, size = lines[0].split()
        digest = lines[1].split()[0]
        if len(digest) != 64:
            raise ValueError("checksum")
        return FileInfo(mode, owner, group, int(size), digest)
    except (ValueError, IndexError):
        raise ParseError(f"cannot read file facts from {text[:80]!r}") from None
