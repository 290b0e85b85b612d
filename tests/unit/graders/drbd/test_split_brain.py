"""`halab fault drbd split-brain` against a resource whose after-sb policy resolves a split brain by itself: DRBD's
own resolution is recognised and named, and nothing of the fault is left behind (graders/drbd/faults.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from graders.drbd import faults as drbd_faults
from halab.errors import HalabError
from halab.runtime.ssh import CommandResult
from halab.spec import load_spec

SOLVED_LINE = "[  812.1] drbd r0: Split-Brain detected, 1 primaries, automatically solved. Sync from peer node\n"
DUMP = ("resource r0 {\n    net {\n        after-sb-0pri discard-zero-changes;\n"
        "        after-sb-1pri discard-secondary;\n    }\n}\n")


class FakeLab:
    """What the split-brain fault asks of a lab, answered from a script of connection states."""

    name = base = "drbd"

    def __init__(self, states: list[dict[str, str]], fail_writing: bool = False) -> None:
        self.spec = load_spec("drbd")
        self.states, self.fail_writing = states, fail_writing
        self.commands: list[tuple[str, str]] = []
        self.links: list[tuple[str, str, bool]] = []

    def state(self) -> Any:
        return self

    def node(self, name: str) -> None:
        return None

    def provider(self) -> Any:
        return self

    def set_link(self, _state: object, node: str, network: str, up: bool) -> None:
        self.links.append((node, network, up))

    def run(self, node: str, command: str, timeout: float = 30) -> CommandResult:
        self.commands.append((node, command))
        if command.startswith("drbdadm cstate"):
            states = self.states[0] if len(self.states) == 1 else self.states.pop(0)
            return CommandResult(0, states[node] + "\n", "")
        if command.startswith("dmesg"):
            return CommandResult(0, SOLVED_LINE if node == "node2" else "", "")
        if command.startswith("drbdadm dump"):
            return CommandResult(0, DUMP, "")
        return CommandResult(0, "", "")


@pytest.fixture
def fake_runtime(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    recorded: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def no_fencing(_lab: object, _nodes: list[str]) -> Iterator[bool]:
        yield False

    class State:
        def __init__(self) -> None:
            self.provider_data: dict[str, Any] = {"faults": {"node2": [{"fault": "cut-link"}]}}

    state = State()

    def update(_lab: str, change: Any) -> None:
        change(state)
        recorded.append(dict(state.provider_data))

    monkeypatch.setattr(drbd_faults, "fencing_suspended", no_fencing)
    monkeypatch.setattr(drbd_faults, "update_state", update)
    monkeypatch.setattr(drbd_faults, "primary_with_data", lambda lab, node: node == "node1")
    monkeypatch.setattr(drbd_faults.faults, "cut_link", lambda lab, node, net: lab.links.append((node, net, False)))
    monkeypatch.setattr(drbd_faults.time, "sleep", lambda _s: None)
    return recorded


def test_a_split_brain_drbd_resolved_by_itself_is_named_and_leaves_nothing_behind(fake_runtime: list) -> None:
    lab = FakeLab([{"node1": "Connected", "node2": "Connected"},  # before the cut
                   {"node1": "WFConnection", "node2": "StandAlone"},  # cut (victim lost its peer)
                   {"node1": "SyncSource", "node2": "SyncTarget"}])  # back: DRBD resolved it and resyncs
    message = drbd_faults.split_brain_fault(lab, "node2")  # type: ignore[arg-type]
    assert "DRBD resolved the split brain by itself: after-sb-1pri discard-secondary decided" in message
    assert "discarded node2's changes" in message and "out of maintenance mode" in message
    assert ("node1", "crm configure property maintenance-mode=false") in lab.commands
    assert lab.links[-1] == ("node2", "repl", True)
    assert not any("split_brain" in data for data in fake_runtime), "no split brain for the student to resolve"


def test_a_split_brain_that_drbd_stops_at_is_recorded_for_the_student(fake_runtime: list) -> None:
    lab = FakeLab([{"node1": "Connected", "node2": "Connected"}, {"node1": "WFConnection", "node2": "WFConnection"},
                   {"node1": "StandAlone", "node2": "StandAlone"}])
    message = drbd_faults.split_brain_fault(lab, "node2")  # type: ignore[arg-type]
    assert "DRBD is StandAlone. Resolve it" in message
    assert fake_runtime[-1]["split_brain"]["victim"] == "node2"
    assert ("node1", "crm configure property maintenance-mode=false") not in lab.commands  # the student's to end


def test_a_failure_half_way_leaves_no_maintenance_mode_and_no_cut_link(fake_runtime: list,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot_write(_lab: object, node: str, _marker: str) -> None:
        raise HalabError(f"{node}: 'drbdadm primary r0' failed")

    monkeypatch.setattr(drbd_faults, "_write_alone", cannot_write)
    lab = FakeLab([{"node1": "Connected", "node2": "Connected"}, {"node1": "WFConnection", "node2": "StandAlone"}])
    with pytest.raises(HalabError, match="drbdadm primary"):
        drbd_faults.split_brain(lab, "node2")  # type: ignore[arg-type]
    assert ("node1", "crm configure property maintenance-mode=false") in lab.commands
    assert lab.links[-1] == ("node2", "repl", True)
    assert "node2" not in fake_runtime[-1]["faults"]
