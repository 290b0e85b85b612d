"""Lab instances: one lab spec, many users' labs side by side, never colliding.

Root's labs are the specs as written (slot 0). A user of the lab service (halab/service/) gets slot k >= 1,
kept for them in ``<state>/.users.json``, and every lab they bring up is the spec moved into slot k:

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
import json
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from halab import locks, paths
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

    def as_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "user": self.user, "slot": self.slot}

    @classmethod
    def from_dict(cls, data: Any) -> Owner | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(int(data["uid"]), str(data["user"]), int(data["slot"]))
        except (KeyError, TypeError, ValueError):
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


# -- slots --------------------------------------------------------------------------------------------
def _slots_file() -> Path:
    return paths.state_dir() / ".users.json"


def slot_of(uid: int, user: str) -> int:
    """The user's slot, allocated on first use and kept; root is slot 0."""
    if uid == 0:
        return 0
    with _slot_table() as table:
        slots = {int(k): int(v["slot"]) for k, v in table.items()}
        if uid in slots:
            return slots[uid]
        free = next((s for s in range(1, MAX_SLOT + 1) if s not in slots.values()), None)
        if free is None:
            raise HalabError(f"every one of the {MAX_SLOT} user slots is taken; remove users from {_slots_file()}")
        table[str(uid)] = {"user": user, "slot": free}
        return free


def slot_held(uid: int) -> int | None:
    """The slot the user holds now, read without taking one (None: none yet, or the table cannot be read)."""
    if uid == 0:
        return 0
    try:
        entry = json.loads(_slots_file().read_text()).get(str(uid))
        return int(entry["slot"]) if entry else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def assign_slot(uid: int, user: str, slot: int) -> None:
    """Give the user this very slot (a classroom's roster gives each student a slot of their own, kept for the
    course, so that their lab's values are the same all term). Refused if another user holds the slot, or
    the user holds another one: moving a user would give their labs and evidence other values."""
    if not 1 <= slot <= MAX_SLOT:
        raise HalabError(f"slot {slot} is not a user slot (1 to {MAX_SLOT})")
    if uid == 0:
        raise HalabError("root's labs are slot 0; root cannot be given a user slot")
    with _slot_table() as table:
        held = table.get(str(uid))
        if held is not None and int(held["slot"]) != slot:
            raise HalabError(f"user {user} already has slot {held['slot']}, not {slot}; release it first "
                             "(their labs must be down)")
        holder = next((v for k, v in table.items() if int(v["slot"]) == slot and k != str(uid)), None)
        if holder is not None:
            raise HalabError(f"slot {slot} belongs to user {holder['user']}, so it cannot be given to {user}")
        table[str(uid)] = {"user": user, "slot": slot}


def release_slot(uid: int) -> None:
    """Forget a user's slot (their account is gone); their labs must be down first."""
    with _slot_table() as table:
        table.pop(str(uid), None)


@contextmanager
def _slot_table() -> Iterator[dict[str, Any]]:
    """The uid -> slot table, locked for one read-modify-write, written back atomically if it changed."""
    path = _slots_file()
    path.parent.mkdir(parents=True, exist_ok=True)

    def busy(holder: locks.Holder | None) -> HalabError:
        return HalabError(f"the user table {path} stayed locked{f' by {holder}' if holder else ''}")

    with locks.hold(path.with_suffix(".lock"), busy, wait=30):
        try:
            table = json.loads(path.read_text()) if path.exists() else {}
        except (OSError, ValueError) as exc:
            raise HalabError(f"{path} is damaged ({exc}); fix or remove it (users get new slots)") from None
        before = json.dumps(table, sort_keys=True)
        yield table
        if json.dumps(table, sort_keys=True) != before:
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(table, indent=1, sort_keys=True))
            os.replace(temporary, path)
