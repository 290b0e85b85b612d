"""link-policy compares the link_mode in corosync.conf with the one knet runs: `corosync-cfgtool -R` after changing
link_mode leaves knet in its old mode while the files say the new one (a false pass before). The knet traffic
output is written as corosync-cmapctl prints it; the rest is the recorded solved infrastructure lab."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from graders.collectors import ParseError, knet_traffic
from graders.grade import evaluate
from halab.spec import load_spec
from tests.support.paths import FIXTURES

SOLVED = json.loads((FIXTURES / "infrastructure/solved.json").read_text())


def traffic(local: int, peer: int, growing: tuple[int, ...]) -> str:
    def snapshot(offset: int) -> str:
        lines = [f"stats.knet.node{local}.link0.tx_data_packets (u64) = 0"]
        counts = {link: 1000 + (offset if link in growing else 0) for link in (0, 1)}
        lines += [f"stats.knet.node{peer}.link{link}.tx_data_packets (u64) = {count}" for link, count in counts.items()]
        return "\n".join(lines)

    return f"runtime.votequorum.this_node_id (u32) = {local}\n{snapshot(0)}\n===\n{snapshot(40)}\n"


def graded(mode_in_file: str | None, growing: tuple[int, ...]) -> Any:
    data = copy.deepcopy(SOLVED)
    for local, (name, peer) in enumerate((("node1", 2), ("node2", 1)), start=1):
        commands = data["nodes"][name]["commands"]
        commands["knet_traffic"] = {"command": "", "exit": 0, "stdout": traffic(local, peer, growing), "stderr": ""}
        if mode_in_file is not None:
            commands["corosync_conf"]["stdout"] = commands["corosync_conf"]["stdout"].replace(
                "link_mode: passive", f"link_mode: {mode_in_file}")
    report = evaluate(load_spec("infrastructure"), data, unrun_faults_count=False)
    return next(c for c in report.checks if c.id == "link-policy")


def test_parse_sees_which_links_carry_data() -> None:
    parsed = knet_traffic.parse(traffic(1, 2, (0,)))
    assert (parsed.links, parsed.carrying) == ((0, 1), (0,))
    assert knet_traffic.parse(traffic(1, 2, (0, 1))).carrying == (0, 1)
    with pytest.raises(ParseError):
        knet_traffic.parse("Failed to initialize the cmap API. Error CS_ERR_LIBRARY\n")


def test_the_running_mode_matches_the_file() -> None:
    assert graded(None, (0,)).passed  # passive in the file, one link carries the data


@pytest.mark.parametrize(("mode", "growing", "says"), [
    ("active", (0,), "knet runs passive (data on link 0) while corosync.conf says link_mode: active"),
    (None, (0, 1), "knet runs active or rr (data on link 0, 1) while corosync.conf says link_mode: passive"),
])
def test_a_link_mode_changed_and_only_reloaded_fails(mode: str | None, growing: tuple[int, ...], says: str) -> None:
    check = graded(mode, growing)
    assert not check.passed and says in check.feedback
    assert "restart corosync" in check.hint and "corosync-cfgtool -R" in check.hint


def test_evidence_without_the_statistics_is_judged_by_the_file_alone() -> None:
    report = evaluate(load_spec("infrastructure"), SOLVED, unrun_faults_count=False)
    assert next(c for c in report.checks if c.id == "link-policy").passed
