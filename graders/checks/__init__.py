"""Checks: pure functions from facts to a verdict. Each lab kind registers its checks by id; the lab spec
says which checks count and for how many points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graders.facts import LabFacts


@dataclass(frozen=True)
class Verdict:
    passed: bool
    feedback: str
    hint: str = ""


@dataclass(frozen=True)
class CheckDef:
    id: str
    title: str
    hint: str  # shown when the check fails and the verdict has no more specific hint
    function: Callable[[LabFacts], Verdict]


REGISTRY: dict[str, dict[str, CheckDef]] = {}


def check(kind: str, check_id: str, title: str, hint: str) -> Callable[[Callable[[LabFacts], Verdict]], Callable]:
    def register(function: Callable[[LabFacts], Verdict]) -> Callable[[LabFacts], Verdict]:
        REGISTRY.setdefault(kind, {})[check_id] = CheckDef(check_id, title, hint, function)
        return function

    return register


def ok(feedback: str) -> Verdict:
    return Verdict(True, feedback)


def fail(feedback: str, hint: str = "") -> Verdict:
    return Verdict(False, feedback, hint)


def checks_for(kind: str) -> dict[str, CheckDef]:
    # Importing the kind's module registers its checks.
    __import__(f"graders.checks.{kind}")
    return REGISTRY.get(kind, {})


def reuse(kind: str, from_kind: str, *check_ids: str) -> None:
    """Register checks of another lab kind for this kind too (the drbd lab is also a Pacemaker cluster)."""
    source = checks_for(from_kind)
    for check_id in check_ids:
        REGISTRY.setdefault(kind, {})[check_id] = source[check_id]
