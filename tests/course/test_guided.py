"""Guided steps (halab/course/guided.py): read from notebook cells, rendered in a student's own values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from halab.course import guided
from halab.errors import HalabError
from halab.spec import load_spec, load_spec_file
from tests.course.helpers import NOTEBOOKS


def notebook_with(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
             for s in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# x"}, *cells],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_steps_are_read_in_cell_order_with_their_arguments(tmp_path: Path) -> None:
    path = notebook_with(
        tmp_path,
        'lab_steps("clustering", "node1", """\n    corosync-keygen\n    ls -l /etc/corosync\n""", task="authkey",'
        ' expect="-r-------- 1 root root 256 authkey")',
        "print('not a step')",
        'lab_steps(("clustering", "clustering3"), "all", "systemctl enable --now corosync", task="services",'
        ' until="crm_mon -1")\nlab_steps("clustering", "host", "halab fault {lab} power-off node2", demo=True)',
    )
    steps = guided.notebook_steps(path)
    assert [(s.cell, s.task, s.on, s.demo) for s in steps] == [
        (1, "authkey", ("node1",), False), (3, "services", ("all",), False), (3, "", ("host",), True)]
    assert steps[0].commands == "corosync-keygen\nls -l /etc/corosync"  # dedented, as the student sees it
    assert [s.task for s in guided.notebook_steps(path, "clustering3")] == ["services"]


def test_a_step_whose_arguments_are_not_literals_is_refused_with_its_cell(tmp_path: Path) -> None:
    path = notebook_with(tmp_path, 'cmd = "ls"\nlab_steps("clustering", "node1", cmd)')
    with pytest.raises(HalabError, match="cell 1: every argument of lab_steps.. must be a literal"):
        guided.notebook_steps(path)
    with pytest.raises(HalabError, match="has no argument wait"):
        guided.steps_in_cell('lab_steps("clustering", "node1", "ls", wait="x")', 4)


def test_values_are_the_labs_own_and_unknown_placeholders_stay() -> None:
    values = guided.lab_values(load_spec("clustering3"))
    text = "totem {\n cluster_name: {cluster_name}\n}\nip={floating_ip}/{prefix} {node3_addr} ${HOME} {nosuch}"
    assert guided.render(text, values) == ("totem {\n cluster_name: halab3\n}\nip=10.42.30.100/24 10.42.30.13 "
                                           "${HOME} {nosuch}")
    assert values["nodes"] == "node1 node2 node3" and values["other_nodes"] == "node2 node3"
    assert values["lab"] == "clustering3"
    assert guided.unknown_placeholders(text, values) == ["nosuch"]


def test_a_labs_tables_and_hyphenated_names_are_placeholders_too() -> None:
    """dr's sites are tables and its site networks have hyphens: a placeholder is one word, so both are given
    under a path joined by "_" (notebook 08's steps use them)."""
    values = guided.lab_values(load_spec("dr"))
    text = "{sites_a_db_ip},{sites_b_booth_ip} {database_name} {a1_site_a} {site_b_subnet} {cluster_name}-a"
    assert guided.render(text, values) == "10.42.70.100,10.42.70.210 halab 10.42.71.11 10.42.72.0/24 halabdr-a"
    assert values["a1_site-a"] == values["a1_site_a"]


def test_a_students_slot_gives_their_own_values() -> None:
    spec = load_spec_file(load_spec("clustering").path, slot=3)
    values = guided.lab_values(spec)
    assert values["cluster_name"] == "halab-u3" and values["floating_ip"] == "10.45.10.100"
    assert values["node2_lan"] == "10.45.10.12" and values["lab"] == "clustering"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_guided_step_of_the_course_renders_completely(path: Path) -> None:
    """A step that names a node its lab lacks, or a value its lab does not have, is a notebook bug."""
    for step in guided.notebook_steps(path):
        for lab in step.labs:
            spec = load_spec(lab)
            values = guided.lab_values(spec, {"hacluster_password": "made-at-halab-up"})
            guided.nodes_for(step, spec)
            assert not guided.unknown_placeholders(step.commands + step.expect + step.until, values), (
                f"{path.name} cell {step.cell} for {lab}")
            tasks = {t.id for t in spec.tasks}
            assert not step.task or step.task in tasks, f"{path.name} cell {step.cell}: no task {step.task} in {lab}"


def test_the_widget_shows_where_to_run_and_the_rendered_commands(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from halab.course.widgets import steps

    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))  # no lab up: the values come from the spec
    step = guided.Step(("clustering", "clustering3"), ("all",), "echo {floating_ip} > /tmp/x", task="web",
                       expect="{node3_addr}")
    widget = steps.LabSteps(step)
    assert "On each of node1 and node2" in widget.out.value and "10.42.10.100" in widget.out.value
    assert "does not have: node3_addr" in widget.out.value  # a placeholder the lab lacks is said, not hidden
    widget.widget.children[0].value = "clustering3"  # the lab chosen with the toggle
    assert "node1, node2 and node3" in widget.out.value and "10.42.30.100" in widget.out.value
    assert "does not have" not in widget.out.value
    single = steps.step_html(guided.Step(("clustering3",), ("node2",), "pcs status"), "clustering3")
    assert "<code>halab ssh clustering3 node2</code>" in single


