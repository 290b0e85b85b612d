"""Live cluster view: the nodes of a running lab and where each resource runs, from `crm_mon` XML."""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from graders.collectors import ParseError, crm_mon
from graders.collectors.crm_mon import ClusterStatus, CrmNode
from halab.course import labaccess
from halab.course.svg import Svg
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html, table_html

CRM_MON = "crm_mon -1 --output-as=xml"
REFRESH_S = 5.0


def read_crm_mon(text: str) -> ClusterStatus:
    """crm_mon's XML read the graders' way; output that is not crm_mon XML becomes a not-connected status."""
    try:
        return crm_mon.parse(text)
    except ParseError as exc:
        # The first line says most (e.g. "crm_mon: command not found"), more than where XML parsing stopped.
        first = text.strip().splitlines()[0][:200] if text.strip() else "nothing"
        return ClusterStatus(connected=False, error=f"{exc}; it printed: {first}")


def node_state(node: CrmNode) -> str:
    if node.unclean:
        return "unclean"
    if not node.online:
        return "offline"
    return "standby" if node.standby else "online"


def render_state(state: ClusterStatus, lab: str) -> str:
    if not state.connected:
        return message_html(
            f"Pacemaker is not answering in lab '{lab}': {state.error}. If you have not set up "
            "the cluster yet, that is expected: see the tasks below.",
            "warn",
        )
    quorum = badge("quorate", "ok") if state.quorate else badge("no quorum", "bad")
    stonith = badge("fencing on", "ok") if state.stonith_enabled else badge("fencing OFF", "bad")
    summary = f"<p>DC: <b>{state.dc or 'none'}</b> &nbsp; {quorum} &nbsp; {stonith}</p>"
    rows = [
        (
            r.id + (f" (in {r.group or r.clone})" if r.group or r.clone else ""),
            r.agent,
            badge(r.role, "bad" if r.failed else "ok" if r.nodes else "warn"),
            ", ".join(r.nodes) or "-",
        )
        for r in state.resources
    ]
    table = (
        table_html(["Resource", "Agent", "Role", "Runs on"], rows, raw_columns=[2])
        if rows
        else message_html("No resources are configured yet.", "info")
    )
    return summary + draw_cluster(state).render() + table


def draw_cluster(state: ClusterStatus) -> Svg:
    """A column per node with the resources it runs; offline or unclean nodes are crossed out."""
    width = max(160 * len(state.nodes) + 20, 340)
    nodes = list(state.nodes.values())
    running = {node.name: [r for r in state.resources if node.name in r.nodes] for node in nodes}
    height = 110 + 26 * max([len(v) for v in running.values()] + [1])
    svg = Svg(width, height)
    for index, node in enumerate(nodes):
        left = 20 + index * 160
        state_name = node_state(node)
        fill = {"online": "node", "standby": "muted", "offline": "muted", "unclean": "danger"}[state_name]
        svg.box(left, 10, 140, height - 20, fill=fill, dashed=state_name != "online")
        svg.text(left + 70, 32, node.name + (" (DC)" if node.is_dc else ""), size=13, weight="bold")
        svg.text(left + 70, 50, state_name, size=11, italic=True)
        for slot, res in enumerate(running[node.name]):
            svg.box(
                left + 10,
                62 + slot * 26,
                120,
                22,
                res.id,
                fill="danger" if res.failed else "service",
                size=11,
            )
        if state_name in ("offline", "unclean"):
            svg.cross(left + 70, height / 2, 30)
    return svg


class ClusterView(CourseWidget):
    """Pick a running lab, press Refresh (or tick auto-refresh) to see its cluster."""

    def __init__(self, lab: str = "clustering") -> None:
        self.lab_name = lab
        self.lab = w.Dropdown(description="Lab", layout=w.Layout(width="240px"))
        self.refresh = w.Button(description="Refresh", icon="refresh")
        self.auto = w.Checkbox(value=False, description=f"auto-refresh every {REFRESH_S:g} s", indent=False)
        self.out = w.HTML()
        self._stop = threading.Event()
        self.refresh.on_click(lambda button: self.update())
        self.auto.observe(self._on_auto, names="value")
        self.lab.observe(self._on_pick, names="value")
        self.widget = w.VBox([w.HBox([self.lab, self.refresh, self.auto]), self.out])
        self.update()

    def update(self) -> None:
        @guarded(self.out)
        def update() -> None:
            labs, problem = labaccess.up_labs()
            if list(self.lab.options) != labs:
                self.lab.options = labs
            if not labs:
                extra = f" (could not ask the lab runtime: {problem})" if problem else ""
                self.out.value = message_html(
                    f"No lab is up{extra}. Start one in a terminal with: halab up {self.lab_name}", "warn"
                )
                return
            if self.lab_name not in labs:
                self.lab_name = labs[0]
            self.lab.value = self.lab_name
            text, problem = labaccess.run_on_lab(self.lab.value, CRM_MON)
            if problem or text is None:
                self.out.value = message_html(f"Could not read the cluster state: {problem}", "bad")
                return
            self.out.value = render_state(read_crm_mon(text), self.lab.value)

        update()

    def _on_pick(self, change: Any) -> None:
        if change["new"] and change["new"] != self.lab_name:
            self.lab_name = change["new"]
            self.update()

    def _on_auto(self, change: Any) -> None:
        if not change["new"]:
            self._stop.set()
            return
        self._stop = threading.Event()
        stop = self._stop

        def loop() -> None:
            # Stops when unticked; daemon so that it never keeps a kernel from shutting down.
            while not stop.wait(REFRESH_S):
                self.update()

        threading.Thread(target=loop, daemon=True).start()


def cluster_view(lab: str = "clustering") -> ClusterView:
    return ClusterView(lab)
