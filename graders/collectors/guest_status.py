"""The lab guest's status page (`curl http://GUEST/cgi-bin/status`, halab/image/guest) -> GuestStatus."""

from __future__ import annotations

from dataclasses import dataclass

from graders.collectors import ParseError


@dataclass(frozen=True)
class GuestStatus:
    name: str
    boot_id: str  # the guest kernel's random id of this boot: the same id means the guest was not restarted
    uptime: float  # seconds since this boot
    boots: str  # how many times the guest booted from its disk (counted on the disk)


def parse(text: str) -> GuestStatus:
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    try:
        return GuestStatus(values["name"], values["boot_id"], float(values["uptime"]), values.get("boots", ""))
    except (KeyError, ValueError):
        raise ParseError("not the lab guest's status page (name, boot_id, uptime)") from None
