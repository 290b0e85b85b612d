"""`drbdadm status RES` (drbd-utils 9, also on the 8.4 module) -> role, disk, and the peer's connection.

    r0 role:Primary
      disk:UpToDate
      peer role:Secondary
        replication:Established peer-disk:UpToDate
    r0 role:Secondary
      disk:Inconsistent
      peer connection:Connecting        (or: r0 ... StandAlone shows as connection:StandAlone)
"""

from __future__ import annotations

from graders.collectors import ParseError


def _pairs(words: list[str], peer: bool) -> dict[str, str]:
    pairs = dict(word.split(":", 1) for word in words if ":" in word)
    return {(f"peer-{k}" if peer and not k.startswith("peer") else k): v for k, v in pairs.items()}


def parse(text: str) -> dict[str, str]:
    """Keys: resource, role, disk; peer (its name), peer-role, peer-connection, peer-replication, peer-disk."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or " role:" not in lines[0] or lines[0].startswith(" "):
        raise ParseError(f"drbdadm status printed no resource line ({text.strip()[:60]!r})")
    words = lines[0].split()
    status = {"resource": words[0], **_pairs(words[1:], peer=False)}
    for line in lines[1:]:
        indent = len(line) - len(line.lstrip())
        words = line.split()
        if indent <= 2 and ":" not in words[0]:  # "  peer role:Secondary" / "  node2 connection:Connecting"
            status["peer"] = words[0]
            status.update(_pairs(words[1:], peer=True))
        else:  # "  disk:UpToDate" is ours; deeper lines describe the peer's replication and disk
            status.update(_pairs(words, peer=indent > 2))
    return status
