"""The solution helpers that several labs share ask the lab's own nodes (not a node called node1)."""

from __future__ import annotations

import json
from typing import Any

from halab.runtime.ssh import CommandResult
from halab.spec import load_spec
from solutions import clustering
from tests.support.paths import FIXTURES

SOLVED = json.loads((FIXTURES / "clustering" / "solved.json").read_text())
CRM_MON = SOLVED["nodes"]["node1"]["commands"]["crm_mon"]["stdout"]


class RecordingLab:
    """Stands in for halab.lab.Lab: answers crm_mon with output recorded from a real node, and notes where
    each command was sent."""

    def __init__(self, lab: str) -> None:
        self.spec = load_spec(lab)
        self.asked: list[str] = []

    def run(self, node: str, command: str, timeout: float = 30) -> CommandResult:
        self.asked.append(node)
        return CommandResult(0, CRM_MON, "")


def test_cluster_state_is_read_on_the_first_member_of_any_lab() -> None:
    lab: Any = RecordingLab("virtualization")
    assert clustering.crm_status(lab) is not None
    clustering.node_states(lab)
    assert lab.asked == ["hv1", "hv1"]
