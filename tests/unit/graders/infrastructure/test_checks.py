"""The infrastructure checks on recorded real states (tests/fixtures/infrastructure, recorded from real nspawn
nodes by tests/fixtures/scenarios_infrastructure.py), and on those states edited the way students get them
wrong (the edits are made here, on the recorded text, and say what they change)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from graders.collectors import cfgtool, cib
from graders.grade import evaluate
from graders.report import Report
from halab.spec import load_spec
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "infrastructure"
LINK_CHECKS = {"corosync-nodelist", "link-policy", "links-connected"}
RULE = """<rule score="-INFINITY" boolean-op="or" id="web-on-connected-rule">
          <expression operation="not_defined" attribute="pingd" id="web-on-connected-rule-expression"/>
          <expression operation="lte" attribute="pingd" value="0" id="web-on-connected-rule-expression-0"/>
        </rule>"""


def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def grade(data: dict[str, Any]) -> Report:
    return evaluate(load_spec("infrastructure"), data, unrun_faults_count=False)


def verdict(report: Report, check_id: str) -> tuple[bool, str]:
    check = next(c for c in report.checks if c.id == check_id)
    return check.passed, check.feedback


def edit(data: dict[str, Any], key: str, old: str, new: str) -> dict[str, Any]:
    """The scenario with ``old`` replaced by ``new`` in command ``key``'s output on every cluster node."""
    changed = copy.deepcopy(data)
    for node in ("node1", "node2"):
        out = changed["nodes"][node]["commands"][key]
        assert old in out["stdout"], (key, old)
        out["stdout"] = out["stdout"].replace(old, new)
    return changed


def test_fresh_lab_earns_nothing_and_solved_earns_everything() -> None:
    fresh, solved = grade(raw("fresh")), grade(raw("solved"))
    assert fresh.score == 0 and all(c.feedback and c.hint for c in fresh.checks)
    assert solved.score == solved.max_score, [(c.id, c.feedback) for c in solved.failed]


def test_cfgtool_parser_reads_both_links_and_a_down_one() -> None:
    up = cfgtool.parse(raw("solved")["nodes"]["node1"]["commands"]["cfgtool"]["stdout"])
    assert up.links == {0: {1: "localhost", 2: "connected"}, 1: {1: "localhost", 2: "connected"}}
    down = cfgtool.parse(raw("ring0-down")["nodes"]["node2"]["commands"]["cfgtool"]["stdout"])
    assert down.links[0][1] == "disconnected" and down.links[1][1] == "connected"


def test_a_cut_ring_fails_only_the_runtime_link_check() -> None:
    report = grade(raw("ring0-down"))
    assert {c.id for c in report.failed} == {"links-connected"}
    assert "link 0 to node2 is disconnected" in verdict(report, "links-connected")[1]


def test_a_partition_shows_both_links_down_and_a_lost_member() -> None:
    report = grade(raw("partition"))
    failed = {c.id for c in report.failed}
    assert {"links-connected", "membership"} <= failed
    feedback = verdict(report, "links-connected")[1]
    assert "link 0 to node2 is disconnected" in feedback and "link 1 to node2 is disconnected" in feedback


def test_one_link_and_links_on_the_wrong_networks_are_named() -> None:
    one = grade(raw("one-link"))
    assert {c.id for c in one.failed} >= LINK_CHECKS
    assert "node1 has no ring1_addr" in verdict(one, "corosync-nodelist")[1]
    assert "neither link_mode nor knet_link_priority" in verdict(one, "link-policy")[1]
    assert "default 3000 ms" in verdict(one, "token-timeouts")[1]
    swapped = grade(raw("swapped-links"))
    assert "its address on ring0 is 10.42.41.11" in verdict(swapped, "corosync-nodelist")[1]


def test_a_typo_that_stops_corosync_gets_corosyncs_reason() -> None:
    report = grade(raw("typo"))
    assert report.score <= 5
    assert "line 9" in verdict(report, "corosync-conf-identical")[1]
    assert "corosync is failed" in verdict(report, "services-running")[1]


def test_an_unreachable_node_is_named() -> None:
    report = grade(raw("node2-off"))
    assert "node2 is unreachable" in verdict(report, "authkey")[1]
    assert "node2 is offline" in verdict(report, "membership")[1]


@pytest.mark.parametrize(("old", "new", "problem"), [
    ("    token: 600\n", "    token: 100\n", "too low: false fencing"),
    ("    token: 600\n", "    token: 2500\n", "not lowered enough"),
    ("    token: 600\n", "    token: 600\n    consensus: 650\n", "less than 1.2 x token"),
    ("        knet_link_priority: 1\n", "        knet_link_priority: 2\n", "the same priority"),
    ("    link_mode: passive\n", "    link_mode: fastest\n", "Corosync knows passive, active and rr"),
])
def test_corosync_mistakes(old: str, new: str, problem: str) -> None:
    report = grade(edit(raw("solved"), "corosync_conf", old, new))
    assert any(problem in c.feedback for c in report.failed), [(c.id, c.feedback) for c in report.failed]


