"""The load-balancing lab graded on real nodes: fresh, solved by walking notebook 5b's guided steps and by an
independent solution (each 100 % with every fault check), its injected faults, and torn down with nothing left."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from graders.loadbalancing import live
from halab.lab import Lab
from solutions.common import wait_until
from tests.integration.conftest import check_json, halab, running_lab
from tests.integration.walkthrough import notebook, walk
from tests.solutions import loadbalancing_alt, loadbalancing_third
from tests.solutions.broken import must_fail_each

pytestmark = pytest.mark.integration
LAB = "loadbalancing"
MEASURED = ("web_failover_seconds", "web_failed_requests", "haproxy_kill_takeover_seconds",
            "haproxy_kill_failed_requests", "power_off_takeover_seconds", "power_off_failed_requests", "return_policy")


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(LAB) as up:
        yield up


def test_a_container_node_sets_its_own_network_sysctls(lab: Lab) -> None:
    # HAProxy on the backup binds the virtual IP only with net.ipv4.ip_nonlocal_bind = 1 (providers/nspawn/).
    result = lab.run("lb2", "sysctl -w net.ipv4.ip_nonlocal_bind=1 && sysctl -w net.ipv4.ip_nonlocal_bind=0")
    assert result.ok, result.stderr


def test_fresh_lab_fails_every_check_with_an_explanation(lab: Lab) -> None:
    code, report = check_json(LAB, "--no-faults")
    assert code == 1 and report["score"] == 0 and report["max_score"] == 80
    assert all(c["feedback"] and c["hint"] for c in report["checks"])
    feedback = {c["id"]: c["feedback"] for c in report["checks"]}
    assert "Debian's default HAProxy configuration" in feedback["haproxy-config-valid"]
    assert feedback["vrrp-instance"] == "keepalived is not running on lb1, lb2"
    assert feedback["vip-single-holder"].startswith("no balancer holds 10.42.50.100")


def test_the_notebooks_guided_steps_score_full_marks_with_every_fault_check(lab: Lab) -> None:
    assert walk(lab, notebook("05b-load-balancing")) == {"web", "haproxy", "keepalived", "traffic"}
    code, report = check_json(LAB)
    assert code == 0, [c for c in report["checks"] if not c["passed"]]
    assert report["score"] == report["max_score"] == 100 and report["faults_run"]
    measured = report["measurements"]
    assert all(key in measured for key in MEASURED), measured
    assert 0 < measured["power_off_takeover_seconds"] <= measured["vip_rto_seconds"]
    assert 0 < measured["haproxy_kill_takeover_seconds"] <= measured["vip_rto_seconds"]
    assert measured["web_failover_seconds"] <= measured["web_rto_seconds"]
    assert measured["return_policy"] == "preempt" and measured["return_seconds"] is not None
    # Everything was restored: lb1 (preempt, higher priority) is master again and both web servers serve.
    assert live.holders(lab) == ["lb1"]
    assert {live.server_status(lab, "lb1", web) for web in ("web1", "web2")} == {"UP"}


def test_injected_faults_fail_the_checks_they_should(lab: Lab) -> None:
    assert "stopped Apache on web2" in halab("fault", LAB, "stop-web", "web2", check=True).stderr
    try:
        wait_until("HAProxy to mark web2 DOWN", lambda: live.server_status(lab, "lb1", "web2").startswith("DOWN"),
                   timeout=30)
        _, report = check_json(LAB, "--no-faults")
        failed = {c["id"]: c["feedback"] for c in report["checks"] if not c["passed"]}
        assert {"web-app", "web-service", "balancing-split", "servers-up"} <= set(failed)
        assert "web2" in failed["servers-up"]
    finally:
        assert "started Apache on web2" in halab("fault", LAB, "restore", "web2", check=True).stderr
    assert halab("fault", LAB, "kill-haproxy", "web1").returncode != 0  # not a balancer: a clear error
    halab("fault", LAB, "kill-haproxy", "lb1", check=True)
    try:
        wait_until("lb2 to take the virtual IP", lambda: live.holders(lab) == ["lb2"], timeout=30)
    finally:
        # It said "no fault to undo" and left HAProxy dead and masked.
        restored = halab("fault", LAB, "restore", "lb1", check=True).stderr
    assert "unmasked and started HAProxy on lb1" in restored, restored
    assert lab.run("lb1", "systemctl is-active --quiet haproxy").ok
    assert "nothing to undo" in halab("fault", LAB, "restore", "lb1", check=True).stderr
    wait_until("lb1 to be master again", lambda: live.holders(lab) == ["lb1"] and live.request(lab).ok, timeout=60)


@pytest.mark.long  # README, 'Long test runs': a third solution covers the same in CI
def test_an_independent_solution_scores_full_marks_too(lab: Lab) -> None:
    lab.down()
    lab.up()
    loadbalancing_alt.solve(lab)
    code, report = check_json(LAB)
    assert code == 0, [c for c in report["checks"] if not c["passed"]]
    assert report["score"] == 100
    assert report["measurements"]["return_policy"] == "nopreempt"
    assert len(live.holders(lab)) == 1 and live.request(lab).ok


def test_a_third_solution_scores_full_marks_and_its_broken_variants_fail(lab: Lab) -> None:
    """VRRPv3 with a dedicated script user (keepalived 2.2.7's self-killing config test recognised), a stick table
    shared by `peers`: full marks with every fault check; then each broken variant fails its check."""
    lab.down()
    lab.up()
    loadbalancing_third.solve(lab)
    code, report = check_json(LAB)
    assert code == 0, [c for c in report["checks"] if not c["passed"]]
    checks = {c["id"]: c["feedback"] for c in report["checks"]}
    assert "a bug fixed in 2.2.8" in checks["keepalived-config-valid"]
    wait_until("one balancer to serve", lambda: len(live.holders(lab)) == 1 and live.request(lab).ok, timeout=60)
    must_fail_each(lab, loadbalancing_third.broken(lab))
