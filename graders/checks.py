"""Checks: pure functions from facts to a verdict, collected per lab kind in a CheckTable.

A kind's checks module fills a table with the ``@CHECKS.check(id, title, hint)`` decorator; the kind's
package hands the table to the registry (halab/spec/kinds.py, where CheckDef is defined). The lab spec says
which checks count and for how many points. Titles and hints may name lab settings (``{drbd_resource}``):
they are filled in from the lab's ``[settings]`` when the report is made, so a lab with other settings
reads right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graders.facts import LabFacts
from halab.spec.kinds import CheckDef

__all__ = ["CheckDef", "CheckFunction", "CheckTable", "FaultOutcome", "Verdict", "fail", "ok"]

CheckFunction = Callable[[LabFacts], "Verdict"]


@dataclass(frozen=True)
class Verdict:
    passed: bool
    feedback: str
    hint: str = ""
    # The facts could not be read (graders/facts.py NodeUnreadable): no verdict on the student's work at all.
    unreadable: bool = False


@dataclass
class FaultOutcome:
    """What a fault check (live, graders/<kind>/faults.py) found: the verdict and what it measured."""

    verdict: Verdict
    measurements: dict[str, Any] = field(default_factory=dict)


class CheckTable:
    """The checks of one lab kind, by id."""

    def __init__(self) -> None:
        self.defs: dict[str, CheckDef] = {}

    def check(self, check_id: str, title: str, hint: str) -> Callable[[CheckFunction], CheckFunction]:
        def register(function: CheckFunction) -> CheckFunction:
            if check_id in self.defs:
                raise ValueError(f"check {check_id!r} is registered twice")
            self.defs[check_id] = CheckDef(check_id, title, hint, function)
            return function

        return register

    def reuse(self, other: CheckTable, *check_ids: str) -> None:
        """Take checks of another kind as they are (the drbd lab is also a Pacemaker cluster)."""
        for check_id in check_ids:
            self.defs[check_id] = other.defs[check_id]


def ok(feedback: str) -> Verdict:
    return Verdict(True, feedback)


def fail(feedback: str, hint: str = "") -> Verdict:
    return Verdict(False, feedback, hint)
