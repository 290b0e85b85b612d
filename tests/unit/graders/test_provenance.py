"""Whose lab an evidence file comes from: the class roster's slots against the evidence's slot, and a
classmate's values (cluster name, floating IP, node addresses) found in the facts.

The facts are the clustering lab's, recorded on real nodes of root's lab (tests/fixtures/clustering/solved.json)
and moved into a slot the way halab/spec/instances.py moves a lab (tests/course/helpers.py, recorded_raw_in_slot). A
lab really made in a slot is graded in tests/integration/test_classroom.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from graders.evidence import Evidence
from graders.provenance import (
    ROSTER_FILE,
    Roster,
    check_provenance,
    found_values,
    load_roster,
    roster_for,
    typed_values,
)
from halab.errors import HalabError
from halab.spec import load_spec
from tests.course.helpers import recorded_raw_in_slot
from tests.support.paths import FIXTURES

FIXTURE = FIXTURES / "clustering" / "solved.json"
ROSTER = Roster({"ann": 3, "ben": 4, "cid": 12})


def facts_in_slot(slot: int, cluster_slot: int | None = None) -> dict[str, Any]:
    return recorded_raw_in_slot("solved", slot, cluster_slot)


def evidence(slot: int, raw: dict[str, Any]) -> Evidence:
    return Evidence("clustering", "instance-of-a-test", "2026-12-01", {}, raw, {}, slot)


def test_a_students_own_lab_passes() -> None:
    spec = load_spec("clustering")
    result = check_provenance(evidence(3, facts_in_slot(3)), spec, "ann", ROSTER)
    assert result.wrong_lab == "" and result.borrowed == () and result.notes() == []


def test_evidence_from_a_classmates_lab_names_the_classmate() -> None:
    spec = load_spec("clustering")
    result = check_provenance(evidence(4, facts_in_slot(4)), spec, "ann", ROSTER)
    assert result.wrong_lab.startswith("This evidence was made on ben's lab (slot 4), not on your own lab (slot 3)")
    assert result.flags("ann") == ["ann's evidence was made on ben's lab (slot 4), not on ann's own (slot 3)"]
    root = check_provenance(evidence(0, json.loads(FIXTURE.read_text())), spec, "ann", ROSTER)
    assert "administrator (slot 0)" in root.wrong_lab
    stranger = check_provenance(evidence(7, facts_in_slot(7)), spec, "ann", ROSTER)
    assert "someone who is not in this class (slot 7)" in stranger.wrong_lab


def test_a_classmates_values_in_ones_own_lab_name_the_classmate() -> None:
    spec = load_spec("clustering")
    result = check_provenance(evidence(3, facts_in_slot(3, cluster_slot=12)), spec, "ann", ROSTER)
    assert result.wrong_lab == "" and result.borrowed == (("cid", ("halab-u12",)),)
    assert result.notes() == ["The lab's configuration holds values of cid's lab (halab-u12), not of yours: work "
                              "copied from cid's lab."]
    assert result.flags("ann") == ["ann's lab holds values of cid's lab (halab-u12)"]
    # halab-u1 is not found in halab-u12, nor 10.43.10.1 in 10.43.10.100
    assert found_values({"a": "cluster_name: halab-u12; ip 10.43.10.100"}, ["halab-u1", "10.43.10.1"]) == []
    assert found_values({"a": ["ring0_addr: 10.43.10.11\n", "end 10.43.10.1."]}, ["10.43.10.1", "10.43.10.11"]) \
        == ["10.43.10.1", "10.43.10.11"]


def test_a_student_off_the_roster_is_said_so() -> None:
    result = check_provenance(evidence(3, facts_in_slot(3)), load_spec("clustering"), "dan", ROSTER)
    assert result.own_slot is None and not result.wrong_lab and "not on the class roster" in result.notes()[0]
    assert result.flags("dan") == ["dan is not on the class roster: whose lab it was is not checked"]


def test_typed_values_are_the_slots_own() -> None:
    values = typed_values(load_spec("clustering"), 4)
    assert values == ["halab-u4", "10.46.10.100", "10.46.10.11", "10.46.10.12"]
    assert typed_values(load_spec("loadbalancing"), 4)[0].startswith("10.46.")  # no cluster name there


def test_the_roster_is_found_beside_collected_submissions(tmp_path: Path) -> None:
    folder = tmp_path / "course" / "submitted" / "ann" / "03-clustering"
    folder.mkdir(parents=True)
    assert roster_for(folder / "evidence-clustering.json") is None  # not a classroom course
    ROSTER.write(tmp_path / "course" / ROSTER_FILE)
    found = roster_for(folder / "evidence-clustering.json")
    assert found == (ROSTER, "ann")
    (tmp_path / "course" / ROSTER_FILE).write_text("{not json")
    with pytest.raises(HalabError, match="is not a class roster"):
        load_roster(tmp_path / "course" / ROSTER_FILE)
    replace(ROSTER, slots={"ann": 3, "ben": 3}).write(tmp_path / "course" / ROSTER_FILE)
    with pytest.raises(HalabError, match="a slot of their own"):
        load_roster(tmp_path / "course" / ROSTER_FILE)
