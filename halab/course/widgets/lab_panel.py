"""The lab section of a notebook: the commands to type, and the lab's live state when it is up.

With no lab up it shows one clear sentence (how to start one) and returns within a few seconds, so that
notebooks run top to bottom anywhere, including in CI and at nbgrader autograde time.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w

from halab.course import labaccess
from halab.course.widgets.cluster_view import ClusterView
from halab.course.widgets.common import CourseWidget, message_html, table_html
from halab.course.widgets.report_view import ReportView
from halab.spec import load_spec


def commands_html(lab: str, node: str = "node1") -> str:
    lines = [
        (f"halab up {lab}", "start the lab (takes a minute or two the first time)"),
        (f"halab ssh {node}", "a root shell on a node"),
        (f"halab check {lab}", "grade your work: the same checks as the lab-check button"),
        (f"halab down {lab}", "stop the lab when you are done"),
    ]
    rows = "\n".join(f"{html.escape(cmd):<28} # {html.escape(why)}" for cmd, why in lines)
    return (
        "<p>In JupyterLab, open <b>File &gt; New &gt; Terminal</b> and type:</p>"
        f"<pre style='background:#f2f4f7;padding:8px'>{rows}</pre>"
    )


def no_lab_message(lab: str, problem: str | None, others: list[str]) -> str:
    if others:
        return message_html(
            f"The lab '{lab}' is not up (up now: {', '.join(others)}). Start it in a terminal with: halab up {lab}",
            "warn",
        )
    extra = f" (the lab runtime said: {problem})" if problem else ""
    return message_html(f"No lab is up{extra}. Start one in a terminal with: halab up {lab}", "warn")


def runs_pacemaker(lab: str) -> bool:
    """Whether the lab's nodes form a Pacemaker cluster, whose view the section shows (a load-balancing lab's
    balancers, web servers and client do not: crm_mon there only says that Pacemaker is not running)."""
    try:
        return bool(load_spec(lab).members)
    except Exception:  # noqa: BLE001 - an unreadable spec: show the view, which then says what it can
        return True


class LabSection(CourseWidget):
    """Commands, and when the lab is up its cluster view (for a Pacemaker lab) and a check button (check=False:
    the notebook has a graded lab-check cell of its own, and two buttons that both check would confuse)."""

    def __init__(self, lab: str, node: str = "node1", check: bool = True) -> None:
        labs, problem = labaccess.up_labs()
        parts: list[w.Widget] = [w.HTML(commands_html(lab, node))]
        if lab in labs:
            parts += [
                w.HTML(message_html(f"The lab '{lab}' is up.", "ok")),
                *([ClusterView(lab).widget] if runs_pacemaker(lab) else []),
                *([ReportView(lab=lab).widget] if check else []),
            ]
        else:
            parts.append(w.HTML(no_lab_message(lab, problem, labs)))
        self.widget = w.VBox(parts)


def lab_section(lab: str, node: str = "node1", check: bool = True) -> LabSection:
    return LabSection(lab, node, check)


def lab_command(lab: str, command: str, timeout: float = labaccess.COMMAND_TIMEOUT_S) -> w.HTML:
    """Run one read-only command on the lab and show its output, or say that the lab is not up."""
    labs, problem = labaccess.up_labs()
    if lab not in labs:
        return w.HTML(no_lab_message(lab, problem, labs))
    output, problem = labaccess.run_on_lab(lab, command, timeout)
    if problem:
        return w.HTML(message_html(f"`{command}` did not run: {problem}", "bad"))
    return w.HTML(
        f"<pre style='background:#101828;color:#f2f4f7;padding:8px'>$ {html.escape(command)}\n"
        f"{html.escape(output or '')}</pre>"
    )


def lab_facts(lab: str) -> w.HTML:
    """The lab's nodes, addresses, settings and tasks, read from its spec so the notebook never goes stale, with
    the student's own values (their slot's) on a shared machine, even before their lab is up."""
    try:
        spec, slot, problem = labaccess.own_spec(lab)
    except Exception as exc:  # noqa: BLE001 - a missing or broken spec is reported, not raised
        return w.HTML(message_html(f"Could not read the description of lab '{lab}': {exc}", "warn"))
    nodes = [(n.name, ", ".join(f"{net}: {addr}" for net, addr in n.addresses.items())) for n in spec.nodes]
    networks = [(net.name, str(net.subnet), " ".join(n.name for n in spec.nodes if net.name in n.addresses))
                for net in spec.networks]
    members = " ".join(spec.member_names)
    parts = [f"<p><b>{html.escape(spec.title)}</b></p>", own_values_message(slot, problem),
             table_html(["Node", "Addresses"], nodes), table_html(["Network", "Subnet", "Nodes on it"], networks)]
    if members:
        parts.append(f"<p>Cluster members (<code>{{nodes}}</code> in the steps' commands): <code>{html.escape(members)}"
                     "</code></p>")
    if spec.settings:
        parts.append(table_html(["Setting", "Value"], setting_rows(spec.settings)))
    parts.append(f"<p>In a terminal, <code>halab status {html.escape(lab)} --values</code> lists every value the "
                 "steps' commands use (<code>{name}</code> and its value).</p>")
    parts.append(logins_html(lab, spec.node_names, spec.member_names))
    if spec.tasks:
        items = "".join(f"<li><b>{html.escape(t.title)}</b><br>{html.escape(t.description)}</li>" for t in spec.tasks)
        parts.append(f"<p><b>Tasks</b></p><ol>{items}</ol>")
    return w.HTML("".join(parts))


RUNTIMES = ("nspawn", "kvm", "tcg")  # a table keyed by these is one value per way of running nodes (graders/faults.py)


def setting_rows(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Settings as rows a student reads: a per-runtime value as one row ("30 (nspawn), 90 (tcg)"); any other table
    (dr's sites, its database) as one row per value, named as the steps' commands name it (``sites_a_db_ip``,
    ``database_name``), never as a Python dict."""
    rows = []
    for key, value in sorted(settings.items()):
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not set(value) <= set(RUNTIMES):
            rows += setting_rows(value, f"{name}_")
        elif isinstance(value, list):
            rows.append((name, ", ".join(map(str, value))))
        else:
            rows.append((name, setting_text(value)))
    return rows


