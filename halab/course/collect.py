"""nbgrader's collect, checked (`halab grade` names it on nbgrader's command line; the course's config too).

The exchange's inbound folder lets every student make a folder and lets nobody list it (2733), and each
submission is a folder named ``<student>+<assignment>+<time>+<random>``. nbgrader believes the name: a folder
that a student made under a classmate's name is collected as the classmate's (with a warning in the log),
and since the newest folder of each name wins, it even replaces the classmate's own submission. One folder
whose name does not parse, or whose files cannot be read, stops the collect of the whole class. And its copy
follows symbolic links, so a link in a submission is collected as the file it points to, read with the
instructor's rights.

Here, a submission folder is rejected, with one line in the log naming it and why, before the newest of each
student is chosen, when its name does not parse or names no valid student id, when it is not a folder, or when
the account that made it is not the student it names (its owner's uid against the uid of the account of the
student's name; in a classroom course, with the class roster beside it, the student must also be in the class,
whose students are all accounts of this host). Files are copied
without following any link: links, devices and pipes are left out (and named), a folder swapped for a link
during the copy is not entered. A submission that cannot be copied is skipped with its reason; the others
are collected.
"""

from __future__ import annotations

import datetime
import os
import pwd
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import ignore_patterns

from graders.provenance import ROSTER_FILE, load_roster
from halab.errors import HalabError

REJECTED = "\0rejected"  # the "student" of every rejected folder: dropped before anything is copied
STUDENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")
OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
Ignore = Callable[[str, list[str]], Iterable[str]]


def forged(path: str, student: str, roster: set[str] | None) -> str:
    """Why the submission folder at ``path`` is not ``student``'s own ("" if it is, or cannot be told)."""
    if not STUDENT_ID.fullmatch(student) or student in (".", ".."):
        return f"{student!r} is not a student id"
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a folder"
    if roster is not None and student not in roster:
        return f"{student} is not a student of this class"
    try:
        expected = pwd.getpwnam(student).pw_uid
    except KeyError:
        return ""  # no account of that name: a course whose students are not this host's users (nbgrader warns)
    if info.st_uid != expected:
        try:
            maker = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            maker = f"uid {info.st_uid}"
        return f"it claims to be {student}'s, but {maker} made it (a forged submission)"
    return ""


class CheckedCollect(ExchangeCollect):
    """ExchangeCollect with the checks of the module docstring."""

    src_records: list[dict[str, Any]]  # nbgrader's: the newest submission of each student, to collect

    def init_src(self) -> None:
        self._rejected: list[str] = []
        self._roster = self._class_roster()
        super().init_src()
        self.src_records = [record for record in self.src_records if record["username"] != REJECTED]
        for line in self._rejected:
            self.log.error(line)

    def _class_roster(self) -> set[str] | None:
        path = Path(self.coursedir.root) / ROSTER_FILE
        if not path.is_file():
            return None
        try:
            return set(load_roster(path).slots)
        except HalabError as exc:
            self.log.error("%s; every submission is checked against the accounts only", exc)
            return None

    def _path_to_record(self, path: str) -> dict[str, Any]:
        name = os.path.basename(path)
        try:
            if name.count("+") < 2:  # nbgrader's own parse would log it as fatal
                raise ValueError(name)
            record: dict[str, Any] = super()._path_to_record(path)
            why = forged(path, record["username"], self._roster)
        except Exception as exc:  # noqa: BLE001 - nbgrader's parse fails in many ways; one folder must not stop all
            why = f"its name is not <student>+<assignment>+<time>+<id> ({type(exc).__name__})"
        if not why:
            return record
        self._rejected.append(f"Rejected the submission {name}: {why}")
        return {"username": REJECTED, "filename": name, "timestamp": datetime.datetime.min}

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        try:
            skipped = copy_tree(Path(src), Path(dest), ignore, 1000 * self.coursedir.max_dir_size)
        except (OSError, RuntimeError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            self.log.error("Could not collect %s (%s); the other submissions are collected",
                           os.path.basename(src), getattr(exc, "strerror", None) or exc)
            return
        for path in skipped:
            self.log.warning("Left out %s: not a regular file or folder (links are never followed)", path)


def copy_tree(src: Path, dest: Path, ignore: Ignore | None, max_bytes: int) -> list[str]:
    """Copy a folder that someone else controls: nothing but regular files and folders, no link ever followed
    (every step opens relative to its folder with O_NOFOLLOW); the paths left out. RuntimeError past max_bytes."""
    skipped: list[str] = []
    top = os.open(src, OPEN_DIR)
    try:
        _copy_folder(top, str(src), dest, ignore, skipped, [max_bytes])
    finally:
        os.close(top)
    return skipped


def _copy_folder(folder: int, shown: str, dest: Path, ignore: Ignore | None, skipped: list[str],
                 budget: list[int]) -> None:
    dest.mkdir(mode=0o755)
    names = sorted(os.listdir(folder))
    ignored = set(ignore(shown, names)) if ignore else set()
    for name in (n for n in names if n not in ignored):
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            child = os.open(name, OPEN_DIR, dir_fd=folder)
            try:
                _copy_folder(child, f"{shown}/{name}", dest / name, ignore, skipped, budget)
            finally:
                os.close(child)
        elif stat.S_ISREG(info.st_mode):
            _copy_file(folder, name, dest / name, budget)
        else:
            skipped.append(f"{shown}/{name}")


def _copy_file(folder: int, name: str, dest: Path, budget: list[int]) -> None:
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    with os.fdopen(source, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise RuntimeError(f"{name} changed while it was copied")
        with open(dest, "xb") as writer:
            while chunk := reader.read(1024 * 1024):
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise RuntimeError("the submission is larger than CourseDirectory.max_dir_size")
                writer.write(chunk)
