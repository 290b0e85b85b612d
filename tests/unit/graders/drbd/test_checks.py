"""DRBD parsers and the drbd lab's checks, on output recorded from real VMs (tests/fixtures/drbd: DRBD 8.4.11
kernel module, drbd-utils 9.22; made by tests/fixtures/scenarios_drbd.py)."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest

from graders.collectors import ParseError, drbd_conf, drbdadm_state, drbdadm_status, drbdsetup_events2, proc_drbd
from graders.grade import evaluate
from graders.report import Report
from halab.spec import load_spec
from tests.support.cib_edit import CONSTRAINTS, with_constraints
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "drbd"
DRBD_CHECKS = {"drbd-config", "drbd-config-content", "drbd-connected", "drbd-uptodate", "drbd-filesystem"}
CLUSTER_CHECKS = {"membership", "stonith", "pacemaker-drbd", "pacemaker-data", "pacemaker-constraints"}
FENCING = "drbd-resource-fencing"


@cache
def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def out(scenario: str, key: str, node: str = "node1") -> str:
    return raw(scenario)["nodes"][node]["commands"][key]["stdout"]


def grade(scenario: str, data: dict[str, Any] | None = None) -> Report:
    return evaluate(load_spec("drbd"), data if data is not None else raw(scenario), unrun_faults_count=False)


def failed(report: Report) -> set[str]:
    return {c.id for c in report.failed}


def feedback(report: Report, check_id: str) -> str:
    return next(c.feedback for c in report.checks if c.id == check_id)


def test_proc_drbd_states() -> None:
    connected = proc_drbd.parse(out("solved", "proc_drbd"))[0]
    assert (connected.cstate, connected.disk, connected.peer_disk, connected.protocol) == (
        "Connected", "UpToDate", "UpToDate", "C")
    syncing = proc_drbd.parse(out("syncing", "proc_drbd"))[0]
    assert syncing.cstate == "SyncSource" and syncing.peer_disk == "Inconsistent"
    assert syncing.synced_percent is not None and 0 <= syncing.synced_percent < 100
    assert proc_drbd.parse(out("fresh", "proc_drbd")) == {}  # module loaded, no resource
    split = proc_drbd.parse(out("split-brain", "proc_drbd"))[0]
    assert split.cstate == "StandAlone"
    diskless = proc_drbd.parse(out("diskless", "proc_drbd", "node2"))[0]
    assert diskless.disk == "Diskless"


def test_drbdadm_state_and_status() -> None:
    assert drbdadm_state.parse(out("inconsistent", "drbd_dstate")) == ("Inconsistent", "Inconsistent")
    assert drbdadm_state.parse(out("syncing", "drbd_cstate")) == ("SyncSource", "")
    assert drbdadm_state.parse(out("solved", "drbd_role", "node2"))[0] in ("Primary", "Secondary")
    status = drbdadm_status.parse(out("syncing", "drbd_status", "node2"))
    assert status["role"] == "Secondary" and status["disk"] == "Inconsistent"
    assert status["peer-replication"] == "SyncTarget" and float(status["peer-done"]) > 0
    split = [drbdadm_status.parse(out("split-brain", "drbd_status", node)) for node in ("node1", "node2")]
    assert sorted(s["role"] for s in split) == ["Primary", "Secondary"]
    assert all(s == {"resource": "r0", "role": s["role"], "disk": "UpToDate"} for s in split)  # 8.4: no peer line
    assert drbdadm_state.parse(out("split-brain", "drbd_cstate", "node2")) == ("StandAlone", "")
    assert drbdadm_status.parse(out("diskless", "drbd_status", "node2"))["disk"] == "Diskless"


def test_events2() -> None:
    events = drbdsetup_events2.parse(out("solved", "drbd_events"))
    assert events["connection"]["connection"] == "Connected"
    assert events["device"]["disk"] == "UpToDate"
    with pytest.raises(ParseError):
        drbdsetup_events2.parse(out("fresh", "drbd_events"))


def test_drbd_conf_from_drbdadm_dump() -> None:
    resource = drbd_conf.parse(out("solved", "drbd_dump")).find("resource", "r0")
    assert resource is not None
    node1 = resource.find("on", "node1")
    assert node1 and node1.value("disk") == "/dev/vdb" and node1.values["address"] == ["ipv4", "10.42.21.11:7789"]
    assert resource.find("net").value("protocol") == "C"  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["resource r0 {", "}", "{ x; }", "resource r0 { device /dev/drbd0 }"])
def test_drbd_conf_garbage(text: str) -> None:
    with pytest.raises(ParseError):
        drbd_conf.parse(text)


@pytest.mark.parametrize("parser", [proc_drbd.parse, drbdadm_state.parse, drbdadm_status.parse,
                                    drbdsetup_events2.parse])
@pytest.mark.parametrize("text", ["", "garbage here\nand here", "\x00\xff"])
def test_garbage_is_a_parse_error(parser, text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)


@pytest.mark.parametrize(("scenario", "expected"), [
    ("fresh", DRBD_CHECKS | CLUSTER_CHECKS | {"split-brain-resolved", FENCING}),
    ("inconsistent", {"drbd-uptodate", "drbd-filesystem", "split-brain-resolved", FENCING} | CLUSTER_CHECKS),
    ("syncing", {"drbd-uptodate", "drbd-filesystem", "split-brain-resolved", FENCING} | CLUSTER_CHECKS),
    ("cluster-no-split-brain", {"split-brain-resolved", FENCING}),
    ("split-brain", {"drbd-connected", "drbd-uptodate", "split-brain-resolved", "pacemaker-drbd",
                     "pacemaker-data"}),
    ("solved", set()),
    ("fenced", {"drbd-connected", "drbd-uptodate", "split-brain-resolved"}),  # the link is cut, for now
])
def test_expected_failures(scenario: str, expected: set[str]) -> None:
    assert failed(grade(scenario)) == expected


def test_feedback_explains() -> None:
    assert "never started" in feedback(grade("inconsistent"), "drbd-uptodate")
    assert "sync'ed" in feedback(grade("syncing"), "drbd-uptodate")
    assert "StandAlone" in feedback(grade("split-brain"), "drbd-connected")
    assert "maintenance mode" in feedback(grade("split-brain"), "pacemaker-drbd")
    assert "Diskless" in feedback(grade("diskless"), "drbd-uptodate")
    assert "no split brain has been induced" in feedback(grade("cluster-no-split-brain"), "split-brain-resolved")
    assert grade("fresh").percent < 20
    assert grade("solved").percent == 100


def with_config(text: str) -> dict[str, Any]:
    """The solved lab's facts with another (drbdadm-accepted) configuration in the dump output."""
    data = copy.deepcopy(raw("solved"))
    for node in data["nodes"].values():
        node["commands"]["drbd_dump"]["stdout"] = text
    return data


