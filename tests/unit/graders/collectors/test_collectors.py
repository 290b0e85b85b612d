"""Parsers on recorded real output (tests/fixtures, see its README) and on garbage."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from graders.collectors import ParseError, authkey, cfgtool, cib, cmapctl, corosync_conf, crm_mon, quorumtool, systemctl
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "clustering"
GARBAGE = ["", "garbage\n", "<html><body>nope</body></html>", "\x00\xff\x10binary", "<pacemaker-result><summ"]


@cache
def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def out(scenario: str, key: str, node: str = "node1") -> str:
    return raw(scenario)["nodes"][node]["commands"][key]["stdout"]


def test_crm_mon_solved() -> None:
    status = crm_mon.parse(out("solved", "crm_mon"))
    assert status.connected and status.quorate and status.stonith_enabled
    assert status.dc in ("node1", "node2")
    assert {n: (s.online, s.unclean) for n, s in status.nodes.items()} == {"node1": (True, False),
                                                                           "node2": (True, False)}
    web_ip = status.resource("web-ip")
    assert web_ip and web_ip.agent == "ocf:heartbeat:IPaddr2" and web_ip.group == "web" and web_ip.role == "Started"
    assert web_ip.nodes == status.resource("web-server").nodes  # type: ignore[union-attr]
    assert status.resource("fence-lab").agent == "stonith:fence_halab"  # type: ignore[union-attr]
    assert not status.failures and not status.fail_counts


def test_crm_mon_cluster_not_running() -> None:
    status = crm_mon.parse(out("fresh", "crm_mon"))
    assert not status.connected
    assert "Connection to cluster failed" in status.error


def test_crm_mon_failed_resource_with_fail_count() -> None:
    status = crm_mon.parse(out("resource-failed", "crm_mon"))
    assert status.fail_counts[("node1", "web-server")] == 1000000  # INFINITY
    assert any(f.startswith("web-server_start_0 on node1") for f in status.failures)
    assert not status.resource("web-server").active  # type: ignore[union-attr]


def test_a_resources_failures_are_found_by_its_id_not_by_a_prefix() -> None:
    """The recorded failure renamed as a student may name things: a resource "web" must not be given the failures
    of "web-server", and a task with an underscore (migrate_to) still names its resource."""
    status = crm_mon.parse(out("resource-failed", "crm_mon"))
    assert status.failures_of("web-server") == status.failures and status.failures
    assert status.failures_of("web") == [] and status.failures_of("web-ip", "fence-lab") == []
    migrating = out("resource-failed", "crm_mon").replace('op_key="web-server_start_0"',
                                                          'op_key="web_server_migrate_to_0"')
    migrating = migrating.replace('task="start"', 'task="migrate_to"')
    renamed = crm_mon.parse(migrating)
    assert renamed.failures_of("web_server") == renamed.failures and renamed.failures_of("web") == []


def test_crm_mon_node_offline_and_no_quorum() -> None:
    status = crm_mon.parse(out("seed-node2-off", "crm_mon"))
    assert not status.quorate
    assert not status.nodes["node2"].online and status.nodes["node2"].unclean


def test_crm_mon_old_role_names_are_normalised() -> None:
    text = out("solved", "crm_mon").replace('id="web-ip" resource_agent="ocf:heartbeat:IPaddr2" role="Started"',
                                            'id="web-ip" resource_agent="ocf:heartbeat:IPaddr2" role="Master"')
    assert crm_mon.parse(text).resource("web-ip").role == "Promoted"  # type: ignore[union-attr]


@pytest.mark.parametrize("parser", [crm_mon.parse, cib.parse, quorumtool.parse, cmapctl.parse, cfgtool.parse,
                                    authkey.parse])
@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_is_a_parse_error(parser, text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)


def test_quorumtool() -> None:
    solved = quorumtool.parse(out("solved", "quorumtool"))
    assert solved.quorate and solved.expected_votes == 2 and solved.quorum == 1
    assert "2Node" in solved.flags and "WaitForAll" in solved.flags
    assert [m.name for m in solved.members] == ["node1", "node2"]
    lost = quorumtool.parse(out("seed-node2-off", "quorumtool"))
    assert not lost.quorate and lost.total_votes == 1 and lost.quorum == 2
    assert raw("seed-node2-off")["nodes"]["node1"]["commands"]["quorumtool"]["exit"] == 2


def test_cmapctl_members() -> None:
    values = cmapctl.parse(out("solved", "cmapctl"))
    assert values["totem.cluster_name"] == "halab"
    assert values["quorum.two_node"] == "1"
    members = cmapctl.members(values)
    assert {m["status"] for m in members.values()} == {"joined"} and len(members) == 2


def test_cfgtool_links() -> None:
    links = cfgtool.parse(out("solved", "cfgtool"))
    assert links.transport == "knet" and links.local_nodeid == 1
    assert links.links[0][2] == "connected"


def test_corosync_conf_solved_and_seed() -> None:
    conf = corosync_conf.parse(out("solved", "corosync_conf"))
    assert conf.get("totem.transport") == "knet" and conf.get("quorum.two_node") == "1"
    assert [n.values["name"] for n in conf.first("nodelist").all("node")] == ["node1", "node2"]  # type: ignore[union-attr]
    seed = corosync_conf.parse(out("seed-config", "corosync_conf"))
    assert seed.get("totem.transport") == "udpu" and seed.get("quorum.two_node") is None
    assert all("name" not in n.values for n in seed.first("nodelist").all("node"))  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "message"), [
    ("nodelist {\n    node { name: node1\n    }\n}\n", "line 2: Corosync cannot parse"),
    ("totem {\n    version: 2\n", "never closed"),
    ("}\n", "without a matching section"),
    ("totem {\n    just words\n}\n", "line 2"),
])
def test_corosync_conf_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        corosync_conf.parse(text)


def test_cib_solved_and_broken() -> None:
    solved = cib.parse(out("solved", "cib"))
    assert solved.groups == {"web": ["web-ip", "web-server"]}
    assert solved.primitives["web-ip"].params["ip"] == "10.42.10.100"
    assert [p.id for p in solved.by_agent("apache")] == ["web-server"]
    broken = cib.parse(out("broken-config", "cib"))
    assert broken.properties["stonith-enabled"] == "false"
    assert [c.id for c in broken.constraints] == ["cli-ban-web-on-node2"]


# The constraint crm-fence-peer.sh placed in the drbd lab when node1's replication link was cut (cibadmin
# --query --scope constraints on node2, the Primary; Pacemaker 2.1.5, drbd-utils 9.22).
FENCE_CONSTRAINT = """<cib><configuration><crm_config/><resources/><constraints>
  <rsc_location rsc="drbd-r0-clone" id="drbd-fence-by-handler-r0-drbd-r0-clone">
    <rule role="Master" score="-INFINITY" id="drbd-fence-by-handler-r0-rule-drbd-r0-clone">
      <expression attribute="#uname" operation="ne" value="node2" id="drbd-fence-by-handler-r0-expr-drbd-r0-clone"/>
    </rule>
  </rsc_location>
