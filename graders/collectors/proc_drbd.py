"""/proc/drbd (DRBD 8.4 kernel module) -> one DrbdDevice per minor.

     0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----
        ns:262442 nr:0 dw:283008 ... oos:0
        [===>................] sync'ed: 21.4% (204264/259216)K
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graders.collectors import ParseError

_DEVICE = re.compile(r"^\s*(\d+): cs:(\S+)(?: ro:(\S+)/(\S+) ds:(\S+)/(\S+) (\S))?")
_SYNC = re.compile(r"sync'ed:\s*([\d.]+)%")


@dataclass(frozen=True)
class DrbdDevice:
    minor: int
    cstate: str  # Connected, WFConnection, StandAlone, SyncSource, SyncTarget, Unconfigured, ...
    role: str = ""
    peer_role: str = ""
    disk: str = ""  # UpToDate, Inconsistent, Diskless, Outdated, ...
    peer_disk: str = ""
    protocol: str = ""
    synced_percent: float | None = None


def parse(text: str) -> dict[int, DrbdDevice]:
    if not text.startswith("version:"):
        raise ParseError("/proc/drbd does not start with 'version:' (is the drbd module loaded?)")
    devices: dict[int, DrbdDevice] = {}
    last: int | None = None
    for line in text.splitlines()[1:]:
        if match := _DEVICE.match(line):
            minor = int(match.group(1))
            role, peer_role, disk, peer_disk, protocol = (g or "" for g in match.groups()[2:])
            devices[minor] = DrbdDevice(minor, match.group(2), role, peer_role, disk, peer_disk, protocol)
            last = minor
        elif (sync := _SYNC.search(line)) and last is not None:
            device = devices[last]
            devices[last] = DrbdDevice(**{**device.__dict__, "synced_percent": float(sync.group(1))})
    return devices