def test_a_password_made_at_halab_up_is_a_named_stand_in_until_the_lab_is_up(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from halab.course.widgets import steps

    monkeypatch.setenv("HALAB_STATE_DIR", str(tmp_path))
    html = steps.step_html(guided.Step(("clustering3",), ("node1",), "pcs host auth -p {hacluster_password}"),
                           "clustering3")
    assert "pcs host auth -p PASSWORD" in html and "halab status clustering3" in html


def test_a_checkpoint_of_a_task_the_lab_lacks_says_so() -> None:
    from halab.course.widgets import lab_checkpoint

    checkpoint = lab_checkpoint("clustering", "quorum")  # only clustering3 has it
    assert "has no task &#x27;quorum&#x27;" in checkpoint.widget.value
    ok_one = lab_checkpoint("clustering3", "quorum")
    assert "halab check clustering3 --task quorum" in ok_one.widget.children[0].value


def test_check_task_refuses_a_task_the_lab_lacks() -> None:
    from click.testing import CliRunner

    from halab.command.check import check

    result = CliRunner().invoke(check, ["clustering", "--task", "quorum"])
    assert result.exit_code == 2 and "has no task quorum" in result.output and "corosync" in result.output
    result = CliRunner().invoke(check, ["clustering", "--task", "web", "--evidence", "x.json"])
    assert result.exit_code == 2 and "without --task" in result.output


def test_a_report_cut_to_tasks_keeps_their_checks_and_scores() -> None:
    from graders.report import CheckResult, Report

    checks = [CheckResult("a", "A", True, 5, 5, "", "", task="web"),
              CheckResult("b", "B", False, 0, 10, "", "", task="tidy")]
    report = Report("clustering", checks).only_tasks(["tidy"])
    assert [c.id for c in report.checks] == ["b"] and (report.score, report.max_score) == (0, 10)


def test_notebook_08_names_every_placeholder_its_steps_use_with_the_labs_value() -> None:
    """Read without Jupyter, a step shows its placeholders: notebook 08's table says what each one stands for,
    with the lab's values as written (a student walked it from the text alone)."""
    import re

    path = next(p for p in NOTEBOOKS if p.stem == "08-disaster-recovery")
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    table = next(line for line in text.splitlines() if line.startswith("| `{cluster_name}`"))
    rows = [line for line in text.splitlines() if line.startswith("| `{")]
    assert table in rows
    values = guided.lab_values(load_spec("dr"))
    used = {m for step in guided.notebook_steps(path) for m in re.findall(r"(?<!\$)\{(\w+)\}", step.commands)}
    for name in sorted(used):
        row = next((r for r in rows if f"`{{{name}}}`" in r), None)
        assert row is not None, f"the placeholder table does not name {{{name}}}"
        assert name in {"a1", "a2", "b1", "b2"} or values[name] in row, (name, values[name], row)
