"""The roster file of `halab classroom add-students`: a CSV file with a header line naming its columns.

    user,first_name,last_name,email
    ann,Ann,Archer,ann@example.org
    ben,Ben,Baker,

`user` (the Unix account and nbgrader's student id) is required; `first_name`, `last_name`, `email` (for
nbgrader's gradebook and its CSV export) and `home` (an existing account's home, when it is not under the
classroom's home folder) are optional. Every line is checked before anything is made, and the first bad
line is reported with its number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from halab.errors import HalabError

COLUMNS = ("user", "first_name", "last_name", "email", "home")
# Debian's useradd default (NAME_REGEX), at most 32 characters; nbgrader takes such ids as they are.
USER_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RosterEntry:
    line: int
    user: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    home: str = ""


def parse_roster(text: str, name: str = "roster") -> list[RosterEntry]:
    """The roster's students in file order; HalabError naming the file and line of the first problem."""
    rows = list(csv.reader(io.StringIO(text)))
    numbered = [(number, row) for number, row in enumerate(rows, 1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise HalabError(f"{name} has no students in it")
    header_line, header = numbered[0]
    columns = [cell.strip().lower() for cell in header]
    if "user" not in columns:
        raise HalabError(f"{name} line {header_line}: the first line must name the columns, with 'user' among them "
                         f"(known columns: {', '.join(COLUMNS)})")
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise HalabError(f"{name} line {header_line}: unknown column {unknown[0]!r} (known: {', '.join(COLUMNS)})")
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for number, row in numbered[1:]:
        if len(row) > len(columns):
            raise HalabError(f"{name} line {number}: {len(row)} fields, but the header names {len(columns)}")
        values = dict(zip(columns, (cell.strip() for cell in row), strict=False))
        user = values.get("user", "")
        if not user:
            raise HalabError(f"{name} line {number}: no user name (the 'user' column is empty)")
        if not USER_NAME.fullmatch(user):
            raise HalabError(f"{name} line {number}: {user!r} is not a user name this host takes (lowercase letters, "
                             "digits, '_' and '-', starting with a letter or '_', at most 32 characters)")
        if user in seen:
            raise HalabError(f"{name} line {number}: {user} is already on line {seen[user]}")
        home = values.get("home", "")
        if home and not home.startswith("/"):
            raise HalabError(f"{name} line {number}: the home {home!r} of {user} must be an absolute path")
        seen[user] = number
        entries.append(RosterEntry(number, user, values.get("first_name", ""), values.get("last_name", ""),
                                   values.get("email", ""), home))
    if not entries:
        raise HalabError(f"{name} has a header line but no students")
    return entries


def read_roster(path: Path) -> list[RosterEntry]:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise HalabError(f"{path} is too large for a roster ({path.stat().st_size} bytes)")
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's CSV often starts with a byte-order mark
    except FileNotFoundError:
        raise HalabError(f"{path}: no such roster file") from None
    except UnicodeDecodeError:
        raise HalabError(f"{path} is not a text file in UTF-8 (save the roster as CSV UTF-8)") from None
    except OSError as exc:
        raise HalabError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_roster(text, str(path))
