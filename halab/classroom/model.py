"""The classroom's folder and its record, classroom.json (see halab/classroom/__init__.py for the layout)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from halab.errors import HalabError

DEFAULT_DIR = "/srv/halab/classroom"
FORMAT = "halab-classroom/1"
WORKSPACE = "halab-course"  # in each student's home, as `halab course` names it


def classroom_dir() -> Path:
    return Path(os.environ.get("HALAB_CLASSROOM_DIR", DEFAULT_DIR))


@dataclass(frozen=True)
class Student:
    user: str
    uid: int
    slot: int
    home: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    made_account: bool = False  # halab made the Unix account (and set its first password)

    @property
    def workspace(self) -> Path:
        return Path(self.home) / WORKSPACE


@dataclass
class Classroom:
    root: Path
    course_id: str
    instructor: str
    home_base: str = "/home"
    students: list[Student] = field(default_factory=list)

    # -- where things are ---------------------------------------------------------------------------------
    @property
    def record(self) -> Path:
        return self.root / "classroom.json"

    @property
    def course(self) -> Path:
        return self.root / "course"

    @property
    def exchange(self) -> Path:
        return self.root / "exchange"

    @property
    def hub(self) -> Path:
        return self.root / "hub"

    @property
    def passwords(self) -> Path:
        return self.root / "passwords.csv"

    def student(self, user: str) -> Student | None:
        return next((s for s in self.students if s.user == user), None)

    # -- classroom.json -----------------------------------------------------------------------------------
    def save(self) -> None:
        data = {"format": FORMAT, "course_id": self.course_id, "instructor": self.instructor,
                "home_base": self.home_base, "students": [asdict(s) for s in self.students]}
        temporary = self.record.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, indent=1))
        os.replace(temporary, self.record)


def load_classroom(root: Path | None = None) -> Classroom:
    """The classroom in its folder; HalabError if there is none (run init) or its record is damaged."""
    root = (root or classroom_dir()).resolve()
    record = root / "classroom.json"
    try:
        data: dict[str, Any] = json.loads(record.read_text())
    except FileNotFoundError:
        raise HalabError(f"there is no classroom in {root}; make one with: halab classroom init --instructor USER") \
            from None
    except (OSError, ValueError) as exc:
        raise HalabError(f"{record} cannot be read ({exc}); it is the classroom's record, fix it from a backup") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise HalabError(f"{record} is not a halab classroom record (format {FORMAT})")
    try:
        students = [Student(**entry) for entry in data.get("students", [])]
        return Classroom(root, str(data["course_id"]), str(data["instructor"]), str(data.get("home_base", "/home")),
                         students)
    except (KeyError, TypeError) as exc:
        raise HalabError(f"{record} is damaged ({exc}); fix it from a backup") from None