def test_a_config_change_not_yet_in_effect() -> None:
    data = edit(raw("solved"), "corosync_conf", "    token: 600\n", "    token: 700\n")
    passed, feedback = verdict(grade(data), "token-timeouts")
    assert not passed and "node1 runs with token 600 ms" in feedback and "corosync-cfgtool -R" in feedback


@pytest.mark.parametrize(("old", "new", "passes", "problem"), [
    # another form: prefer nodes by their pingd score (1000 per reachable client), `rule pingd: defined pingd`
    (RULE, '<rule score-attribute="pingd" id="r"><expression operation="defined" attribute="pingd" id="e"/></rule>',
     True, ""),
    # the rule inverted: it bans the nodes that DO reach the client
    ('operation="lte" attribute="pingd" value="0"', 'operation="gt" attribute="pingd" value="0"', False,
     "not enough to beat resource-stickiness"),
    # a typo in the attribute name
    ('attribute="pingd" id="web-on-connected-rule-expression"',
     'attribute="ping" id="web-on-connected-rule-expression"', True, ""),  # pingd lte 0 still bans a lost node
    ('rsc="web"', 'rsc="fence-lab"', False, "not the service"),
    ('value="10.42.40.20"', 'value="10.42.40.254"', False, "not the client"),
])
def test_link_monitoring_is_judged_by_what_its_rule_does(old: str, new: str, passes: bool, problem: str) -> None:
    passed, feedback = verdict(grade(edit(raw("solved"), "cib", old, new)), "link-monitoring")
    assert passed is passes, feedback
    assert problem in feedback


def test_ethmonitor_and_a_random_fence_delay_count_too() -> None:
    text = raw("solved")["nodes"]["node1"]["commands"]["cib"]["stdout"]
    ping = text[text.index('<primitive id="ping-client"'):text.index("</primitive>", text.index('"ping-client"'))]
    ethmonitor = ('<primitive id="lanwatch" class="ocf" provider="heartbeat" type="ethmonitor">'
                  '<instance_attributes id="lanwatch-ia"><nvpair name="interface" value="eth0" id="lanwatch-if"/>'
                  '</instance_attributes><operations><op name="monitor" interval="2s" id="lanwatch-m"/></operations>')
    data = edit(raw("solved"), "cib", ping, ethmonitor)
    data = edit(data, "cib", 'attribute="pingd"', 'attribute="ethmonitor-eth0"')
    for node in ("node1", "node2"):  # the clone's instances run as lanwatch now
        status = data["nodes"][node]["commands"]["crm_mon"]
        status["stdout"] = status["stdout"].replace('id="ping-client"', 'id="lanwatch"')
    assert verdict(grade(data), "link-monitoring")[0], verdict(grade(data), "link-monitoring")[1]
    no_priority = edit(raw("solved"), "cib", 'name="priority-fencing-delay" value="1s"',
                       'name="priority-fencing-delay" value="0"')
    assert not verdict(grade(no_priority), "fence-race")[0]
    delay = edit(no_priority, "cib", '<nvpair name="pcmk_host_list"',
                 '<nvpair name="pcmk_delay_max" value="2s" id="x"/><nvpair name="pcmk_host_list"')
    passed, feedback = verdict(grade(delay), "fence-race")
    assert passed and "pcmk_delay_max=2s" in feedback and "44% of splits" in feedback
    fixed = edit(no_priority, "cib", '<nvpair name="pcmk_host_list"',
                 '<nvpair name="pcmk_delay_base" value="node1:2s;node2:0" id="x"/><nvpair name="pcmk_host_list"')
    passed, feedback = verdict(grade(fixed), "fence-race")
    assert passed and "node1 wins a fence race" in feedback
    same = edit(no_priority, "cib", '<nvpair name="pcmk_host_list"',
                '<nvpair name="pcmk_delay_base" value="node1:2s;node2:2s" id="x"/><nvpair name="pcmk_host_list"')
    assert not verdict(grade(same), "fence-race")[0]  # the same delay for both breaks no tie


def test_cib_parser_keeps_rules_meta_and_defaults() -> None:
    parsed = cib.parse(raw("solved")["nodes"]["node1"]["commands"]["cib"]["stdout"])
    rule = next(c for c in parsed.constraints if c.id == "web-on-connected").rules[0]
    assert (rule.score, rule.boolean_op) == ("-INFINITY", "or")
    assert [(e.attribute, e.operation) for e in rule.expressions] == [("pingd", "not_defined"), ("pingd", "lte")]
    assert parsed.resource_meta["web"] == {"priority": "10"} and parsed.meta("web-ip", "priority") == "10"
    assert parsed.resource_defaults["resource-stickiness"] == "100"
