"""graders.drbd.resolved without a lab: whether a split brain was resolved is read from `drbdadm cstate all`
(hand-written output in drbdadm's shape: one connection state per line, as `drbdadm cstate r0` printed
"StandAlone" and "Connected" on the drbd lab's nodes in notebook 04's split-brain steps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from graders.drbd import resolved
from graders.drbd.resolved import replicating, split_brain_remains
from halab.errors import HalabError


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
    assert replicating(lab, "node1") is resolved


class SplitLab(NodeSays):
    """A drbd lab whose state recorded a split brain between node1 (victim) and node2."""

    name = "drbd"

    def __init__(self, answer: Result | None) -> None:
        super().__init__(answer)
        self.provider_data: dict[str, Any] = {"split_brain": {"victim": "node1", "survivor": "node2"}}

    def state(self) -> Any:
        return self


def test_restore_says_a_split_brain_stays_until_resolved_then_is_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = SplitLab(Result("StandAlone\n"))
    monkeypatch.setattr(resolved, "update_state", lambda _name, change: change(lab))
    assert "split brain between node1 and node2 stays" in (split_brain_remains(lab, "node2") or "")
    assert split_brain_remains(lab, "client") is None  # no part in it
    lab.answer = Result("Connected\n")
    assert split_brain_remains(lab, "node1") is None
    # The record stays for split-brain-resolved to grade (it was dropped, and the next check said no split brain
    # had been induced), marked resolved: restore asks DRBD no more, even when a later fault leaves it StandAlone.
    assert lab.provider_data["split_brain"] == {"victim": "node1", "survivor": "node2", "resolved": True}
    lab.answer = None
    assert split_brain_remains(lab, "node2") is None
