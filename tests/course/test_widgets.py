"""Widgets answer bad input with a message inside the widget, never with an exception."""

import ipywidgets as w
import pytest

from halab.course.widgets.availability import AvailabilityCalculator
from halab.course.widgets.cluster_view import ClusterView, node_state, read_crm_mon, render_state
from halab.course.widgets.explorers import DrbdProtocols, InfrastructureChain, MigrationEstimator
from halab.course.widgets.lab_panel import lab_command, lab_facts, lab_section
from halab.course.widgets.quiz import QuizWidget, show_quiz
from halab.course.widgets.quorum import QuorumCalculator
from halab.course.widgets.report_view import ReportView
from halab.course.widgets.splitbrain import SplitBrainSimulator
from tests.support.paths import REPO

CHECK_INPUT = "Check the input:"


def test_availability_rejects_impossible_values() -> None:
    calc = AvailabilityCalculator()
    before = calc.downtime_out.value
    calc.nines_slider.value = 4.0
    assert calc.percent.value == pytest.approx(99.99)
    assert calc.downtime_out.value != before and "99.99 %" in calc.downtime_out.value
    calc.percent.value = 120
    assert CHECK_INPUT in calc.downtime_out.value and "between 0 % and 100 %" in calc.downtime_out.value
    calc.mttr.value = -2
    assert "MTTR must be zero or more" in calc.mtbf_out.value
    calc.mtbf.value = 0
    assert CHECK_INPUT in calc.mtbf_out.value
    calc.component.value = 100.5
    assert CHECK_INPUT in calc.redundancy_out.value
    calc.allowed.value = -5
    assert "allowed downtime must be zero or more" in calc.reverse_out.value


def test_availability_recovers_after_bad_input() -> None:
    calc = AvailabilityCalculator()
    calc.percent.value = 101
    calc.percent.value = 99.9
    assert CHECK_INPUT not in calc.downtime_out.value and "3.00 nines" in calc.downtime_out.value
    calc.count.value = 3
    assert bytes(calc.plot.value).startswith(b"\x89PNG")


def test_quorum_calculator_bad_input() -> None:
    calc = QuorumCalculator()
    calc.nodes.value = 0
    assert "at least one node" in calc.out.value
    calc.nodes.value = 3
    calc.votes.value = "1, two, 1"
    assert "whole numbers" in calc.out.value
    calc.votes.value = "1, 1"
    assert "one vote count per node" in calc.out.value
    calc.votes.value = ""
    calc.two_node.value = True
    assert "exactly two nodes" in calc.out.value
    calc.nodes.value = 2
    assert "survives 1 node failure" in calc.out.value
    calc.qdevice.value = "ffsplit"
    assert "not both" in calc.out.value


def test_split_brain_simulator() -> None:
    sim = SplitBrainSimulator(2)
    sim.two_node.value = True
    sim.fencing.value = False
    assert "SPLIT BRAIN" in sim.out.value
    sim.fencing.value = True
    assert "data is safe" in sim.out.value and "<svg" in sim.picture.value
    sim.count.value = 5
    assert len(sim.sides) == 5 and sim.two_node.value is False
    sim.qdevice.value = "lms"
    assert CHECK_INPUT not in sim.out.value


def test_explorers_reject_bad_input() -> None:
    drbd = DrbdProtocols()
    drbd.rtt.value = -1
    assert "network round trip must be zero or more" in drbd.out.value
    chain = InfrastructureChain()
    chain.inputs[0][0].value = 150
    assert CHECK_INPUT in chain.out.value
    migration = MigrationEstimator()
    migration.bandwidth.value = 0
    assert "bandwidth must be more than zero" in migration.out.value
    migration.bandwidth.value = 110
    migration.dirty.value = 500
    assert "Does not converge" in migration.out.value


def test_the_protocol_widget_does_not_open_on_the_graded_questions_numbers() -> None:
    """A student walking notebook 4 found the widget's defaults were graded question 1's numbers, so it showed the
    graded answer as it opened; it now opens on others, and the student enters the question's numbers."""
    import json
    import re

    notebook = json.loads((REPO / "course" / "source" / "04-fault-tolerance" / "04-fault-tolerance.ipynb").read_text())
    question = next("".join(c["source"]) for c in notebook["cells"] if "protocol C write take" in "".join(c["source"]))
    numbers = [float(n) for n in re.findall(r"(\d+(?:\.\d+)?) ms", question)]
    drbd = DrbdProtocols()
    assert len(numbers) == 3 and numbers != [drbd.local.value, drbd.rtt.value, drbd.remote.value]