def test_seed_style_config_is_explained() -> None:
    seed = out("solved", "drbd_dump").replace("/dev/vdb", "/dev/sda").replace("protocol           C",
                                                                                "protocol           A")
    message = feedback(grade("", with_config(seed)), "drbd-config-content")
    assert "/dev/sda" in message and "system disk" in message and "protocol A" in message


def test_protocol_in_the_common_section_counts() -> None:
    """global_common.conf's common section applies to every resource, and `drbdadm dump all` prints it apart from
    the resource: protocol A there was passed as DRBD's default C (a false pass), protocol C there is fine."""
    net = "    net {\n        protocol           C;\n    }\n"
    solved = out("solved", "drbd_dump")
    assert net in solved and "common {\n}" in solved  # the recorded dump is what we edit
    for protocol, passes in (("C", True), ("A", False)):
        moved = solved.replace(net, "").replace("common {\n}", "common {\n" + net.replace(" C;", f" {protocol};") + "}")
        report = grade("", with_config(moved))
        assert ("drbd-config-content" not in failed(report)) is passes, protocol
    assert "protocol A" in feedback(report, "drbd-config-content")


# Without the group: the filesystem placed with the IP, the IP with the Promoted role; promote, IP, filesystem.
CHAIN = ("<constraints>"
         '<rsc_colocation id="ip-on-promoted" score="INFINITY" rsc="data-ip" with-rsc="drbd-r0-clone" '
         'with-rsc-role="Promoted"/>'
         '<rsc_colocation id="fs-with-ip" score="INFINITY" rsc="data-fs" with-rsc="data-ip"/>'
         '<rsc_order id="ip-after-promote" kind="Mandatory" first="drbd-r0-clone" first-action="promote" '
         'then="data-ip" then-action="start"/>'
         '<rsc_order id="fs-after-ip" kind="Mandatory" first="data-ip" then="data-fs"/>'
         "</constraints>")
