"""Constraints written as resource sets, as crmsh and pcs really write them (tests/fixtures/constraint-sets.json,
made by tests/fixtures/constraint_sets.py on a real node from each lab's recorded solved CIB): each lab's
constraint check grades them as it grades the plain two-resource form. A false fail before: the drbd, clustering
and dr checks read only plain constraints, so `crm configure colocation c inf: fs ip drbd:Promoted` (three
resources make a set) or any `pcs constraint ... set` failed a correct lab."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from graders.grade import evaluate
from halab.spec import load_spec
from tests.support.cib_edit import with_constraints
from tests.support.paths import FIXTURES

# (lab, variant) -> the phrase the check's feedback must contain when it fails, "" when the variant is correct.
CHECK = {"drbd": "pacemaker-constraints", "clustering": "together-in-order", "dr": "db-ip"}
EXPECTED = {
    ("drbd", "crm-sequential"): "",
    ("drbd", "crm-unordered-sets"): "",
    ("drbd", "pcs-sets"): "",
    ("drbd", "pcs-sets-of-the-group"): "",
    ("drbd", "pcs-no-role"): "missing a colocation with the Promoted role",
    ("drbd", "pcs-sets-swapped"): "missing a colocation with the Promoted role",
    ("drbd", "pcs-advisory"): "missing a colocation with the Promoted role",
    ("drbd", "pcs-order-on-start"): "missing an order after promote",
    ("drbd", "crm-order-reversed"): "missing an order after promote",
    ("clustering", "pcs-sets"): "",
    ("clustering", "pcs-order-reversed"): "missing an order IP -> web",
    ("dr", "pcs-sets"): "",
    ("dr", "pcs-sets-unpromoted"): "is not colocated with the Promoted role",
}


@cache
def recorded() -> dict[str, dict[str, dict[str, Any]]]:
    return json.loads((FIXTURES / "constraint-sets.json").read_text())


def test_every_recorded_variant_has_an_expectation() -> None:
    assert {(lab, v) for lab, variants in recorded().items() for v in variants} == set(EXPECTED)


@pytest.mark.parametrize(("lab", "variant"), sorted(EXPECTED), ids=[f"{lab}-{v}" for lab, v in sorted(EXPECTED)])
def test_a_set_constraint_grades_as_its_plain_form(lab: str, variant: str) -> None:
    facts = json.loads((FIXTURES / lab / "solved.json").read_text())
    entry = recorded()[lab][variant]
    report = evaluate(load_spec(lab), with_constraints(facts, entry["constraints"], entry["ungroup"]),
                      unrun_faults_count=False)
    check = next(c for c in report.checks if c.id == CHECK[lab])
    if EXPECTED[lab, variant]:
        assert not check.passed and EXPECTED[lab, variant] in check.feedback, check.feedback
    else:
        assert check.passed, check.feedback
