"""halab.breakfix's choices, on a stand-in for the live lab (the live walk is tests/integration/test_break.py):
which seed a lab gets, and how a failed step is reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from graders.clustering.scenarios import SCENARIOS
from graders.scenario import Copy, Run, classroom_seed, scenario_for
from halab import breakfix
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.ssh import CommandResult
from halab.spec import load_spec


@dataclass
class State:
    slot: int = 0
    provider_data: dict[str, Any] = field(default_factory=dict)


class FakeLab:
    """What breakfix asks of a Lab: its spec, state, and commands and files on its nodes."""

    def __init__(self, slot: int = 0, fail_on: str = "") -> None:
        self.spec, self.base = load_spec("clustering"), "clustering"
        self._state, self.fail_on = State(slot), fail_on
        self.ran: list[tuple[str, str]] = []
        self.files: dict[tuple[str, str], bytes] = {("node1", "/etc/corosync/authkey"): b"key"}

    def state(self) -> State:
        return self._state

    def run(self, node: str, command: str, timeout: float = 30) -> CommandResult:
        self.ran.append((node, command))
        failed = bool(self.fail_on) and self.fail_on in command
        return CommandResult(1 if failed else 0, "", "no such resource" if failed else "")

    def read_file(self, node: str, path: str) -> bytes:
        return self.files[(node, path)]

    def write_file(self, node: str, path: str, content: bytes, mode: int = 0o644) -> None:
        self.files[(node, path)] = content


def lab(**kwargs: Any) -> Lab:
    return cast(Lab, FakeLab(**kwargs))


def test_a_users_lab_gets_its_slots_seed_and_root_a_random_or_given_one() -> None:
    assert breakfix.choose_seed(lab(slot=7), None, None, "03-clustering") == classroom_seed("03-clustering", 7)
    assert breakfix.choose_seed(lab(slot=7), None, None, None) == classroom_seed("clustering", 7)
    assert breakfix.choose_seed(lab(), None, 42, None) == 42
    assert 0 <= breakfix.choose_seed(lab(), None, None, None) < 10**9


def test_a_named_scenario_gets_a_seed_that_gives_it() -> None:
    for scenario in SCENARIOS:
        seed = breakfix.choose_seed(lab(), scenario.name, 1000, None)
        assert scenario_for(SCENARIOS, "clustering", seed) is scenario
    with pytest.raises(HalabError, match="no scenario 'nope'"):
        breakfix.choose_seed(lab(), "nope", None, None)
    with pytest.raises(HalabError, match="seed must be"):
        breakfix.choose_seed(lab(), None, 10**9, None)


def test_steps_run_in_order_and_a_failed_one_names_its_node_not_its_command() -> None:
    fake = FakeLab(fail_on="--clear")
    steps = [Copy("node1", "node2", "/etc/corosync/authkey", 0o400), Run("node2", "true"),
             Run("node1", "crm_resource --clear --resource web"), Run("node2", "never")]
    with pytest.raises(HalabError) as raised:
        breakfix.run_steps(cast(Lab, fake), steps, "repairing the lab")
    assert fake.files[("node2", "/etc/corosync/authkey")] == b"key"
    assert fake.ran == [("node2", "true"), ("node1", "crm_resource --clear --resource web")]
    assert "on node1" in str(raised.value) and "crm_resource" not in str(raised.value)