# The group kept (data-fs, then data-ip), colocated with the role, but only its second member ordered after promote.
MEMBER = CHAIN.replace('rsc="data-ip" with-rsc="drbd-r0-clone"', 'rsc="data" with-rsc="drbd-r0-clone"').replace(
    '<rsc_colocation id="fs-with-ip" score="INFINITY" rsc="data-fs" with-rsc="data-ip"/>', "").replace(
    '<rsc_order id="fs-after-ip" kind="Mandatory" first="data-ip" then="data-fs"/>', "")


def with_cib(constraints: str, group: bool = False) -> dict[str, Any]:
    """The solved lab's facts with other constraints (and, unless ``group``, the data group's members apart)."""
    return with_constraints(raw("solved"), constraints, "" if group else "data")


@pytest.mark.parametrize(("constraints", "group", "missing"), [
    (CHAIN, False, ""),
    (CHAIN.replace('score="INFINITY" rsc="data-fs"', 'score="100" rsc="data-fs"'), False,
     "a colocation with the Promoted role"),
    (CHAIN.replace('first="data-ip" then="data-fs"', 'first="data-fs" then="data-ip"'), False,
     "an order after promote"),
    (MEMBER, True, "an order after promote"),
    (MEMBER.replace('then="data-ip"', 'then="data"'), True, ""),
], ids=["chain", "chain-advisory", "chain-wrong-way", "group-member-ordered", "group-ordered"])
def test_constraints_through_other_resources(constraints: str, group: bool, missing: str) -> None:
    """A false fail: the filesystem tied to the Promoted role through the IP (colocated with it, started after it)
    is tied to it, as Pacemaker applies colocations and orders transitively."""
    assert CONSTRAINTS.search(out("solved", "cib"))  # the recorded CIB is what we edit
    report = grade("", with_cib(constraints, group))
    if missing:
        assert "pacemaker-constraints" in failed(report) and missing in feedback(report, "pacemaker-constraints")
    else:
        assert "pacemaker-constraints" not in failed(report), feedback(report, "pacemaker-constraints")


def test_drbdadm_syntax_error_is_shown() -> None:
    data = copy.deepcopy(raw("solved"))
    dump = data["nodes"]["node2"]["commands"]["drbd_dump"]
    dump.update(exit=10, stdout="", stderr="/etc/drbd.d/r0.res:4: Parse error: 'disk | device | address' expected,\n")
    assert "r0.res:4: Parse error" in feedback(grade("", data), "drbd-config")


def test_a_resolved_split_brain_with_a_failed_monitor_left_passes_and_says_clean_it_up() -> None:
    """A student's lab (tests/fixtures/drbd/split-brain-failed-monitor.json): the split brain resolved right, but
    the demoted victim's monitor recorded as failed; the checkpoint said only 10/10, and the next failover failed."""
    report = grade("split-brain-failed-monitor")
    said = feedback(report, "split-brain-resolved")
    assert "split-brain-resolved" not in failed(report)
    assert "drbd-r0_monitor_29000 on node2" in said and "crm resource cleanup" in said
    assert "failed action" not in feedback(grade("solved"), "split-brain-resolved")
