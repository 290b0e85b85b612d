"""Lab instances: one lab spec, many users' labs side by side, never colliding.

Root's labs are the specs as written (slot 0). A user of the lab service (halab/service/) gets slot k >= 1,
kept for them in ``<state>/.users.json`` (halab/runtime/slots.py), and every lab they bring up is the spec
moved into slot k:

- its name becomes ``u<k>-<lab>`` (namespaces, state, machine names and locks follow from the name);
- every address in 10.42.0.0/16 (subnets, node and host addresses, IP settings such as the floating IP)
  moves to 10.(42+k).0.0/16, so two users' networks never overlap and one user cannot reach another's;
- the cluster name gets ``-u<k>`` appended, and a DRBD port ``k`` added: values a student types, so that
  work copied from another student's lab does not fit (the classroom checks them at grading time).

The instance's spec is the base spec rewritten in its TOML form before validation, so everything that reads
a spec (task texts, graders, solutions, notebooks) sees the instance's own values.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab.errors import HalabError, SpecError
from halab.names import check_lab_name

BASE = ipaddress.IPv4Network("10.42.0.0/16")
MAX_SLOT = 200  # 10.43 .. 10.242: well inside 10/8, with room left for the host's own networks


@dataclass(frozen=True)
class Owner:
    """Whose lab an instance is."""

    uid: int
    user: str
    slot: int
    # What all of the owner's nodes may use together ({"memory_mib", "pids", "cpu_weight"}): the lab service's
    # per-user caps (service.toml), kept in each of their labs' state, where the provider applies them at every
    # boot. None: no caps (root's labs).
    limits: tuple[tuple[str, int], ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        mine: dict[str, Any] = {"uid": self.uid, "user": self.user, "slot": self.slot}
        if self.limits is not None:
            mine["limits"] = dict(self.limits)
        return mine

    @classmethod
    def from_dict(cls, data: Any) -> Owner | None:
        if not isinstance(data, dict):
            return None
        try:
            limits = data.get("limits")
            caps = tuple(sorted((str(k), int(v)) for k, v in limits.items())) if isinstance(limits, dict) else None
            return cls(int(data["uid"]), str(data["user"]), int(data["slot"]), caps)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def instance_name(lab: str, slot: int) -> str:
    """The name a lab has in a slot: the lab itself in slot 0 (root), ``u<slot>-<lab>`` otherwise."""
    if slot == 0:
        return lab
    name = f"u{slot}-{lab}"
    try:
        return check_lab_name(name)
    except HalabError:
        raise HalabError(f"lab '{lab}' has too long a name to be given to users ({name!r} would be over 24 "
                         "characters)") from None


def move_address(text: str, slot: int) -> str:
    """An address or network of 10.42.0.0/16 moved into the slot's /16; anything else unchanged."""
    try:
        if "/" in text:
            network = ipaddress.IPv4Network(text, strict=False)
            if network.subnet_of(BASE):
                shifted = ipaddress.IPv4Address(int(network.network_address) + (slot << 16))
                return f"{shifted}/{network.prefixlen}"
            return text
        address = ipaddress.IPv4Address(text)
    except ValueError:
        return text
    return str(address + (slot << 16)) if address in BASE else text


def _move(value: Any, slot: int) -> Any:
    if isinstance(value, str):
        return move_address(value, slot)
    if isinstance(value, list):
        return [_move(v, slot) for v in value]
    if isinstance(value, dict):
        return {k: _move(v, slot) for k, v in value.items()}
    return value


def instance_data(data: dict[str, Any], slot: int) -> dict[str, Any]:
    """A spec's TOML data moved into the slot (see the module docstring)."""
    if slot == 0:
        return data
    moved = dict(data)
    moved["name"] = instance_name(str(data.get("name", "")), slot)
    moved["kind"] = data.get("kind", data.get("name"))
    moved["networks"] = _move(data.get("networks", []), slot)
    moved["nodes"] = _move(data.get("nodes", []), slot)
    settings = _move(dict(data.get("settings", {})), slot)
    if isinstance(settings.get("cluster_name"), str):
        settings["cluster_name"] = f"{settings['cluster_name']}-u{slot}"
    if isinstance(settings.get("drbd_port"), int):
        settings["drbd_port"] = settings["drbd_port"] + slot
    moved["settings"] = settings
    for network in moved["networks"]:
        subnet = ipaddress.IPv4Network(str(network.get("subnet", "0.0.0.0/32")), strict=False)
        if not subnet.subnet_of(ipaddress.IPv4Network(f"10.{42 + slot}.0.0/16")):
            raise SpecError(str(data.get("name")), "networks", f"{network.get('subnet')} is outside {BASE}, so "
                            "the lab cannot be given to users")
    return moved


def read_spec_data(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise HalabError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "(file)", f"not valid TOML: {exc}") from None
