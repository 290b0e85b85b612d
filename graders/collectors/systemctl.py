"""`systemctl is-active|is-enabled UNIT...` -> {unit: state}, one output line per unit in order."""

from __future__ import annotations

from graders.collectors import ParseError


def parse(text: str, units: list[str]) -> dict[str, str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) != len(units):
        raise ParseError(f"systemctl printed {len(lines)} states for {len(units)} units")
    return dict(zip(units, lines, strict=True))
