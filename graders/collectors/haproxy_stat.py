"""`echo 'show stat' | nc -U SOCKET` (HAProxy's runtime API) -> every proxy and server with its live state.

The answer is CSV whose first line names the columns (``# pxname,svname,qcur,...``); one row per frontend
(svname FRONTEND), server, and backend (svname BACKEND). Columns used here: ``status`` (UP, DOWN, "UP 1/2"
while a check is failing, MAINT, "no check" when the server has no health check), ``check_status`` (L4OK,
L7OK, L4CON, L7STS, ...), ``addr``, ``cookie`` (a server's cookie value; the backend's cookie name),
``algo`` (the backend's balancing algorithm) and ``lbtot`` (requests sent to the server).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from graders.collectors import ParseError

REQUIRED = ("pxname", "svname", "status", "check_status", "addr", "cookie", "algo", "lbtot")


@dataclass(frozen=True)
class Row:
    proxy: str
    name: str  # a server's name, or FRONTEND / BACKEND
    status: str
    check_status: str
    check_description: str
    address: str
    cookie: str
    algorithm: str
    sessions_total: int

    @property
    def is_server(self) -> bool:
        return self.name not in ("FRONTEND", "BACKEND")

    @property
    def up(self) -> bool:
        return self.status == "UP"

    @property
    def checked(self) -> bool:
        return self.status != "no check"


@dataclass(frozen=True)
class Stats:
    rows: tuple[Row, ...]

    def servers(self, proxy: str | None = None) -> list[Row]:
        return [r for r in self.rows if r.is_server and (proxy is None or r.proxy == proxy)]

    def backend(self, proxy: str) -> Row | None:
        return next((r for r in self.rows if r.proxy == proxy and r.name == "BACKEND"), None)


def parse(text: str) -> Stats:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# pxname,"):
        first = lines[0][:80] if lines else "nothing"
        raise ParseError(f"HAProxy's stats socket did not answer with CSV (it said: {first!r})")
    header = lines[0][2:].split(",")
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise ParseError(f"the stats CSV has no {', '.join(missing)} column")
    rows = []
    for values in csv.reader(lines[1:]):
        if len(values) < len(header) - 1:  # rows end with a trailing comma, the header too
            raise ParseError(f"a stats row has {len(values)} fields, the header {len(header)}")
        row = dict(zip(header, values, strict=False))
        rows.append(Row(row["pxname"], row["svname"], row["status"], row["check_status"], row.get("check_desc", ""),
                        row["addr"], row["cookie"], row["algo"], int(row["lbtot"]) if row["lbtot"].isdigit() else 0))
    return Stats(tuple(rows))
