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
    # The seed's nodelist has no names, as `crm cluster init` writes none: Pacemaker names the nodes after their
    # hostnames, which are the lab's node names; the addresses and ids are right.
    ("seed-config", "clustering", {"corosync-transport", "corosync-quorum"}),
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
    assert "no names: Pacemaker names each node after its hostname" in feedback(seed, "corosync-nodelist")
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


def test_an_incomplete_answer_is_unreadable_never_a_failure() -> None:
    """The flaky false fail: `stat ... && sha256sum ...` came back with its first line only, and the authkey check
    said "cannot read file facts". A node's answer that the collector marked incomplete (twice) is no verdict on
    the student's work: the check is unreadable, with no hint that sends the student to fix a good key."""
    data = raw("solved")
    authkey = data["nodes"]["node2"]["commands"]["authkey"]
    authkey["stdout"] = authkey["stdout"].splitlines()[0] + "\n"
    authkey["incomplete"] = "the connection closed before the end of the command's output"
    report = grade("solved", data=data)
    check = next(c for c in report.checks if c.id == "authkey")
    assert (check.passed, check.unreadable, check.points, check.hint) == (False, True, 0, "")
    assert "node2 could not be read" in check.feedback and "run the check again" in check.feedback
    assert failed(report) == set() and [c.id for c in report.unreadable] == ["authkey"]
    assert Report.from_dict(report.to_dict()).unreadable[0].id == "authkey"  # kept in the JSON and evidence


@pytest.mark.parametrize(("node1_addr", "node2_addr", "passes"), [
    ("node1", "node2", True),  # what `pcs cluster setup halab node1 node2` writes: names /etc/hosts resolves
    ("10.42.10.11", "node2", True),
    ("node2", "node1", False),  # names, but swapped: node1's entry points at node2's address
    ("node1", "node9", False),
])
def test_ring_addresses_may_be_names_the_nodes_resolve(node1_addr: str, node2_addr: str, passes: bool) -> None:
    data = raw("solved")
    for node in ("node1", "node2"):
        conf = data["nodes"][node]["commands"]["corosync_conf"]
        conf["stdout"] = conf["stdout"].replace("ring0_addr: 10.42.10.11", f"ring0_addr: {node1_addr}") \
            .replace("ring0_addr: 10.42.10.12", f"ring0_addr: {node2_addr}")
    report = grade("solved", data=data)
    assert ("corosync-nodelist" not in failed(report)) == passes, feedback(report, "corosync-nodelist")
    assert failed(report) <= {"corosync-nodelist"}


# corosync.conf as crmsh 4.4.1's `crm cluster init` and `crm cluster join -c node1` wrote it on a three-node lab
# (halab's node image, 2026-12-06), in the two-node form crmsh writes (two_node: 1): no node names.
CRM_CONF = """# Please read the corosync.conf.5 manual page
totem {
	version: 2
	cluster_name: halab
	clear_node_high_bit: yes
	interface {
		ringnumber: 0
		mcastport: 5405
		ttl: 1
	}

	transport: knet
	crypto_hash: sha1
	crypto_cipher: aes256
	token: 5000
	join: 60
	max_messages: 20
	token_retransmits_before_loss_const: 10
}

logging {
	fileline: off
	to_stderr: no
	to_logfile: no
	logfile: /var/log/corosync/corosync.log
	to_syslog: yes
	debug: off
	timestamp: on
	logger_subsys {
		subsys: QUORUM
		debug: off
	}

}

nodelist {
	node {
		ring0_addr: 10.42.10.11
		nodeid: 1
	}

	node {
		ring0_addr: 10.42.10.12
		nodeid: 2
	}


}

quorum {

	# Enable and configure quorum subsystem (default: off)
	# see also corosync.conf.5 and votequorum.5
	provider: corosync_votequorum
	expected_votes: 2
	two_node: 1
}

resources {
	watchdog_device: off
}

"""


def test_a_cluster_made_by_crm_cluster_init_and_join_is_graded_as_a_hand_written_one() -> None:
    data = raw("solved")
    for node in ("node1", "node2"):
        data["nodes"][node]["commands"]["corosync_conf"]["stdout"] = CRM_CONF
    report = grade("solved", data=data)
    assert failed(report) == set(), [(c.id, c.feedback) for c in report.failed]
    assert "no names" in feedback(report, "corosync-nodelist")
    swapped = CRM_CONF.replace("10.42.10.12", "10.42.10.13")
    for node in ("node1", "node2"):
        data["nodes"][node]["commands"]["corosync_conf"]["stdout"] = swapped
    assert "node2 is missing" in feedback(grade("solved", data=data), "corosync-nodelist")


@pytest.mark.parametrize(("corosync", "pacemaker", "passes"), [
    ("disabled", "enabled", True),  # crm cluster init: pacemaker.service Requires=corosync.service
    ("enabled", "enabled", True),
    ("masked", "enabled", False),
    ("enabled", "disabled", False),
])
def test_an_enabled_pacemaker_starts_corosync_at_boot(corosync: str, pacemaker: str, passes: bool) -> None:
    data = raw("solved")
    for node in ("node1", "node2"):
        data["nodes"][node]["commands"]["is_enabled"]["stdout"] = f"{corosync}\n{pacemaker}\n"
    assert ("services-enabled" not in failed(grade("solved", data=data))) == passes


def _with_policy(data: dict[str, Any], policy: str) -> dict[str, Any]:
    """The recorded three-node CIB with a no-quorum-policy property added (DERIVED from the recording)."""
    changed = copy.deepcopy(data)
    nvpair = f'<nvpair id="cib-bootstrap-options-no-quorum-policy" name="no-quorum-policy" value="{policy}"/>'
    for node in changed["nodes"].values():
        cib = node["commands"]["cib"]
        cib["stdout"] = cib["stdout"].replace('<cluster_property_set id="cib-bootstrap-options">',
                                              f'<cluster_property_set id="cib-bootstrap-options">{nvpair}', 1)
    return changed


@pytest.mark.parametrize(("policy", "passed", "says"), [
    (None, True, "no-quorum-policy stop: a partition without quorum stops every resource (the default)"),
    ("freeze", True, "keeps what runs"), ("demote", True, "demotes promoted instances"),
    ("suicide", True, "fences itself"), ("ignore", False, "both sides may run the service"),
    ("sometimes", False, "which Pacemaker does not know"),
])
def test_no_quorum_policy(policy: str | None, passed: bool, says: str) -> None:
    data = raw("solved-3node") if policy is None else _with_policy(raw("solved-3node"), policy)
    report = grade("", "clustering3", data)
    check = next(c for c in report.checks if c.id == "no-quorum-policy")
    assert check.passed is passed and says in check.feedback, check.feedback


def test_the_three_node_lab_adds_the_quorum_task_to_the_two_node_labs_tasks() -> None:
    two, three = load_spec("clustering"), load_spec("clustering3")
    assert [t.id for t in three.tasks] == [t.id for t in two.tasks] + ["quorum"]
    assert {c.id for c in three.checks} - {c.id for c in two.checks} == {"no-quorum-policy", "quorum-loss"}
    assert next(c for c in three.checks if c.id == "quorum-loss").fault
