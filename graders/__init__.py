"""Graders: collect facts from live lab nodes over SSH, check them, and prove HA with fault checks."""

from __future__ import annotations

from typing import Any


def run_checks(lab_name: str, faults: bool = True) -> dict[str, Any]:
    """Grade a live lab; returns the report dict (lab, score, max_score, checks, measurements)."""
    from graders.live import run_checks as run

    return run(lab_name, faults)
