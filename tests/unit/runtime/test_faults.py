"""halab.runtime.faults without a lab: whether a split brain was resolved is read from `drbdadm cstate all`
(hand-written output in drbdadm's shape: one connection state per line, as `drbdadm cstate r0` printed
"StandAlone" and "Connected" on the drbd lab's nodes in notebook 04's split-brain steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from halab.errors import HalabError
from halab.runtime.faults import _replicating


@dataclass
class Result:
    stdout: str
    ok: bool = True


class NodeSays:
    def __init__(self, answer: Result | None) -> None:
        self.answer = answer

    def run(self, node: str, command: str, timeout: float = 0) -> Result:
        assert command == "drbdadm cstate all"
        if self.answer is None:
            raise HalabError(f"{node}: SSH did not answer")
        return self.answer


@pytest.mark.parametrize(("answer", "resolved"), [
    (Result("Connected\n"), True),
    (Result("Connected\nConnected\n"), True),
    (Result("StandAlone\n"), False),
    (Result("Connecting\n"), False),
    (Result("", ok=False), False),  # DRBD down: "no resources defined" on stderr
    (None, False),  # the node is off or still booting
])
def test_a_split_brain_counts_as_resolved_only_when_every_resource_is_connected(answer: Result | None,
                                                                                resolved: bool) -> None:
    lab: Any = NodeSays(answer)
    assert _replicating(lab, "node1") is resolved
