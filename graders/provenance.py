"""Whose lab an evidence file comes from, in a class where every student has a lab slot of their own.

`halab classroom add-students` gives each student a slot (halab/spec/instances.py) and writes the class's roster
into the course folder (ROSTER_FILE: student -> slot). A student's lab in slot k has values of its own that
the student types (cluster name, floating IP, node addresses), so two things can be checked when grading:

- the evidence was made on the student's own lab: its slot is theirs (evidence from a classmate's lab is
  that classmate's work, and scores nothing);
- the configuration it shows holds no values of a classmate's lab: work copied from another student does
  not fit one's own lab, and what was copied names the student it came from.

Neither check is proof against a determined student (the evidence's digest is no signature: README,
"Evidence"), but both catch the usual ways of handing in someone else's lab.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graders.evidence import Evidence
from halab.errors import HalabError
from halab.spec import LabSpec, load_spec_file
from halab.spec.instances import MAX_SLOT

ROSTER_FILE = "classroom-roster.json"


@dataclass(frozen=True)
class Roster:
    """The class: each student's slot."""

    slots: dict[str, int]

    def student_in(self, slot: int) -> str | None:
        return next((name for name, held in self.slots.items() if held == slot), None)

    def to_json(self) -> str:
        return json.dumps({"format": "halab-roster/1", "slots": self.slots}, indent=1, sort_keys=True)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json())


def load_roster(path: Path) -> Roster:
    """The roster in a file; HalabError naming the file if it is not one."""
    try:
        data = json.loads(path.read_text())
        slots = {str(name): int(slot) for name, slot in data["slots"].items()}
    except OSError as exc:
        raise HalabError(f"{path}: cannot read the class roster: {exc.strerror}") from None
    except (ValueError, TypeError, KeyError, AttributeError):
        raise HalabError(f"{path} is not a class roster (damaged?); `halab classroom add-students` writes it") \
            from None
    if any(not 1 <= slot <= MAX_SLOT for slot in slots.values()) or len(set(slots.values())) != len(slots):
        raise HalabError(f"{path}: every student must have a slot of their own from 1 to {MAX_SLOT}")
    return Roster(slots)


def roster_for(evidence_path: Path) -> tuple[Roster, str] | None:
    """The class roster and the student an evidence file was collected from, when it lies where nbgrader puts
    a submission of a classroom course: <course>/<step>/<student>/<assignment>/, where step is submitted/ (from
    collect) or autograded/ (where autograde runs the notebooks); else None."""
    parents = evidence_path.resolve().parents
    if len(parents) < 4:
        return None
    roster = parents[3] / ROSTER_FILE
    return (load_roster(roster), parents[1].name) if roster.is_file() else None


def typed_values(spec: LabSpec, slot: int) -> list[str]:
    """The values a student types that are their slot's own: the cluster name and the addresses (settings
    and nodes) of the lab moved into the slot. Ports are left out: a bare number matches too much."""
    moved = load_spec_file(spec.path, slot)
    values: list[str] = []
    cluster = moved.settings.get("cluster_name")
    if isinstance(cluster, str) and cluster != spec.settings.get("cluster_name"):
        values.append(cluster)
    own = ipaddress.IPv4Network(f"10.{42 + slot}.0.0/16")
    for value in _strings(moved.settings):
        try:
            if ipaddress.IPv4Address(value) in own:
                values.append(value)
        except ValueError:
            continue
    values += [str(address) for node in moved.nodes for address in node.addresses.values()]
    return list(dict.fromkeys(values))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def found_values(raw: dict[str, Any], values: list[str]) -> list[str]:
    """Those of the values that occur in the raw facts (any command's output on any node), each as a whole
    word: 10.45.10.1 is not found in 10.45.10.100, nor halab-u1 in halab-u12. One pattern for them all: a
    class of hundreds is hundreds of values."""
    if not values:
        return []
    words = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w.-])({words})(?![\w-]|\.\d)")
    found = {match for text in _strings(raw) for match in pattern.findall(text)}
    return [value for value in values if value in found]


@dataclass(frozen=True)
class Provenance:
    """What the roster says about one student's evidence."""

    own_slot: int | None  # the student's slot; None: not on the roster, so nothing could be checked
    evidence_slot: int
    holder: str | None = None  # whose slot the evidence's is, when it is another student's
    borrowed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (classmate, their values found in the facts)

    @property
    def other_lab(self) -> bool:
        return self.own_slot is not None and self.evidence_slot != self.own_slot

    def whose_lab(self) -> str:
        if self.holder:
            return f"{self.holder}'s lab (slot {self.evidence_slot})"
        if self.evidence_slot == 0:
            return "a lab of the machine's administrator (slot 0)"
        return f"the lab of someone who is not in this class (slot {self.evidence_slot})"

    @property
    def wrong_lab(self) -> str:
        """For the student's feedback: why the evidence scores nothing ("" when it is their own lab's)."""
        if not self.other_lab:
            return ""
        return (f"This evidence was made on {self.whose_lab()}, not on your own lab (slot {self.own_slot}): only "
                "your own lab's evidence counts.")

    def notes(self) -> list[str]:
        """For the student's feedback: a classmate's values in their lab, or why nothing was checked."""
        notes = [f"The lab's configuration holds values of {other}'s lab ({', '.join(values)}), not of yours: work "
                 f"copied from {other}'s lab." for other, values in self.borrowed]
        if self.own_slot is None:
            notes.append("You are not on the class roster, so it could not be checked that the lab was yours.")
        return notes

    def flags(self, student: str) -> list[str]:
        """For the instructor (halab grade), naming the students."""
        flags = []
        if self.other_lab:
            flags.append(f"{student}'s evidence was made on {self.whose_lab()}, not on {student}'s own (slot "
                         f"{self.own_slot})")
        flags += [f"{student}'s lab holds values of {other}'s lab ({', '.join(values)})"
                  for other, values in self.borrowed]
        if self.own_slot is None:
            flags.append(f"{student} is not on the class roster: whose lab it was is not checked")
        return flags


def check_provenance(evidence: Evidence, spec: LabSpec, student: str, roster: Roster) -> Provenance:
    """Whether the evidence comes from the student's own lab and shows none of a classmate's values."""
    own = roster.slots.get(student)
    if own is None or evidence.slot != own:
        return Provenance(own, evidence.slot, roster.student_in(evidence.slot))
    theirs = {other: typed_values(spec, slot) for other, slot in sorted(roster.slots.items()) if other != student}
    found = set(found_values(evidence.raw, [value for values in theirs.values() for value in values]))
    borrowed = [(other, tuple(v for v in values if v in found)) for other, values in theirs.items()]
    return Provenance(own, evidence.slot, None, tuple((other, values) for other, values in borrowed if values))
