"""The Lab (halab/lab.py) without nodes: a `halab down` killed half-way (seen in benchmarks/soak.py: SIGKILL
0.47 s in, after the lab's network namespaces were gone) leaves a lab the next `halab up` makes afresh, not one
it takes for up and tries to revive nodes whose namespaces are gone (it waited 180 s for SSH, then said to run
down && up); and a Lab reads and validates its spec once, however often it is asked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from halab import lab as lab_module
from halab.lab import Lab, running_labs
from halab.runtime.state import LabState, NodeInfo, load_state, save_state
from halab.spec import LabSpec
from halab.spec import loader as spec_loader
from tests.support.paths import REPO

PROJECT = REPO


class Killed(BaseException):
    """What SIGKILL does to a process: it stops where it is (nothing after it runs)."""


def test_a_down_killed_half_way_leaves_a_lab_that_is_not_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path / "labs"))
    monkeypatch.setattr(lab_module, "require_root", lambda: None)
    state = LabState("clustering", "nspawn", str(PROJECT / "labs" / "clustering.toml"), phase="up")
    state.nodes.append(NodeInfo("node1", "10.99.0.1", 22, "root", "/nonexistent", "ssh-ed25519 AAAA"))
    save_state(state)
    assert Lab("clustering").is_up()

    def killed_while_removing(_self: Lab, _state: LabState | None, _progress: object) -> None:
        raise Killed

    monkeypatch.setattr(Lab, "_teardown", killed_while_removing)
    with pytest.raises(Killed):
        Lab("clustering").down()
    left = load_state("clustering")
    assert left is not None and left.phase == "removing"
    assert not Lab("clustering").is_up() and "clustering" not in running_labs()
    assert Lab("clustering").status()["phase"] == "removing"


def test_a_lab_reads_its_spec_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    parsed = Counter[str]()
    real = spec_loader.parse_spec

    def counting(*args: Any, **kwargs: Any) -> LabSpec:
        parsed[args[1]["name"]] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(spec_loader, "parse_spec", counting)
    lab = Lab("clustering")
    assert lab.spec.name == "clustering" and lab.spec is lab.spec and lab.spec.kind_def.name == "clustering"
    assert parsed == {"clustering": 1}
