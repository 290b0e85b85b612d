"""keepalived's data file -> its VRRP instances, tracked scripts and processes, as the running daemon sees them.

``kill -USR1 $(cat /run/keepalived.pid)`` (the signal ``keepalived --signum=DATA`` names) makes keepalived 2.2
write /tmp/keepalived.data: sections under ``------< VRRP Topology >------`` lines, each holding blocks that
start one space in (`` VRRP Instance = VI_1``) with ``Key = Value`` fields three spaces in and lists
(``Tracked scripts :``, ``Virtual IP (1):``) whose items are indented further. This is the daemon's own view:
the configuration after includes and defaults, and the live state (MASTER, BACKUP, FAULT), the effective
priority and each tracked script's status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graders.collectors import ParseError

_SECTION = re.compile(r"^-+< (?P<name>.+?) >-+$")
_BLOCK_KEYS = {"VRRP Instance", "VRRP Script", "VRRP Track process", "VRRP Track file", "VRRP Sync Group", "Name"}


@dataclass
class Block:
    kind: str  # "VRRP Instance", "VRRP Script", ...; "" for a section's loose fields
    name: str
    fields: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def number(self, key: str, default: int = 0) -> int:
        match = re.match(r"-?\d+", self.fields.get(key, ""))
        return int(match.group()) if match else default


@dataclass(frozen=True)
class Tracked:
    name: str
    weight: int


@dataclass(frozen=True)
class Instance:
    name: str
    state: str  # MASTER, BACKUP, FAULT, INIT, STOP
    router_id: int
    priority: int
    effective_priority: int
    advert_interval: str
    preempt: bool
    preempt_delay: str
    interface: str
    virtual_ips: tuple[str, ...]  # "10.42.50.100/24 dev eth0 scope global set": "set" when this node holds it
    unicast_peers: tuple[str, ...]
    scripts: tuple[Tracked, ...]
    processes: tuple[Tracked, ...]

    def has_address(self, address: str) -> bool:
        return any(vip.split("/")[0].split()[0] == address for vip in self.virtual_ips)


@dataclass(frozen=True)
class Script:
    name: str
    command: str
    status: str  # GOOD, BAD, INIT ...
    weight: int
    interval: str


@dataclass(frozen=True)
class Process:
    name: str
    process: str
    current: int
    minimum: int
    quorum: bool
    weight: int


@dataclass(frozen=True)
class KeepalivedData:
    router_id: str
    instances: tuple[Instance, ...]
    scripts: dict[str, Script]
    processes: dict[str, Process]


def _blocks(text: str) -> dict[str, list[Block]]:
    sections: dict[str, list[Block]] = {}
    current: list[Block] | None = None
    open_list: list[str] | None = None
    for raw in text.splitlines():
        if not raw.strip():
            continue
        header = _SECTION.match(raw.strip())
        if header:
            current = sections.setdefault(header["name"], [Block("", "")])
            open_list = None
            continue
        if current is None:
            raise ParseError("keepalived's data file does not start with a section header")
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw.strip()
        key, sep, value = line.partition(" = ")
        if indent <= 1 and sep and key in _BLOCK_KEYS:
            current.append(Block(key, value.strip()))
            open_list = None
        elif indent <= 3 and line.endswith(":"):
            name = re.sub(r"\s*\(\d+\)$", "", line[:-1].strip())
            open_list = current[-1].lists.setdefault(name, [])
        elif indent <= 3 and sep:
            current[-1].fields.setdefault(key, value.strip())
            open_list = None
        elif indent > 3 and open_list is not None:
            open_list.append(line)
    return sections


def _tracked(items: list[str]) -> tuple[Tracked, ...]:
    """'chk_haproxy weight 0' or 'haproxy_alive, weight -20'."""
    found = []
    for item in items:
        match = re.match(r"(?P<name>[^,\s]+),?\s+weight\s+(?P<weight>-?\d+)", item)
        if match:
            found.append(Tracked(match["name"], int(match["weight"])))
    return tuple(found)


def _instance(block: Block) -> Instance:
    peers = block.lists.get("Unicast Peer", []) or block.lists.get("Unicast Peers", [])
    return Instance(
        name=block.name, state=block.fields.get("State", "?"), router_id=block.number("Virtual Router ID", -1),
        priority=block.number("Priority"), effective_priority=block.number("Effective priority"),
        advert_interval=block.fields.get("Advert interval", ""),
        preempt=block.fields.get("Preempt", "enabled") == "enabled",
        preempt_delay=block.fields.get("Preempt delay", ""),
        interface=block.fields.get("Interface", ""),
        virtual_ips=tuple(block.lists.get("Virtual IP", [])),
        unicast_peers=tuple(p.split()[0] for p in peers if p.split()),
        scripts=_tracked(block.lists.get("Tracked scripts", [])),
        processes=_tracked(block.lists.get("Tracked processes", [])),
    )


def parse(text: str) -> KeepalivedData:
    if not text.strip():
        raise ParseError("keepalived wrote no data file")
    sections = _blocks(text)
    if "VRRP Topology" not in sections and "Global definitions" not in sections:
        raise ParseError("keepalived's data file has no 'Global definitions' or 'VRRP Topology' section")
    instances = tuple(_instance(b) for b in sections.get("VRRP Topology", []) if b.kind == "VRRP Instance")
    scripts = {b.name: Script(b.name, b.fields.get("Command", ""), b.fields.get("Status", "?"), b.number("Weight"),
                              b.fields.get("Interval", ""))
               for b in sections.get("VRRP Scripts", []) if b.kind == "VRRP Script"}
    processes = {b.name: Process(b.name, b.fields.get("Process", ""), b.number("Current processes"),
                                 b.number("Min processes"), b.fields.get("Have quorum") == "true", b.number("Weight"))
                 for b in sections.get("VRRP Track processes", []) if b.kind == "VRRP Track process"}
    router_id = sections.get("Global definitions", [Block("", "")])[0].fields.get("Router ID", "")
    return KeepalivedData(router_id, instances, scripts, processes)