def test_quiz_widget_grades_and_handles_wrong_form() -> None:
    from halab.course.quiz import load_bank

    quiz = QuizWidget(load_bank("02-ha-concepts"))
    numeric = next(c for c in quiz.cards if c.question.id == "mtbf-mttr-availability")
    numeric.set_answer("lots")
    numeric.check()
    assert "not a number" in numeric.feedback.value and not numeric.correct
    numeric.set_answer("99.9")
    numeric.check()
    assert numeric.correct and "Score: 1 /" in quiz.score.value
    choice = next(c for c in quiz.cards if c.question.id == "quorum-seven-split")
    choice.check()  # nothing picked yet
    assert "No answer yet" in choice.feedback.value
    multi = next(c for c in quiz.cards if c.question.kind == "choose")
    multi.check()
    assert "No answer yet" in multi.feedback.value


def test_missing_quiz_shows_a_message() -> None:
    widget = show_quiz("99-nothing")
    assert "no such quiz" in widget.widget.children[0].value


CRM_MON_XML = """<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <summary>
    <current_dc present="true" version="2.1.5" name="node1" id="1" with_quorum="true"/>
    <cluster_options stonith-enabled="true" no-quorum-policy="stop"/>
  </summary>
  <nodes>
    <node name="node1" id="1" online="true" standby="false" unclean="false" is_dc="true"/>
    <node name="node2" id="2" online="false" standby="false" unclean="true" is_dc="false"/>
  </nodes>
  <resources>
    <resource id="fence" resource_agent="stonith:fence_dummy" role="Started" active="true" failed="false"
        nodes_running_on="1"><node name="node1" id="1" cached="true"/></resource>
    <group id="websvc" number_resources="2">
      <resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" failed="false" nodes_running_on="1">
        <node name="node1" id="1" cached="true"/>
      </resource>
      <resource id="web" resource_agent="systemd:nginx" role="Stopped" failed="false" nodes_running_on="0"/>
    </group>
    <clone id="drbd-clone" multi_state="true">
      <resource id="drbd" resource_agent="ocf:linbit:drbd" role="Promoted" failed="false" nodes_running_on="1">
        <node name="node1" id="1" cached="true"/>
      </resource>
    </clone>
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>"""

STOPPED_XML = """<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <status code="102" message="Not connected">
    <errors><error>crm_mon: Connection to cluster failed: Connection refused</error></errors>
  </status>
</pacemaker-result>"""


def test_read_crm_mon() -> None:
    state = read_crm_mon(CRM_MON_XML)
    assert state.dc == "node1" and state.quorate and state.stonith_enabled
    nodes = [(n.name, node_state(n), n.is_dc) for n in state.nodes.values()]
    assert nodes == [("node1", "online", True), ("node2", "unclean", False)]
    by_id = {r.id: r for r in state.resources}
    assert by_id["vip"].group == "websvc" and by_id["vip"].nodes == ("node1",)
    assert by_id["web"].nodes == () and by_id["drbd"].role == "Promoted" and by_id["drbd"].clone == "drbd-clone"
    html = render_state(state, "clustering")
    assert "vip (in websvc)" in html and "drbd (in drbd-clone)" in html and "<svg" in html
    assert "fencing on" in html and "quorate" in html and "unclean" in html


def test_read_crm_mon_when_cluster_is_down_or_output_is_junk() -> None:
    stopped = read_crm_mon(STOPPED_XML)
    assert not stopped.connected and "Connection refused" in stopped.error
    junk = read_crm_mon("bash: crm_mon: command not found")
    assert not junk.connected and "no readable XML" in junk.error and "command not found" in junk.error
    assert "not answering" in render_state(read_crm_mon(""), "clustering")
    assert "Connection refused" in render_state(stopped, "clustering")