</constraints></configuration></cib>"""


def test_cib_rule_roles() -> None:
    (constraint,) = cib.parse(FENCE_CONSTRAINT).constraints
    (rule,) = constraint.rules
    assert (rule.role, rule.score) == ("Master", "-INFINITY")
    assert rule.expressions == (cib.Expression("#uname", "ne", "node2"),)
    assert cib.parse(FENCE_CONSTRAINT.replace(' role="Master"', "")).constraints[0].rules[0].role == ""


def sets(variant: str) -> list[cib.Constraint]:
    """The constraints crmsh wrote for a drbd lab variant (tests/fixtures/constraint-sets.json)."""
    text = json.loads((ALL_FIXTURES / "constraint-sets.json").read_text())["drbd"][variant]["constraints"]
    return cib.parse(f"<cib><configuration>{text}</configuration></cib>").constraints


def test_cib_resource_sets_as_pairs() -> None:
    """Pacemaker's set semantics: a sequential set chains its members, a set is placed with the set after it and
    started after the set before it; a non-sequential set does not tie its own members."""
    colocation, order = sets("crm-sequential")
    assert [(p["rsc"], p["with-rsc"], p.get("with-rsc-role")) for p in colocation.pairs()] == [
        ("data-ip", "data-fs", None), ("data-fs", "drbd-r0-clone", "Promoted"),
        ("data-ip", "drbd-r0-clone", "Promoted")]
    assert {p["score"] for p in colocation.pairs()} == {"INFINITY"}
    assert [(p["first"], p.get("first-action"), p["then"]) for p in order.pairs()] == [
        ("data-ip", None, "data-fs"), ("drbd-r0-clone", "promote", "data-ip"), ("drbd-r0-clone", "promote", "data-fs")]
    colocation, order = sets("crm-unordered-sets")
    assert [(p["rsc"], p["with-rsc"]) for p in colocation.pairs()] == [
        ("data-fs", "drbd-r0-clone"), ("data-ip", "drbd-r0-clone")]
    assert [(p["first"], p["then"]) for p in order.pairs()] == [("drbd-r0-clone", "data-ip"),
                                                                ("drbd-r0-clone", "data-fs")]
    (plain,) = cib.parse(FENCE_CONSTRAINT).constraints
    assert plain.pairs() == []  # a location constraint is no pair


def test_systemctl_and_authkey() -> None:
    assert systemctl.parse(out("solved", "is_active"), ["corosync", "pacemaker"]) == {
        "corosync": "active", "pacemaker": "active"}
    with pytest.raises(ParseError):
        systemctl.parse("active\n", ["corosync", "pacemaker"])
    key = authkey.parse(out("broken-config", "authkey", "node2"))
    assert (key.mode, key.owner, key.size) == ("644", "root", 256)
