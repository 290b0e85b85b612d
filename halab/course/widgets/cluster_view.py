"""Live cluster view: the nodes of a running lab and where each resource runs, from `crm_mon` XML."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w

from halab.course import labaccess
from halab.course.svg import Svg
from halab.course.widgets.common import CourseWidget, badge, guarded, message_html, table_html

CRM_MON = "crm_mon -1 --output-as=xml"
REFRESH_S = 5.0


@dataclass
class NodeState:
    name: str
    online: bool
    standby: bool = False
    unclean: bool = False
    is_dc: bool = False

    @property
    def state(self) -> str:
        if self.unclean:
            return "unclean"
        if not self.online:
            return "offline"
        return "standby" if self.standby else "online"


@dataclass
class ResourceState:
    id: str
    agent: str
    role: str
    nodes: list[str]
    failed: bool = False
    parent: str = ""  # the group or clone it belongs to


@dataclass
class ClusterState:
    nodes: list[NodeState] = field(default_factory=list)
    resources: list[ResourceState] = field(default_factory=list)
    dc: str = ""
    quorate: bool = False
    stonith_enabled: bool | None = None
    error: str = ""  # set when crm_mon could not reach the cluster (not running, or bad output)


def parse_crm_mon(text: str) -> ClusterState:
    """The one place that reads crm_mon XML; a later version will delegate to graders.collectors.crm_mon."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        first = text.strip().splitlines()[0] if text.strip() else "no output"
        return ClusterState(error=f"crm_mon gave no XML ({first})")
    status = root.find("status")
    if root.find("nodes") is None:
        errors = [e.text or "" for e in root.iter("error")]
        message = status.get("message", "") if status is not None else ""
        return ClusterState(error="; ".join(filter(None, [message, *errors])) or "the cluster is not running")
    dc = root.find("summary/current_dc")
    options = root.find("summary/cluster_options")
    state = ClusterState(
        dc=dc.get("name", "") if dc is not None else "",
        quorate=dc is not None and dc.get("with_quorum") == "true",
        stonith_enabled=None if options is None else options.get("stonith-enabled") == "true",
    )
    for node in root.iterfind("nodes/node"):
        state.nodes.append(
            NodeState(
                node.get("name", "?"),
                node.get("online") == "true",
                node.get("standby") == "true",
                node.get("unclean") == "true",
                node.get("is_dc") == "true",
            )
        )
    resources = root.find("resources")
    if resources is not None:
        _collect_resources(resources, "", state.resources)
    return state


def _collect_resources(parent: ET.Element, parent_id: str, into: list[ResourceState]) -> None:
    """Primitives, also inside groups, clones and bundles, tagged with their container's id."""
    for element in parent:
        if element.tag == "resource":
            into.append(
                ResourceState(
                    element.get("id", "?"),
                    element.get("resource_agent", "?"),
                    element.get("role", "?"),
                    [n.get("name", "?") for n in element.iterfind("node")],
                    element.get("failed") == "true",
                    parent_id,
                )
            )
        else:
            _collect_resources(element, element.get("id", parent_id), into)


def render_state(state: ClusterState, lab: str) -> str:
    if state.error:
        return message_html(
            f"Pacemaker is not answering in lab '{lab}': {state.error}. If you have not set up "
            "the cluster yet, that is expected: see the tasks below.",
            "warn",
        )
    quorum = badge("quorate", "ok") if state.quorate else badge("no quorum", "bad")
    stonith = {True: badge("fencing on", "ok"), False: badge("fencing OFF", "bad"), None: "?"}[state.stonith_enabled]
    summary = f"<p>DC: <b>{state.dc or 'none'}</b> &nbsp; {quorum} &nbsp; {stonith}</p>"
    rows = [
        (
            r.id + (f" (in {r.parent})" if r.parent else ""),
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


def draw_cluster(state: ClusterState) -> Svg:
    """A column per node with the resources it runs; offline or unclean nodes are crossed out."""
    width = max(160 * len(state.nodes) + 20, 340)
    running = {node.name: [r for r in state.resources if node.name in r.nodes] for node in state.nodes}
    height = 110 + 26 * max([len(v) for v in running.values()] + [1])
    svg = Svg(width, height)
    for index, node in enumerate(state.nodes):
        left = 20 + index * 160
        fill = {"online": "node", "standby": "muted", "offline": "muted", "unclean": "danger"}[node.state]
        svg.box(left, 10, 140, height - 20, fill=fill, dashed=node.state != "online")
        svg.text(left + 70, 32, node.name + (" (DC)" if node.is_dc else ""), size=13, weight="bold")
        svg.text(left + 70, 50, node.state, size=11, italic=True)
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
        if node.state in ("offline", "unclean"):
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
            self.out.value = render_state(parse_crm_mon(text), self.lab.value)

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
