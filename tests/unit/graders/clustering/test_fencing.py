"""Fencing checks on recorded facts changed the way independent solutions and students changed them: a device per
node with its own delay (a false fail), a host list with another lab's node names and a device that failed to
start (false passes). The facts are the recorded solved labs (tests/fixtures), with the CIB and crm_mon edited."""

from __future__ import annotations

import json
import re
from typing import Any

from graders.grade import evaluate
from graders.report import CheckResult
from halab.spec import load_spec
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES
FENCE_PRIMITIVE = re.compile(r'<primitive id="fence-lab" class="stonith".*?</primitive>', re.S)
FENCE_RESOURCE = re.compile(r'<resource id="fence-lab" resource_agent="stonith:fence_halab".*?</resource>', re.S)


def raw(kind: str) -> dict[str, Any]:
    return json.loads((FIXTURES / kind / "solved.json").read_text())


def device(name: str, **params: str) -> str:
    pairs = "".join(f'<nvpair name="{k}" value="{v}" id="{name}-{k}"/>' for k, v in params.items())
    return (f'<primitive id="{name}" class="stonith" type="fence_halab"><instance_attributes id="{name}-ia">{pairs}'
            f'</instance_attributes></primitive>')


def running(name: str, node: str, failed: bool = False) -> str:
    return (f'<resource id="{name}" resource_agent="stonith:fence_halab" role="{"Stopped" if failed else "Started"}" '
            f'active="{"false" if failed else "true"}" orphaned="false" blocked="false" managed="true" '
            f'failed="false" failure_ignored="false" nodes_running_on="{0 if failed else 1}">'
            + ("" if failed else f'<node name="{node}" id="1" cached="true"/>') + "</resource>")


def with_devices(data: dict[str, Any], primitives: str, resources: str, history: str = "") -> dict[str, Any]:
    for node in data["nodes"].values():
        commands = node.get("commands", {})
        if "cib" in commands:
            commands["cib"]["stdout"] = FENCE_PRIMITIVE.sub(primitives, commands["cib"]["stdout"])
        if "crm_mon" in commands:
            text = FENCE_RESOURCE.sub(resources, commands["crm_mon"]["stdout"])
            commands["crm_mon"]["stdout"] = text.replace("</node_history>", history + "</node_history>", 1) \
                if history else text
    return data


def check(kind: str, data: dict[str, Any], check_id: str) -> CheckResult:
    report = evaluate(load_spec(kind), data, unrun_faults_count=False)
    return next(c for c in report.checks if c.id == check_id)


def no_priority_delay(data: dict[str, Any]) -> dict[str, Any]:
    for node in data["nodes"].values():
        if "cib" in node.get("commands", {}):
            node["commands"]["cib"]["stdout"] = re.sub(r'<nvpair name="priority-fencing-delay"[^>]*/>', "",
                                                       node["commands"]["cib"]["stdout"])
    return data


def test_fence_race_with_a_device_per_node_and_a_fixed_delay_on_the_one_that_fences_node1() -> None:
    """The form Pacemaker's own metadata documents: pcmk_delay_base=2s on the device that fences node1 only. It
    scored 0, "no fencing delay": the grader knew only a node map on one device."""
    data = with_devices(no_priority_delay(raw("infrastructure")),
                        device("fence-node1", pcmk_host_list="node1", pcmk_delay_base="2s")
                        + device("fence-node2", pcmk_host_list="node2"),
                        running("fence-node1", "node2") + running("fence-node2", "node1"))
    result = check("infrastructure", data, "fence-race")
    assert result.passed, result.feedback
    assert "fencing node1 waits 2 s (fence-node1)" in result.feedback and "node1 wins a fence race" in result.feedback
    assert check("infrastructure", data, "stonith").passed
    # The same delay on both devices breaks no race.
    even = with_devices(no_priority_delay(raw("infrastructure")),
                        device("fence-node1", pcmk_host_list="node1", pcmk_delay_base="2s")
                        + device("fence-node2", pcmk_host_list="node2", pcmk_delay_base="2s"),
                        running("fence-node1", "node2") + running("fence-node2", "node1"))
    assert not check("infrastructure", even, "fence-race").passed


def test_a_host_list_with_another_labs_node_names_fences_nobody() -> None:
    """The clustering lab's hint copied into the virtualization lab: pcmk_host_list="node1 node2" on hypervisors
    hv1 and hv2 passed every check but the slow fault check, with 0 devices able to fence either."""
    data = with_devices(raw("virtualization"), device("fence-lab", pcmk_host_list="node1 node2"),
                        running("fence-lab", "hv1"))
    result = check("virtualization", data, "stonith")
    assert not result.passed
    assert "0 devices can fence hv1" in result.feedback and "0 devices can fence hv2" in result.feedback
    assert "pcmk_host_list='node1 node2'" in result.feedback
    assert 'pcmk_host_list="hv1 hv2"' in result.hint, "the hint names this lab's nodes"
    one_missing = with_devices(raw("virtualization"), device("fence-lab", pcmk_host_list="hv1"),
                               running("fence-lab", "hv2"))
    result = check("virtualization", one_missing, "stonith")
    assert not result.passed and "0 devices can fence hv2" in result.feedback and "hv1" not in \
        result.feedback.split("(")[0]
    assert check("virtualization", raw("virtualization"), "stonith").passed


def test_a_fence_device_that_failed_to_start_is_flagged() -> None:
    """Two devices, one per node; the one for node2 failed to start on node1 and left a fail count, then started
    on node2 itself (so every node still 'has' a running device): flagged, with the cleanup to run."""
    history = ('<node name="node1"><resource_history id="fence-node2" orphan="false" migration-threshold="1000000" '
               'fail-count="1000000" last-failure="Tue Dec  1 14:40:00 2026"><operation_history call="30" '
               'task="start" rc="1" rc_text="error"/></resource_history></node>')
    data = with_devices(raw("clustering"), device("fence-node1", pcmk_host_list="node1")
                        + device("fence-node2", pcmk_host_list="node2"),
                        running("fence-node1", "node2") + running("fence-node2", "node2"), history)
    result = check("clustering", data, "stonith")
    assert not result.passed
    assert "fence device fence-node2 failed on node1 (fail count 1000000)" in result.feedback
    assert "crm resource cleanup fence-node2" in result.feedback
    stopped = with_devices(raw("clustering"), device("fence-node1", pcmk_host_list="node1")
                           + device("fence-node2", pcmk_host_list="node2"),
                           running("fence-node1", "node2") + running("fence-node2", "node1", failed=True))
    result = check("clustering", stopped, "stonith")
    assert not result.passed and "0 devices can fence node2" in result.feedback
    assert "not running: fence-node2" in result.feedback
