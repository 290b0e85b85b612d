"""The clustering checks on recorded real states (tests/fixtures/clustering, see its README)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from graders.grade import evaluate
from graders.report import Report
from halab.spec import available_labs, load_spec
from halab.spec.kinds import get_kind
from tests.support.paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "clustering"
ALL = {"corosync-conf-identical", "corosync-cluster-name", "corosync-nodelist", "corosync-transport",
       "corosync-quorum", "authkey", "services-running", "services-enabled", "membership", "stonith",
       "floating-ip", "web-server", "together-in-order", "no-leftover-constraints", "crm-verify"}


def raw(scenario: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{scenario}.json").read_text())


def grade(scenario: str, lab: str = "clustering", data: dict[str, Any] | None = None) -> Report:
    return evaluate(load_spec(lab), data if data is not None else raw(scenario), unrun_faults_count=False)


def failed(report: Report) -> set[str]:
    return {c.id for c in report.failed}


def feedback(report: Report, check_id: str) -> str:
    return next(c.feedback for c in report.checks if c.id == check_id)


@pytest.mark.parametrize(("scenario", "lab", "expected_failures"), [
    ("solved", "clustering", set()),
    ("solved-3node", "clustering3", set()),
    ("fresh", "clustering", ALL),
    ("broken-config", "clustering", {"corosync-conf-identical", "authkey", "stonith", "no-leftover-constraints",
                                     "web-server"}),
    ("resource-failed", "clustering", {"web-server"}),
    ("node2-off", "clustering", {"corosync-conf-identical", "authkey", "services-running", "services-enabled",
                                 "membership", "stonith"}),
    ("seed-config", "clustering", {"corosync-nodelist", "corosync-transport", "corosync-quorum"}),
])
def test_expected_failures(scenario: str, lab: str, expected_failures: set[str]) -> None:
    assert failed(grade(scenario, lab)) == expected_failures


def test_fresh_lab_scores_below_20_percent() -> None:
    report = grade("fresh")
    assert report.percent < 20
    assert "Pacemaker is not running on node1, node2" in feedback(report, "membership")
    assert "missing or unreadable on node1, node2" in feedback(report, "authkey")
    assert "does not describe this cluster yet" in feedback(report, "corosync-transport")


def test_solved_scores_full_marks() -> None:
    report = grade("solved")
    assert (report.score, report.max_score, report.percent) == (100, 100, 100.0)


def test_feedback_says_what_and_where() -> None:
    broken = grade("broken-config")
    assert "mode 0644 on node2" in feedback(broken, "authkey")
    assert "differs between node1 and node2" in feedback(broken, "corosync-conf-identical")
    assert "cli-ban-web-on-node2" in feedback(broken, "no-leftover-constraints")
    assert "stonith-enabled is false" in feedback(broken, "stonith")
    failed_resource = grade("resource-failed")
    assert "web-server_start_0 on node" in feedback(failed_resource, "web-server")


def test_seed_config_is_graded_honestly() -> None:
    seed = grade("seed-config")
    assert "udpu" in feedback(seed, "corosync-transport")
    assert "no 'name:'" in feedback(seed, "corosync-nodelist")
    assert "loses quorum" in feedback(seed, "corosync-quorum")
    lost = grade("seed-node2-off")
    assert "no quorum" in feedback(lost, "membership") and "UNCLEAN" in feedback(lost, "membership")


def test_unreachable_node_is_named_in_the_feedback() -> None:
    report = grade("node2-off")
    assert "node2 is unreachable" in feedback(report, "services-running")
    assert "node2 is offline" in feedback(report, "membership")


def test_two_node_in_a_three_node_cluster_fails() -> None:
    data = raw("solved-3node")
    for node in data["nodes"].values():
        conf = node["commands"]["corosync_conf"]
        conf["stdout"] = conf["stdout"].replace("provider: corosync_votequorum", "provider: corosync_votequorum\n"
                                                "    two_node: 1")
    assert "only for exactly two" in feedback(grade("", "clustering3", data), "corosync-quorum")


def garbage_raw() -> dict[str, Any]:
    data = copy.deepcopy(raw("solved"))
    for node in data["nodes"].values():
        for command in node["commands"].values():
            command["stdout"] = "\x00garbage <not-xml ]]> {{ {"
    data["probes"] = {"http": {"url": "http://10.42.10.100/", "status": None, "body": "", "error": "timed out"}}
    return data


@pytest.mark.parametrize("data", [garbage_raw(), {}, {"nodes": {"node1": {"reachable": True}}}, {"nodes": []}],
                         ids=["garbage-output", "empty", "half-written", "wrong-types"])
def test_any_input_gives_a_verdict_for_every_check(data: dict[str, Any]) -> None:
    report = grade("", data=data)
    assert len(report.checks) == len(ALL)
    assert report.score < 20
    for check in report.checks:
        assert check.feedback, check.id
        assert "grader could not evaluate" not in check.feedback, (check.id, check.feedback)


def test_every_spec_check_has_a_grader() -> None:
    for lab in available_labs():  # every lab, so that drbd and every future lab are covered
        spec = load_spec(lab)
        kind = get_kind(spec.kind)
        assert spec.checks, lab
        for check in spec.checks:
            registry = kind.faults if check.fault else kind.checks
            assert check.id in registry, (lab, check.id)


def test_recorded_fault_outcome_and_report_formats() -> None:
    data = raw("solved")
    data["faults"] = {"failover": {"passed": True, "feedback": "moved", "hint": "",
                                   "measurements": {"failover_seconds": 6.1}}}
    report = evaluate(load_spec("clustering"), data)
    assert (report.score, report.max_score) == (120, 120)
    as_dict = report.to_dict()
    assert set(as_dict) >= {"lab", "score", "max_score", "checks", "measurements"}
    assert set(as_dict["checks"][0]) >= {"id", "title", "passed", "points", "max_points", "feedback", "hint"}
    assert as_dict["measurements"] == {"failover_seconds": 6.1}
    assert Report.from_dict(json.loads(json.dumps(as_dict))).to_dict() == as_dict
    # Unrun faults count as zero when grading evidence, and are left out with --no-faults.
    assert evaluate(load_spec("clustering"), raw("solved")).max_score == 120
    assert grade("solved").max_score == 100
    html = grade("fresh").to_html()
    assert "Hint:" in html and "<table>" in html
