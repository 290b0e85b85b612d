"""`corosync-quorumtool -s -p` -> Quorum. (Exit 0 when quorate, 2 when not; the text says the same.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from graders.collectors import ParseError


@dataclass(frozen=True)
class Member:
    nodeid: int
    votes: int
    name: str


@dataclass
class Quorum:
    quorate: bool
    nodes: int
    expected_votes: int
    total_votes: int
    quorum: int
    flags: list[str] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)


def parse(text: str) -> Quorum:
    values: dict[str, str] = {}
    members: list[Member] = []
    in_members = False
    for line in text.splitlines():
        if line.startswith("Membership information"):
            in_members = True
            continue
        if in_members:
            words = line.split()
            if words and words[0].isdigit():
                # "Nodeid Votes [Qdevice] Name": the name is the first word after the numbers and flags.
                name_words = [w for w in words[2:] if w not in ("NR", "A", "V", "NMW", "NA", "MW")]
                name = name_words[0] if name_words else words[0]
                members.append(Member(int(words[0]), int(words[1]), name))
            continue
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    try:
        return Quorum(
            quorate=values["Quorate"] == "Yes",
            nodes=int(values["Nodes"]),
            expected_votes=int(values["Expected votes"]),
            total_votes=int(values["Total votes"]),
            quorum=int(values["Quorum"].split()[0]),
            flags=values.get("Flags", "").split(),
            members=members,
        )
    except (KeyError, ValueError, IndexError) as exc:
        raise ParseError(f"corosync-quorumtool output lacks or garbles {exc}") from None
