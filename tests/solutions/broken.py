"""Broken variants of a solved lab: small mistakes a student makes, each with the check that must catch it.

A variant breaks the live lab with one command and mends it with another; `must_fail_each` applies them one at
a time to a lab that passes (a third solution just scored full marks), grades it without the fault checks and
asserts that the named check fails and says why, then mends it before the next one. Used by the integration
tests of every lab, on the lab their module already has up.
"""

from __future__ import annotations

from dataclasses import dataclass

from halab.lab import Lab
from solutions.common import must
from tests.integration.conftest import check_json


@dataclass(frozen=True)
class Broken:
    what: str  # the mistake, in words
    node: str  # where the commands run
    breaks: str
    mends: str
    check: str  # the check that must fail
    says: str  # a phrase its feedback must contain


def grade(lab: Lab) -> dict[str, dict]:
    _, report = check_json(lab.name, "--no-faults")
    return {c["id"]: c for c in report["checks"]}


def must_fail_each(lab: Lab, variants: list[Broken]) -> None:
    for variant in variants:
        must(lab, variant.node, variant.breaks, timeout=120)
        try:
            checks = grade(lab)
        finally:
            must(lab, variant.node, variant.mends, timeout=120)
        caught = checks[variant.check]
        assert not caught["passed"], f"{variant.what}: {variant.check} passed ({caught['feedback']})"
        assert variant.says in caught["feedback"], f"{variant.what}: {caught['feedback']}"