def test_cluster_view_without_lab(no_lab: None) -> None:
    view = ClusterView("clustering")
    assert "No lab is up. Start one in a terminal with: halab up clustering" in view.out.value


def test_lab_panels_without_lab(no_lab: None) -> None:
    section = lab_section("clustering")
    text = "".join(getattr(child, "value", "") for child in section.widget.children)
    assert "halab up clustering" in text and "No lab is up" in text
    assert "No lab is up" in lab_command("clustering", "crm_mon -1").value
    assert "10.42.10.11" in lab_facts("clustering").value
    assert "Could not read" in lab_facts("no-such-lab").value


def test_lab_facts_give_every_value_the_steps_use(no_lab: None) -> None:
    """The dr lab's facts name its networks' subnets, the cluster members ({nodes}) and each site's values under
    the names its steps use, never a setting table as a Python dict."""
    shown = lab_facts("dr").value
    assert "10.42.71.0/24" in shown and "10.42.72.0/24" in shown and "a1 a2 b1 b2</code>" in shown
    assert "sites_a_db_ip" in shown and "10.42.70.100" in shown and "database_password" in shown
    assert "{&#x27;" not in shown and "{'" not in shown
    assert "90 (nspawn)" in shown  # a value per way of running nodes stays one row


def test_lab_section_shows_a_cluster_view_only_for_a_pacemaker_lab(monkeypatch: pytest.MonkeyPatch) -> None:
    from halab.course import labaccess

    monkeypatch.setattr(labaccess, "up_labs", lambda: (["clustering", "loadbalancing"], None))
    monkeypatch.setattr(labaccess, "run_on_lab", lambda lab, command, timeout=5.0: (None, "not asked in this test"))
    for lab, views in (("clustering", 1), ("loadbalancing", 0)):
        section = lab_section(lab, check=False)
        assert sum(isinstance(child, w.VBox) for child in section.widget.children) == views, lab
        assert f"The lab &#x27;{lab}&#x27; is up." in "".join(getattr(c, "value", "") for c in section.widget.children)


REPORT = {
    "lab": "clustering",
    "score": 3,
    "max_score": 5,
    "checks": [
        {"id": "quorum", "title": "Cluster is quorate", "passed": True, "points": 2, "max_points": 2,
         "feedback": "Both nodes joined.", "hint": ""},
        {"id": "fencing", "title": "Fencing <on>", "passed": False, "points": 0, "max_points": 2,
         "feedback": "stonith-enabled is false.", "hint": "pcs property set stonith-enabled=true"},
    ],
    "measurements": {"failover_s": 6.6},
}  # fmt: skip


def test_report_view_renders_checks_and_hints() -> None:
    view = ReportView(REPORT)
    html = view.out.value
    assert "3 / 5 points" in html and "Cluster is quorate" in html and "failover_s" in html
    assert "<details><summary>Hint</summary>pcs property set stonith-enabled=true</details>" in html
    assert "Fencing &lt;on&gt;" in html  # titles are escaped


@pytest.mark.parametrize("report", [None, [], {"score": "x", "max_score": 1, "checks": []}, {"score": 1}])
def test_report_view_rejects_malformed_reports(report: object) -> None:
    view = ReportView()
    view.show(report)  # type: ignore[arg-type]
    assert "Check the input:" in view.out.value


def test_report_button_without_lab(no_lab: None) -> None:
    view = ReportView(lab="clustering")
    view.run(wait=True)
    assert "not up" in view.out.value and "halab up clustering" in view.out.value


def test_report_button_when_graders_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from halab.course import labaccess

    # Imported by name: the package exports a function called report_view that hides the module.
    report_view = importlib.import_module("halab.course.widgets.report_view")
    monkeypatch.setattr(labaccess, "up_labs", lambda: (["clustering"], None))

    def broken(lab: str) -> dict:
        raise RuntimeError("graders exploded")

    monkeypatch.setattr(report_view, "run_checks", broken)
    view = ReportView(lab="clustering")
    view.run(wait=True)
    assert "graders exploded" in view.out.value and not view.button.disabled
    monkeypatch.setattr(report_view, "run_checks", lambda lab: REPORT)
    view.run(wait=True)
    assert "3 / 5 points" in view.out.value
