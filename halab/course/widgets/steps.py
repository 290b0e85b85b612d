"""Guided lab steps and checkpoints: a task's commands in the student's own values, and a check of that task.

``lab_steps`` shows the commands of one step (a template written in the notebook cell, rendered with the
values of the student's own lab: halab/course/guided.py), labelled with where to run them (``halab ssh
node1``), with the output to expect beside them. ``lab_checkpoint`` offers the check of one task (the same as
``halab check LAB --task T``). Both work with no lab up: the values come from the lab's spec (moved into the
student's slot on a shared machine), so the commands are right before ``halab up``.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as w

from halab.course import guided, labaccess
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html
from halab.course.widgets.lab_panel import own_values_message

CODE_STYLE = "background:#101828;color:#f2f4f7;padding:8px;margin:2px 0;white-space:pre;overflow-x:auto"
EXPECT_STYLE = "background:#f2f4f7;color:#1d2939;padding:8px;margin:2px 0;white-space:pre;overflow-x:auto"
SPEC_CACHE_S = 60.0  # a notebook has a dozen step cells: ask the lab service for the slot once a minute
_specs: dict[str, tuple[float, Any, int | None, str | None]] = {}


def own_spec(lab: str) -> tuple[Any, int | None, str | None]:
    """The lab's spec in the student's values (labaccess.own_spec), remembered for a minute."""
    cached = _specs.get(lab)
    if cached and time.monotonic() - cached[0] < SPEC_CACHE_S:
        return cached[1:]
    spec, slot, problem = labaccess.own_spec(lab)
    _specs[lab] = (time.monotonic(), spec, slot, problem)
    return spec, slot, problem


def extra_values(lab: str, text: str) -> tuple[dict[str, str], str]:
    """Values that exist only while the lab is up (pcsd's hacluster password, new at every `halab up`), asked
    only when the step uses them; and a note when one is not known yet."""
    if "{hacluster_password}" not in text:
        return {}, ""
    login, _problem = labaccess.cluster_login(lab)
    if login and login.get("password"):
        return {"hacluster_password": str(login["password"])}, ""
    return {"hacluster_password": "PASSWORD"}, message_html(
        f"PASSWORD stands for the lab's hacluster password, which is made at every `halab up`: run this cell again "
        f"once the lab is up, or read it in `halab status {lab}`.", "info")


def where_html(lab: str, nodes: Sequence[str]) -> str:
    if nodes == [guided.HOST]:
        return "<b>In a terminal of this machine</b> (JupyterLab: <i>File &gt; New &gt; Terminal</i>), not on a node:"
    if len(nodes) == 1:
        node = html.escape(nodes[0])
        return f"<b>On {node}</b>: <code>halab ssh {html.escape(lab)} {node}</code>, then:"
    names = ", ".join(nodes[:-1]) + f" and {nodes[-1]}"
    return (f"<b>On each of {html.escape(names)}</b> (<code>halab ssh {html.escape(lab)} NODE</code>), the same "
            "commands:")


def step_html(step: guided.Step, lab: str) -> str:
    """The step rendered for one lab: where, the commands, what to expect, and what to wait for."""
    spec, slot, problem = own_spec(lab)
    extra, note = extra_values(lab, step.commands + step.expect + step.until)
    values = guided.lab_values(spec, extra)
    parts = []
    if step.title:
        parts.append(f"<h4 style='margin:6px 0 2px 0'>{html.escape(step.title)}</h4>")
    if step.demo:
        parts.append(badge("try it", "info") + " ")
    parts.append(where_html(values["lab"], guided.nodes_for(step, spec)))
    commands = f"<pre style='{CODE_STYLE}'>{html.escape(guided.render(step.commands, values))}</pre>"
    if step.expect:
        expect = f"<pre style='{EXPECT_STYLE}'>{html.escape(guided.render(step.expect, values))}</pre>"
        parts.append("<div style='display:flex;gap:8px;flex-wrap:wrap'>"
                     f"<div style='flex:1 1 420px;min-width:0'>{commands}</div>"
                     f"<div style='flex:1 1 320px;min-width:0'><i>You should see something like:</i>{expect}</div>"
                     "</div>")
    else:
        parts.append(commands)
    if step.until:
        parts.append("<p style='margin:2px 0'>Then wait until this succeeds (run it again every few seconds): "
                     f"<code>{html.escape(guided.render(step.until, values))}</code></p>")
    missing = guided.unknown_placeholders(step.commands + step.expect + step.until, values)
    if missing:
        parts.append(message_html(f"This step uses values the lab '{lab}' does not have: {', '.join(missing)}; "
                                  "tell your instructor.", "warn"))
    if slot or slot is None:
        parts.append(own_values_message(slot, problem))
    return "".join(parts) + note


class LabSteps(CourseWidget):
    """One guided step; with several labs, a choice of the lab to show it for."""

    def __init__(self, step: guided.Step) -> None:
        self.step = step
        self.out = w.HTML()
        choice = w.ToggleButtons(options=list(step.labs), description="Lab:",
                                 style={"description_width": "initial"}) if len(step.labs) > 1 else None

        @guarded(self.out)
        def update(change: Any = None) -> None:
            self.out.value = step_html(step, choice.value if choice else step.labs[0])

        if choice:
            choice.observe(update, names="value")
        update()
        self.widget = w.VBox([choice, self.out] if choice else [self.out])


def lab_steps(lab: str | Sequence[str], on: str | Sequence[str], commands: str, *, task: str = "",
              expect: str = "", until: str = "", demo: bool = False, title: str = "") -> LabSteps:
    """A guided step of lab ``lab`` (or of each of several labs): ``commands`` (a template with ``{placeholders}``,
    halab/course/guided.py) to run on ``on`` (a node, a list of nodes, ``"all"`` members or ``"host"``), with
    ``expect``ed output beside them and a condition to wait ``until``. ``task`` names the lab task the step
    works towards; ``demo=True`` marks a step the walk-through test does not run (it only watches, or breaks
    and restores). Every argument must be a literal: the walk-through test reads them from the cell."""
    step = guided.Step(guided.labs_of(lab), guided.targets(on), guided.dedent_commands(commands), task=task,
                       expect=guided.dedent_commands(expect), until=until, demo=demo, title=title)
    return LabSteps(step)


# -- checkpoints ----------------------------------------------------------------------------------------
def task_report(report: Mapping[str, Any], tasks: Sequence[str]) -> dict[str, Any]:
    """The part of a report about these tasks, with its score recomputed."""
    checks = [c for c in report.get("checks", []) if c.get("task") in tasks]
    return {**report, "checks": checks, "score": sum(c.get("points", 0) for c in checks),
            "max_score": sum(c.get("max_points", 0) for c in checks)}


def check_tasks(lab: str, tasks: Sequence[str], progress: Any = None) -> dict[str, Any]:
    """The live check of these tasks only: their fault checks run, no others."""
    from halab.access import open_lab

    spec, _, _ = own_spec(lab)
    faults = tuple(c.id for c in spec.checks if c.fault and c.task in tasks)
    handle = open_lab(lab)
    try:
        checked = handle.check(faults=faults or False, progress=progress or (lambda _m: None))
    finally:
        handle.close()
    return task_report(checked.report, tasks)


class Checkpoint(CourseWidget):
    def __init__(self, lab: str, task: str) -> None:
        from halab.course.widgets.report_view import CHECKS_TIMEOUT_S, render_report

        self.out = w.HTML()
        spec, _, _ = own_spec(lab)
        titles = {t.id: t.title for t in spec.tasks}
        if task not in titles:
            self.widget = w.HTML(message_html(f"Lab '{lab}' has no task '{task}' (its tasks: "
                                              f"{', '.join(titles)}); tell your instructor.", "warn"))
            return
        fault = any(c.fault and c.task == task for c in spec.checks)
        button = w.Button(description=f"Check: {titles[task]}", icon="check", layout=w.Layout(width="auto"))
        note = " (this one breaks the lab on purpose and restores it: a minute or two)" if fault else ""
        intro = w.HTML(f"<p style='margin:2px 0'><b>Checkpoint.</b> Press the button, or in a terminal: "
                       f"<code>halab check {html.escape(lab)} --task {html.escape(task)}</code>{note}.</p>")

        def run(_button: Any) -> None:
            labs, problem = labaccess.up_labs()
            if lab not in labs:
                self.out.value = message_html(f"The lab '{lab}' is not up{f' ({problem})' if problem else ''}. "
                                              f"Start it in a terminal with: halab up {lab}", "warn")
                return
            button.disabled = True
            self.out.value = message_html(f"Checking '{titles[task]}' on lab '{lab}'...", "info")

            def progress(line: str) -> None:
                self.out.value = message_html(f"Checking '{titles[task]}': {line}", "info")

            def work() -> None:
                report, problem = labaccess.call_with_timeout(lambda: check_tasks(lab, [task], progress),
                                                              CHECKS_TIMEOUT_S)
                self.out.value = (message_html(f"The check could not run: {problem}", "bad") if problem
                                  else render_report(report or {}))
                button.disabled = False

            threading.Thread(target=work, daemon=True).start()

        button.on_click(guarded(self.out)(run))
        self.widget = w.VBox([intro, button, self.out])


def lab_checkpoint(lab: str, task: str) -> Checkpoint:
    """A check of one task of the lab: ``halab check LAB --task TASK``, as a button."""
    return Checkpoint(lab, task)
