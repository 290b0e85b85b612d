"""The clustering labs graded on real nodes: fresh, solved, fenced, broken by faults, and restored."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest

from graders.collectors import crm_mon
from halab.errors import HalabError
from halab.lab import Lab
from halab.runtime.state import load_state
from solutions import solve
from solutions.clustering import cluster_formed, wait_for_cluster
from solutions.common import wait_until
from tests.integration.conftest import halab, leftovers, slow_misses

pytestmark = pytest.mark.integration
FRESH_PASSES: set[str] = set()  # Debian's default corosync.conf earns nothing


def check_json(lab: str, *flags: str) -> tuple[int, dict]:
    result = halab("check", lab, "--json", *flags, timeout=600)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def where_is(lab: Lab, resource_id: str) -> tuple[str, ...]:
    status = crm_mon.parse(lab.run("node1", "crm_mon -1 --output-as=xml").stdout)
    resource = status.resource(resource_id)
    return resource.nodes if resource and resource.active else ()


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Lab]:
    lab = Lab("clustering")
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        assert leftovers("clustering") == []


def test_fresh_lab_fails_with_explanations(two_nodes: Lab) -> None:
    code, report = check_json("clustering", "--no-faults")
    assert code == 1
    assert report["score"] < 0.2 * report["max_score"]
    passed = {c["id"] for c in report["checks"] if c["passed"]}
    assert passed == FRESH_PASSES
    assert all(c["feedback"] and (c["passed"] or c["hint"]) for c in report["checks"])


def test_solved_lab_scores_full_marks_and_fails_over(two_nodes: Lab) -> None:
    solve(two_nodes)
    before = where_is(two_nodes, "web-ip")
    code, report = check_json("clustering")
    slow = slow_misses(report)
    assert code == (1 if slow else 0)
    assert report["max_score"] == 120 and report["score"] == 120 - sum(slow.values())
    measured = report["measurements"]
    assert measured["failover_from"] == before[0] and measured["failover_to"] != before[0]
    assert measured["failover_seconds"] > 0  # measured; its verdict is the objective's, for containers:
    assert (measured["rto_applies_to"], measured["rto_seconds"]) == ("nspawn", 30)
    # The cluster is restored: every node back online, and the IP really is on the other node now.
    wait_for_cluster(two_nodes, 2, timeout=60, what="both nodes online")
    assert where_is(two_nodes, "web-ip") == (measured["failover_to"],)


def test_stonith_admin_really_cuts_the_node(two_nodes: Lab) -> None:
    pid_before = load_state("clustering").provider_data["pids"]["node2"]
    # node1 may have just been power-cycled by the fault check: its fencer must have the device again.
    wait_until("node1's fencer to know the fence device",
               lambda: "fence-lab" in two_nodes.run("node1", "stonith_admin --list-registered").stdout, timeout=90)
    result = two_nodes.run("node1", "stonith_admin --reboot node2", timeout=90)
    assert result.ok, result.stderr
    assert load_state("clustering").provider_data["pids"]["node2"] != pid_before, "node2 was not power-cycled"
    history = two_nodes.run("node1", "stonith_admin --history node2").stdout
    assert "reboot of node2 successful" in history
    wait_for_cluster(two_nodes, 2, timeout=120, what="node2 to rejoin")


def test_grading_with_a_node_powered_off(two_nodes: Lab) -> None:
    halab("fault", "clustering", "power-off", "node2", check=True)
    try:
        code, report = check_json("clustering", "--no-faults")
        assert code == 1
        unreachable = [c["id"] for c in report["checks"] if "node2 is unreachable" in c["feedback"]]
        assert {"services-running", "authkey"} <= set(unreachable)
    finally:
        halab("fault", "clustering", "restore", "node2", check=True)
    wait_for_cluster(two_nodes, 2, timeout=120, what="node2 to rejoin")


def test_kill_daemon_is_recovered_by_fencing_and_restore(two_nodes: Lab) -> None:
    halab("fault", "clustering", "kill-daemon", "node2", check=True)
    # Let the cluster react first (node2 is lost and fenced), then restore what is still missing.
    with contextlib.suppress(HalabError):
        wait_until("node1 to see node2 lost", lambda: not cluster_formed(two_nodes, 2), timeout=20)
    halab("fault", "clustering", "restore", "node2", check=True)
    wait_for_cluster(two_nodes, 2, timeout=180, what="node2 to rejoin")
    code, report = check_json("clustering", "--no-faults")
    assert code == 0, [c for c in report["checks"] if not c["passed"]]


def test_three_node_lab_keeps_quorum_when_one_node_is_cut_off() -> None:
    lab = Lab("clustering3")
    try:
        lab.up()
        code, report = check_json("clustering3", "--no-faults")
        assert code == 1 and report["score"] < 0.2 * report["max_score"]
        solve(lab)
        code, report = check_json("clustering3")
        assert code == 0, [c for c in report["checks"] if not c["passed"]]
        halab("fault", "clustering3", "cut-link", "node3", check=True)
        assert halab("ssh", "node3", "--lab", "clustering3", "--", "true").returncode != 0
        # The majority (node1, node2) keeps quorum and goes on serving.
        wait_until("node3 to be seen offline", lambda: not cluster_formed(lab, 3), timeout=30)
        status = crm_mon.parse(lab.run("node1", "crm_mon -1 --output-as=xml").stdout)
        assert status.quorate
        halab("fault", "clustering3", "restore", "node3", check=True)
        wait_for_cluster(lab, 3, timeout=120, what="node3 to rejoin")
    finally:
        lab.down()
        assert leftovers("clustering3") == []
