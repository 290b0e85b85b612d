"""The clustering labs graded on real nodes: fresh, solved by walking notebook 03's guided steps, fenced, broken
by faults, and restored; the three-node lab built with the notebook's pcs steps and cut in two."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from graders.collectors import crm_mon
from halab.lab import Lab
from solutions.clustering import cluster_formed, resources_started, wait_for_cluster
from solutions.common import must, wait_until
from tests.integration.conftest import halab, leftovers, slow_misses
from tests.integration.walkthrough import notebook, walk
from tests.solutions import clustering_third
from tests.solutions.broken import must_fail_each

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


@pytest.fixture
def lab(two_nodes: Lab) -> Lab:
    """The lab as the guided walk leaves it (the module's order), or solved here: a fault test run alone (-k) must
    not fail at once on a fresh lab's "corosync is not running"."""
    if not (cluster_formed(two_nodes, 2) and resources_started(two_nodes, "web-ip", "fence-lab")):
        halab("solve", "clustering", check=True, timeout=600)
        wait_for_cluster(two_nodes, 2, timeout=120, what="the solved cluster")
    return two_nodes


def test_fresh_lab_fails_with_explanations(two_nodes: Lab) -> None:
    code, report = check_json("clustering", "--no-faults")
    assert code == 1
    assert report["score"] < 0.2 * report["max_score"]
    passed = {c["id"] for c in report["checks"] if c["passed"]}
    assert passed == FRESH_PASSES
    assert all(c["feedback"] and (c["passed"] or c["hint"]) for c in report["checks"])


def test_the_notebooks_guided_steps_reach_full_marks_and_fail_over(two_nodes: Lab) -> None:
    """The lab solved the way a student following notebook 03 solves it: its guided cells, in order, in this
    lab's values. Every task the lab grades must be guided, and the notebook's steps must earn every point."""
    tasks = walk(two_nodes, notebook("03-clustering"))
    assert tasks == {t.id for t in two_nodes.spec.tasks} - {"failover"}  # failover: the grader's own fault
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


def test_stonith_admin_really_cuts_the_node(lab: Lab) -> None:
    pid_before = lab.state().provider_data["pids"]["node2"]
    # node1 may have just been power-cycled by the fault check: its fencer must have the device again.
    wait_until("node1's fencer to know the fence device",
               lambda: "fence-lab" in lab.run("node1", "stonith_admin --list-registered").stdout, timeout=90)
    result = lab.run("node1", "stonith_admin --reboot node2", timeout=90)
    assert result.ok, result.stderr
    assert lab.state().provider_data["pids"]["node2"] != pid_before, "node2 was not power-cycled"
    history = lab.run("node1", "stonith_admin --history node2").stdout
    assert "reboot of node2 successful" in history
    wait_for_cluster(lab, 2, timeout=120, what="node2 to rejoin")


def test_grading_with_a_node_powered_off(lab: Lab) -> None:
    halab("fault", "clustering", "power-off", "node2", check=True)
    try:
        code, report = check_json("clustering", "--no-faults")
        assert code == 1
        unreachable = [c["id"] for c in report["checks"] if "node2 is unreachable" in c["feedback"]]
        assert {"services-running", "authkey"} <= set(unreachable)
    finally:
        restored = halab("fault", "clustering", "restore", "node2", check=True).stderr
    # node1 fences the lost node2, which powers it on again: restore either did it or says that fencing did.
    assert "powered node2 on" in restored or "node2 was on again already" in restored, restored
    wait_for_cluster(lab, 2, timeout=120, what="node2 to rejoin")
    again = halab("fault", "clustering", "restore", "node2", check=True).stderr
    assert "nothing to undo: halab injected no fault into node2" in again


def test_kill_daemon_is_recovered_by_fencing_and_restore(lab: Lab) -> None:
    pid_before = lab.state().provider_data["pids"]["node2"]
    halab("fault", "clustering", "kill-daemon", "node2", check=True)
    # Let the cluster react first: node1 loses node2 (~9 s here) and fences it (a power cycle). Restoring before
    # the fence lands raced with it: restore started corosync, node2 rejoined, the fence already under way
    # rebooted it, and the check found node2 unreachable (CI, 2026-12-07).
    wait_until("node1 to fence node2", lambda: lab.state().provider_data["pids"].get("node2")
               not in (None, pid_before), timeout=90)
    restored = halab("fault", "clustering", "restore", "node2", check=True).stderr
    # The fenced node2 boots with its cluster services enabled (the lab's task): restore has nothing left to start.
    assert "corosync ran on node2 again already" in restored or "started corosync" in restored, restored
    wait_for_cluster(lab, 2, timeout=180, what="node2 to rejoin")
    code, report = check_json("clustering", "--no-faults")
    assert code == 0, [c for c in report["checks"] if not c["passed"]]


def pcs_fencing_and_web(lab: Lab) -> None:
    """What notebook 03 leaves the student to do on their own in the three-node lab, done with pcs (its table's
    column): a fence device, the web group, stickiness."""
    spec, first = lab.spec, lab.spec.member_names[0]
    must(lab, first, f"pcs stonith create fence-lab fence_halab pcmk_host_list='{' '.join(spec.member_names)}'")
    must(lab, first, "pcs property set stonith-enabled=true")
    must(lab, first, f"pcs resource create web-ip ocf:heartbeat:IPaddr2 ip={spec.settings['floating_ip']} "
                     f"cidr_netmask={spec.management_network.subnet.prefixlen} --group web")
    must(lab, first, "pcs resource create web-server ocf:heartbeat:apache configfile=/etc/apache2/apache2.conf "
                     "statusurl=http://localhost/server-status --group web")
    must(lab, first, "pcs resource defaults update resource-stickiness=100")
    for node in spec.member_names:
        lab.write_file(node, "/var/www/html/index.html", f"<h1>served by {node}</h1>\n")
    wait_until("the web group to start", lambda: resources_started(lab, "web-ip", "web-server", "fence-lab"),
               timeout=120)


def test_three_node_lab_built_with_pcs_loses_quorum_safely() -> None:
    """Notebook 03's part 2 on clustering3: the guided pcs steps, the student's own part done with pcs, then
    every check, the failover and the quorum-loss fault check (the minority stops, the majority takes over)."""
    lab = Lab("clustering3")
    try:
        lab.up()
        code, report = check_json("clustering3", "--no-faults")
        assert code == 1 and report["score"] < 0.2 * report["max_score"]
        tasks = walk(lab, notebook("03-clustering"))
        assert tasks == {"services", "quorum"}
        pcs_fencing_and_web(lab)
        code, report = check_json("clustering3")
        slow = slow_misses(report, {"failover": ("failover_seconds", "rto_seconds"),
                                    "quorum-loss": ("majority_service_seconds", "quorum_loss_rto_seconds")})
        assert code == (1 if slow else 0), [c for c in report["checks"] if not c["passed"]]
        measured = report["measurements"]
        print("quorum-loss:", {k: v for k, v in measured.items() if "quorum" in k or "minority" in k
                               or "majority" in k})
        assert measured["minority_stopped_seconds"] is not None and measured["majority_service_seconds"] > 0
        assert measured["quorum_loss_node"] not in measured["quorum_loss_majority"]
        wait_for_cluster(lab, 3, timeout=120, what="every node back after the fault checks")
        # The fault by hand, as the notebook shows it: the cut-off node has no quorum, the two others have.
        halab("fault", "clustering3", "partition", "node3", check=True)
        wait_until("node3 to be seen offline", lambda: not cluster_formed(lab, 3), timeout=30)
        assert crm_mon.parse(lab.run("node1", "crm_mon -1 --output-as=xml").stdout).quorate
        halab("fault", "clustering3", "restore", "node3", check=True)
        wait_for_cluster(lab, 3, timeout=180, what="node3 to rejoin")
    finally:
        lab.down()
        assert leftovers("clustering3") == []


def test_a_third_solution_from_clusters_from_scratch_and_its_broken_variants(two_nodes: Lab) -> None:
    """pcs with pcsd (the lab's hacluster password), a fence device per node, a colocation and an order instead
    of a group: every check (its failover is the long run's, below: the notebook's walk fails over in CI); then
    each broken variant fails the check that should catch it."""
    clustering_third.solve(two_nodes)
    code, report = check_json("clustering", "--no-faults")
    assert code == 0, [(c["id"], c["feedback"]) for c in report["checks"] if not c["passed"]]
    assert "node1 by fence-node1" in {c["id"]: c["feedback"] for c in report["checks"]}["stonith"]
    must_fail_each(two_nodes, clustering_third.broken(two_nodes))


@pytest.mark.long  # README, 'Long test runs': the third solution's failover (about 40 s)
def test_the_third_solution_fails_over(two_nodes: Lab) -> None:
    clustering_third.solve(two_nodes)
    code, report = check_json("clustering")
    slow = slow_misses(report)
    assert code == (1 if slow else 0) and report["score"] == 120 - sum(slow.values())
    wait_for_cluster(two_nodes, 2, timeout=120, what="both nodes back after the fault check")


def test_the_admin_tools_of_a_real_cluster_work_in_the_nodes(two_nodes: Lab) -> None:
    """The tools an admin reaches for, inside the nodes: the manual, iptables, root SSH and scp between the nodes,
    and a cluster made with crm cluster init/join, which the graders grade like the hand-written one (pcs: the
    third solution above). Last in the module: it replaces the cluster."""
    for command in ("MANPAGER=cat MANWIDTH=80 man corosync.conf | grep -q link_mode",
                    "man -w pcs crm keepalived.conf drbd.conf-8.4 corosync-cfgtool stonith_admin",
                    "zgrep -q stick-table /usr/share/doc/haproxy/configuration.txt.gz",
                    "iptables -I INPUT -p 112 -j DROP && iptables -S INPUT | grep -q -- '-j DROP' && "
                    "iptables -D INPUT -p 112 -j DROP"):
        result = two_nodes.run("node1", command, timeout=60)
        assert result.ok, (command, result.stderr)
    copy = two_nodes.run("node1", "scp /etc/corosync/authkey node2:/etc/corosync/ && sha256sum /etc/corosync/authkey "
                                  "&& ssh node2 sha256sum /etc/corosync/authkey", timeout=60)
    assert copy.ok, copy.stderr
    assert len({line.split()[0] for line in copy.stdout.splitlines()}) == 1, copy.stdout
    assert two_nodes.run("node1", "pcs cluster destroy --all", timeout=120).ok
    init = two_nodes.run("node1", "crm cluster init -y -n halab -i eth0", timeout=300)
    assert init.ok, init.stdout + init.stderr
    join = two_nodes.run("node2", "crm cluster join -y -c node1 -i eth0", timeout=300)
    assert join.ok, join.stdout + join.stderr
    wait_for_cluster(two_nodes, 2, timeout=120, what="the cluster crm made")
    assert not core_failures(), "a cluster made by crm cluster init/join"


CORE_CHECKS = {"corosync-conf-identical", "corosync-cluster-name", "corosync-nodelist", "corosync-transport",
               "corosync-quorum", "authkey", "services-running", "services-enabled", "membership"}


def core_failures() -> dict[str, str]:
    """The Corosync and membership checks that fail now, with their feedback (crm cluster init sets up neither
    fencing nor the web service)."""
    _, report = check_json("clustering", "--no-faults")
    return {c["id"]: c["feedback"] for c in report["checks"] if c["id"] in CORE_CHECKS and not c["passed"]}
