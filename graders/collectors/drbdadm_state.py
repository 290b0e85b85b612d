"""`drbdadm cstate|dstate|role RES` -> (local, peer) states: "UpToDate/Inconsistent" -> ("UpToDate",
"Inconsistent"); cstate prints one word ("Connected", "StandAlone", "WFConnection")."""

from __future__ import annotations

import re

from graders.collectors import ParseError

_STATE = re.compile(r"^[A-Za-z]+(/[A-Za-z]+)?$")


def parse(text: str) -> tuple[str, str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or not _STATE.match(lines[0]):
        raise ParseError(f"expected one state word, got {text.strip()[:60]!r}")
    local, _, peer = lines[0].partition("/")
    return local, peer
