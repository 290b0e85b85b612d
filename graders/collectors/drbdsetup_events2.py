"""`drbdsetup events2 --now RES` -> the resource's objects and their properties (works on DRBD 8.4 and 9).

    exists resource name:r0 role:Primary suspended:no
    exists connection name:r0 peer-node-id:0 conn-name:peer connection:Connected role:Secondary
    exists device name:r0 volume:0 minor:0 disk:UpToDate
    exists peer-device name:r0 peer-node-id:0 conn-name:peer volume:0 replication:Established peer-disk:UpToDate
    exists -
"""

from __future__ import annotations

from graders.collectors import ParseError


def parse(text: str) -> dict[str, dict[str, str]]:
    """{object type: {property: value}} (one object of each type: the lab has one volume and one peer)."""
    objects: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] not in ("exists", "change", "create", "destroy", "call", "response"):
            continue
        if words[1] == "-":
            continue
        properties = dict(word.split(":", 1) for word in words[2:] if ":" in word)
        objects.setdefault(words[1], {}).update(properties)
    if "resource" not in objects:
        raise ParseError("drbdsetup events2 shows no resource (is it up?)")
    return objects
