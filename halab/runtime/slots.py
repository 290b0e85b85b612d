"""User slots: which slot of lab instances (halab/spec/instances.py) each user of the lab service holds.

Kept in ``<state>/.users.json``, uid -> {user, slot}: a slot is given on first use and kept, so that a user's
labs have the same values (addresses, cluster name) all term.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from halab import paths
from halab.errors import HalabError
from halab.host import locks
from halab.spec.instances import MAX_SLOT


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
