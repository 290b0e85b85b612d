"""`psql --csv -c "SELECT ..."` -> rows of the query's result, one dict per row, keyed by column name.

The graders ask PostgreSQL about replication with SQL (pg_stat_replication on a primary, pg_stat_wal_receiver
and pg_is_in_recovery() on a standby) and read the answer as CSV (psql 12 and later), which quotes values that
hold commas or line breaks, so a conninfo string survives intact. Booleans come as ``t``/``f``.
"""

from __future__ import annotations

import csv
import io
import re

from graders.collectors import ParseError


def parse(text: str) -> list[dict[str, str]]:
    if not text.strip():
        raise ParseError("psql printed nothing (not even the column names)")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ParseError(f"psql's CSV cannot be read ({exc})") from None
    header, body = rows[0], rows[1:]
    if not header or any(not re.fullmatch(r"[a-z_][a-z0-9_?]*", name) for name in header):
        raise ParseError("psql printed no column names (not psql --csv output)")
    for row in body:
        if len(row) != len(header):
            raise ParseError(f"a row of {len(row)} values under {len(header)} columns: not psql --csv output")
    return [dict(zip(header, row, strict=True)) for row in body]


def flag(value: str | None) -> bool | None:
    """PostgreSQL's boolean as psql prints it."""
    return {"t": True, "f": False}.get((value or "").strip())
