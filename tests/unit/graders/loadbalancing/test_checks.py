"""The load-balancing lab's checks on facts recorded from real nodes (tests/fixtures/loadbalancing), on damaged
facts, and the pure rules behind them (persistence, binds, tracking weights)."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from graders.collectors import haproxy_cfg
from graders.collectors.haproxy_cfg import Line
from graders.collectors.keepalived_data import Instance, Tracked
from graders.grade import evaluate
from graders.loadbalancing.checks import binds_vip, persistence
from graders.loadbalancing.vrrp_checks import _weight_problems
from graders.report import Report
from halab.spec import LabSpec, load_spec
from halab.spec.kinds import get_kind
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "loadbalancing"
VIP = "10.42.50.100"


@cache
def spec() -> LabSpec:
    return load_spec("loadbalancing")


def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def report(data: dict[str, Any]) -> Report:
    return evaluate(spec(), data, unrun_faults_count=False)


def failed(scenario: str) -> dict[str, str]:
    return {c.id: c.feedback for c in report(raw(scenario)).checks if not c.passed}


def test_fresh_lab_scores_nothing_and_every_check_explains() -> None:
    result = report(raw("fresh"))
    assert result.score == 0 and len(result.checks) == 16
    for check in result.checks:
        assert check.feedback and check.hint, check.id
        assert "could not evaluate" not in check.feedback, check.feedback
    feedback = {c.id: c.feedback for c in result.checks}
    assert "Debian's default HAProxy configuration" in feedback["haproxy-config-valid"]
    assert "no keepalived configuration yet" in feedback["keepalived-config-valid"]
    assert feedback["vrrp-instance"] == "keepalived is not running on lb1, lb2"
    assert "is Apache running?" in feedback["web-app"]


@pytest.mark.parametrize("scenario", ["solved", "solved-alt"])
def test_both_independent_solutions_pass_every_check(scenario: str) -> None:
    result = report(raw(scenario))
    assert result.failed == [] and result.score == result.max_score == 80


def test_alternative_solution_is_described_as_it_is() -> None:
    feedback = {c.id: c.feedback for c in report(raw("solved-alt")).checks}
    assert feedback["haproxy-frontend"] == f"listen site (bind {VIP}:80) on lb1, lb2"
    assert feedback["haproxy-persistence"] == "a stick table (stick on src)"
    assert "balance leastconn" in feedback["haproxy-backend"]


def test_syntax_errors_are_reported_in_the_tools_own_words() -> None:
    problems = failed("broken-config")
    assert set(problems) == {"haproxy-config-valid", "haproxy-backend", "keepalived-config-valid"}
    assert problems["haproxy-config-valid"].startswith("HAProxy rejects its configuration on lb2: parsing "
                                                       "[/etc/haproxy/haproxy.cfg:26] : balance only supports")
    assert "Unknown keyword 'advert_intt'" in problems["keepalived-config-valid"]
    assert "missing '}'s" in problems["keepalived-config-valid"]


def test_split_brain_is_named_with_its_cause() -> None:
    problems = failed("split-brain")
    assert problems["vip-single-holder"].startswith(f"split brain: lb1 and lb2 both hold {VIP}")
    assert "virtual_router_id differ (lb1: [50], lb2: [51])" in problems["vip-single-holder"]
    assert "virtual_router_id 51; this lab's router id is 50" in problems["vrrp-instance"]


def test_a_web_server_down() -> None:
    problems = failed("web-down")
    assert set(problems) == {"web-app", "web-service", "balancing-split", "servers-up"}
    assert problems["web-app"].startswith("nothing answers on web2 port 80")
    assert "web1 16, web2 0" in problems["balancing-split"]
    assert "web2 is DOWN for HAProxy on lb1 (L4CON" in problems["servers-up"]


def test_what_a_student_forgets_is_named() -> None:
    problems = failed("half-done")
    assert "server web2 (web2) in backend app on lb1 has no 'check'" in problems["haproxy-backend"]
    assert "no session persistence on lb1" in problems["haproxy-persistence"]
    assert problems["haproxy-service"] == "haproxy is disabled on lb2"
    assert "VI_WEB on lb1 tracks nothing" in problems["vrrp-tracking"]
    assert "not set at boot" in problems["backup-ready"]
    assert "went to web1, web2, web1" in problems["session-persistence"]
    assert "status 'no check'" in problems["servers-up"]


def test_track_process_in_a_container_is_explained() -> None:
    problems = failed("track-process")
    assert "do not reach a container" in problems["vrrp-tracking"]
    assert problems["vip-single-holder"].startswith(f"no balancer holds {VIP} (lb1: LB is FAULT")


def test_garbage_output_fails_every_check_with_a_sentence() -> None:
    damaged = raw("solved")
    for node in damaged["nodes"].values():
        for command in node["commands"].values():
            command["stdout"] = "\x00garbage\n"
    result = report(damaged)
    assert all(not c.passed for c in result.checks if c.id != "keepalived-config-valid")
    assert not any("could not evaluate" in c.feedback for c in result.checks)


def test_an_unreachable_balancer_is_named() -> None:
    data = raw("solved")
    data["nodes"]["lb2"] = {"reachable": False, "error": "timed out", "commands": {}}
    problems = {c.id: c.feedback for c in report(data).checks if not c.passed}
    assert problems["haproxy-service"].startswith("lb2 is unreachable (timed out)")
    assert "balancing-split" not in problems  # the client still reaches the service through lb1


def test_damaged_evidence_grades_without_a_traceback() -> None:
    for mangled in ({}, {"nodes": []}, {"nodes": {"lb1": "x"}}, {"nodes": {"client": {"reachable": True,
                                                                                     "commands": {"session": 3}}}}):
        assert report(copy.deepcopy(mangled)).score == 0


def _config(body: str) -> haproxy_cfg.HaproxyConfig:
    return haproxy_cfg.parse("### halab-file: /t.cfg\n" + body)


@pytest.mark.parametrize(("body", "expected"), [
    ("backend b\n balance source\n server a 1.1.1.1:80 check\n", "source-address hashing"),
    ("backend b\n stick-table type ip size 1k\n stick on src\n server a 1.1.1.1:80\n", "a stick table"),
    ("backend b\n cookie S insert\n server a 1.1.1.1:80 cookie a\n", "cookie S (insert)"),
    ("backend b\n cookie S insert dynamic\n dynamic-cookie-key k\n server a 1.1.1.1:80\n", "cookie S (insert)"),
    ("defaults\n cookie S prefix\nbackend b\n server a 1.1.1.1:80 cookie a\n", "cookie S (prefix)"),
])
def test_every_kind_of_persistence_is_recognised(body: str, expected: str) -> None:
    config = _config(body)
    backend = config.proxy("b")
    assert backend is not None
    how, why_not = persistence(config, backend, backend)
    assert how.startswith(expected) and not why_not


@pytest.mark.parametrize(("body", "reason"), [
    ("backend b\n balance roundrobin\n server a 1.1.1.1:80\n", "each request is balanced anew"),
    ("backend b\n stick on src\n server a 1.1.1.1:80\n", "needs a stick-table"),
    ("backend b\n cookie S insert\n server a 1.1.1.1:80\n", "have no 'cookie <value>'"),
])
def test_incomplete_persistence_says_what_is_missing(body: str, reason: str) -> None:
    config = _config(body)
    backend = config.proxy("b")
    assert backend is not None
    how, why_not = persistence(config, backend, backend)
    assert not how and reason in why_not


@pytest.mark.parametrize(("address", "binds"), [
    (f"{VIP}:80", True), ("*:80", True), (":80", True), ("0.0.0.0:80", True), (f"ipv4@{VIP}:80", True),
    (":::80", True), (":79-81", True), (f"{VIP}:8080", False), ("10.42.50.11:80", False),
    (f"10.0.0.1:80,{VIP}:80", True),
])
def test_binds_vip(address: str, binds: bool) -> None:
    assert binds_vip(Line(("bind", address), "/t.cfg", 1), VIP) is binds


def _instance(priority: int, weight: int, preempt: bool = True) -> Instance:
    tracked = (Tracked("chk", weight),)
    return Instance("VI", "BACKUP", 50, priority, priority, "1 sec", preempt, "", "eth0", (VIP,), (), tracked, ())


def test_tracking_weights_must_let_the_peer_win() -> None:
    assert _weight_problems({"lb1": _instance(150, 0), "lb2": _instance(100, 0)}) == []
    assert _weight_problems({"lb1": _instance(150, -60), "lb2": _instance(100, -60)}) == []
    too_small = _weight_problems({"lb1": _instance(150, -20), "lb2": _instance(100, -20)})
    assert too_small and "drops to 130, not below lb2's 100" in too_small[0]
    nopreempt = _weight_problems({"lb1": _instance(150, -60), "lb2": _instance(100, -60, preempt=False)})
    assert nopreempt and "lb2 has nopreempt" in nopreempt[0]


def test_every_command_has_its_settings_filled_in() -> None:
    kind = get_kind("loadbalancing")
    for role in ("balancer", "web", "client"):
        for key, command in kind.commands_for(spec().settings, role).items():
            assert "{virtual_ip}" not in command and "{app_path}" not in command, key
            assert "{{" not in command, key  # shell braces come out single
    assert "%{http_code}" in kind.commands_for(spec().settings, "client")["session"]
    assert VIP in kind.commands_for(spec().settings, "client")["visitors"]