def setting_text(value: object) -> str:
    """A setting as a student reads it: a value per runtime ({nspawn = 30, tcg = 90}) as "30 (nspawn), 90 (tcg)"."""
    if isinstance(value, dict):
        return ", ".join(f"{v} ({k})" for k, v in value.items())
    return str(value)


def logins_html(lab: str, nodes: list[str], members: list[str]) -> str:
    """How the nodes reach each other (root SSH, the same on every lab) and the lab's pcsd login, which is new at
    every `halab up`, so it is shown only while the lab is up."""
    second = nodes[1] if len(nodes) > 1 else nodes[0]
    text = (f"<p><b>Between the nodes</b>: root logs in from any node to any other with the lab's key, host keys "
            f"pinned: <code>ssh {second}</code>, <code>scp FILE {second}:/etc/...</code>.")
    if members:
        login, _problem = labaccess.cluster_login(lab)
        names = " ".join(members)
        if login:
            password = html.escape(str(login.get("password", "")))
            text += (f" pcsd runs on {', '.join(members)}: <code>pcs host auth {html.escape(names)} -u "
                     f"{html.escape(str(login.get('user', 'hacluster')))} -p {password}</code> (this lab's password "
                     "for <code>hacluster</code>; it is new at every <code>halab up</code>).")
        else:
            text += (" pcsd runs on the cluster's nodes; the password of <code>hacluster</code> for <code>pcs host "
                     "auth</code> is set when the lab comes up: "
                     f"<code>halab status {html.escape(lab)}</code> shows it.")
    return text + "</p>"


def own_values_message(slot: int | None, problem: str | None) -> str:
    """Whose values the table shows: the student's own (a slot of the lab service), or the lab's as written."""
    if slot:
        return message_html(f"These are the values of your own lab (slot {slot} on this machine): type these. The "
                            "examples in the text use the lab's values as written (addresses 10.42.x.y), which "
                            "are not yours; the grader checks yours.", "info")
    if slot is None:
        why = f" ({problem})" if problem else ""
        return message_html(f"These are the lab's values as written: your own could not be found{why}. "
                            "`halab up` and `halab status` show the values of your lab.", "warn")
    return ""
