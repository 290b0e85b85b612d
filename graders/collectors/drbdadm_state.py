"""`drbdadm cstate|dstate|role RES` -> (local, peer) states: "UpToDate/Inconsistent" -> ("UpToDate",
"Inconsistent"); cstate prints one word ("Connected", "StandAlone", "WFConnection")."""

from __future__ import annotations

from graders.collectors import ParseError


def parse(text: str) -> tuple[str, str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != 1 or " " in lines[0]:
        raise ParseError(f"expected one state word, got {text.strip()[:60]!r}")
    local, _, peer = lines[0].partition("/")
    return local, peer
