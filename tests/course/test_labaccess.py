import sys
import time
from pathlib import Path
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
    for module in ("halab.lab", "halab.access"):  # the runtime and its doors: `from halab.access import` fails
        monkeypatch.setitem(sys.modules, module, None)
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


def test_a_user_sees_the_values_of_their_own_slot_before_the_lab_is_up(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A user of the lab service: the slot comes from the service, or from the slot table when it is away;
    the lab's facts then show that slot's values (halab/spec/instances.py moves them), not the lab as written."""
    from halab import access, paths
    from halab.access import service as client
    from halab.course.widgets.lab_panel import lab_facts
    from halab.runtime import slots

    monkeypatch.setattr(access, "is_root", lambda: False)
    monkeypatch.setattr(access.os, "geteuid", lambda: 4242)  # a user, not root
    monkeypatch.setattr(client, "request", lambda op, lab, args: {"slot": 4} if op == "whoami" else None)
    assert access.own_slot() == 4
    shown = lab_facts("clustering").value
    assert "10.46.10.11" in shown and "10.46.10.100" in shown and "halab-u4" in shown and "slot 4" in shown
    assert "10.42.10.11" not in shown

    def away(*_args: object) -> None:
        raise HalabError(client.NOT_RUNNING)

    monkeypatch.setattr(client, "request", away)
    monkeypatch.setattr(paths, "state_dir", lambda: tmp_path)
    assert access.own_slot() is None  # no service, no slot yet: the values as written, and a warning
    shown = lab_facts("clustering").value
    assert "10.42.10.11" in shown and "your own could not be found" in shown
    slots.assign_slot(4242, "me", 9)  # what the lab service or a classroom roster gave this user
    assert access.own_slot() == 9
