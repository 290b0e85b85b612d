import sys
import time
from types import SimpleNamespace

import pytest

from halab.course import labaccess
from halab.errors import HalabError


def test_call_with_timeout() -> None:
    assert labaccess.call_with_timeout(lambda: 42, 1) == (42, None)
    assert labaccess.call_with_timeout(lambda: 1 / 0, 1) == (None, "division by zero")
    value, problem = labaccess.call_with_timeout(lambda: time.sleep(2), 0.1)
    assert value is None and problem == "no answer within 0.1 s"


def test_up_labs_without_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "halab.lab", None)  # makes `from halab.lab import ...` fail
    labs, problem = labaccess.up_labs()
    assert labs == [] and problem and "not installed" in problem


class FakeLab:
    """Stands in for halab.lab.Lab: node1 is unreachable, node2 answers."""

    calls = 0

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def nodes(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name="node1"), SimpleNamespace(name="node2")]

    def is_up(self) -> bool:
        return self.name != "down"

    def run(self, node: str, command: str, timeout: float = 30) -> SimpleNamespace:
        FakeLab.calls += 1
        if node == "node1" or self.name == "hung":
            raise HalabError(f"{node} is unreachable")
        return SimpleNamespace(exit_status=0, stdout=f"{command} on {node}", stderr="")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    import halab.access

    monkeypatch.setattr(halab.access, "open_lab", FakeLab)
    monkeypatch.setattr(labaccess, "_recent_failures", {})


def test_run_on_lab_tries_the_next_node(fake_lab: None) -> None:
    assert labaccess.run_on_lab("clustering", "uptime") == ("uptime on node2", None)
    output, problem = labaccess.run_on_lab("down", "uptime")
    assert output is None and "not up" in problem


def test_a_hung_lab_is_remembered_briefly(fake_lab: None) -> None:
    FakeLab.calls = 0
    output, problem = labaccess.run_on_lab("hung", "uptime")
    assert output is None and problem == "node1: node1 is unreachable; node2: node2 is unreachable"
    calls = FakeLab.calls
    output, problem = labaccess.run_on_lab("hung", "uptime")
    assert FakeLab.calls == calls and "s ago" in problem
