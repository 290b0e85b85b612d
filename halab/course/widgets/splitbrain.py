"""Split-brain simulator: put nodes on two sides of a network partition and watch quorum and fencing act."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from halab.course.quorummath import NO_QUORUM_POLICIES, PartitionOutcome, QuorumConfig, simulate_partition
from halab.course.svg import Svg
from halab.course.widgets.common import CourseWidget, guarded, message_html, table_html
from halab.course.widgets.quorum import quorum_options

SIDE_COLUMNS = {"A": 20, "B": 380}  # left edges of the two side panels in the drawing


class SplitBrainSimulator(CourseWidget):
    def __init__(self, nodes: int = 3, sides: str = "") -> None:
        style = {"description_width": "initial"}
        self.count = w.IntSlider(value=nodes, min=2, max=7, description="Nodes", style=style)
        self.fencing = w.Checkbox(value=True, description="Fencing (stonith-enabled=true)", indent=False)
        self.policy = w.Dropdown(
            options=list(NO_QUORUM_POLICIES),
            value="stop",
            description="no-quorum-policy",
            style=style,
            layout=w.Layout(width="240px"),
        )
        self.two_node, self.qdevice = quorum_options()
        self.resource_node = w.Dropdown(description="Resource runs on", style=style, layout=w.Layout(width="240px"))
        self.side_box = w.VBox()
        self.sides: list[w.ToggleButtons] = []
        self.picture = w.HTML()
        self.out = w.HTML()
        self._building = False  # no recomputation while the per-node buttons are being rebuilt
        self._rebuild(sides)
        self.count.observe(lambda change: self._rebuild(), names="value")
        for control in (self.fencing, self.policy, self.two_node, self.qdevice, self.resource_node):
            control.observe(self._update, names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.count, self.resource_node]),
                w.HBox([self.fencing, self.policy]),
                w.HBox([self.two_node, self.qdevice]),
                w.HTML("<b>Where is each node after the network splits?</b> (off = crashed)"),
                self.side_box,
                self.picture,
                self.out,
            ]
        )

    def _rebuild(self, sides: str = "") -> None:
        """One A/B/off toggle per node; by default the first half (rounded up) is on side A."""
        count = self.count.value
        self._building = True
        default = sides if len(sides) == count else "A" * ((count + 1) // 2) + "B" * (count // 2)
        self.sides = []
        for index in range(count):
            toggle = w.ToggleButtons(
                options=["A", "B", "off"],
                value=default[index].replace("o", "off"),
                description=f"node{index + 1}",
                style={"button_width": "48px"},
            )
            toggle.observe(self._update, names="value")
            self.sides.append(toggle)
        self.side_box.children = self.sides
        self.resource_node.options = [(f"node{i + 1}", i) for i in range(count)]
        self.resource_node.value = 0
        if count != 2:
            self.two_node.value = False
        self._building = False
        self._update()

    def outcome(self) -> PartitionOutcome:
        cfg = QuorumConfig(
            tuple([1] * len(self.sides)), two_node=self.two_node.value, qdevice=self.qdevice.value or None
        )
        return simulate_partition(
            cfg,
            [toggle.value for toggle in self.sides],
            fencing=self.fencing.value,
            no_quorum_policy=self.policy.value,
            resource_node=self.resource_node.value,
        )

    def _update(self, change: Any = None) -> None:
        if self._building:
            return

        @guarded(self.out)
        def update() -> None:
            result = self.outcome()
            self.picture.value = draw_partition(result, qdevice=bool(self.qdevice.value)).render()
            rows = [
                (
                    f"Side {side.name}",
                    ", ".join(f"node{i + 1}" for i in side.members) or "-",
                    side.votes,
                    "yes" if side.quorate else "no",
                    "; ".join(side.events) or "-",
                )
                for side in result.sides
            ]
            self.out.value = table_html(["", "Nodes", "Votes", "Quorate", "What it does"], rows) + message_html(
                f"A partition needs {result.threshold} vote(s). {result.verdict}",
                "ok" if result.safe else "bad",
            )

        update()


def draw_partition(result: PartitionOutcome, qdevice: bool = False) -> Svg:
    """Two panels with the nodes of each side; the node running the resource is green, fenced ones crossed."""
    svg = Svg(720, 210)
    for side in result.sides:
        left = SIDE_COLUMNS[side.name]
        fill = "service" if side.runs_resource else ("muted" if not side.quorate else "node")
        svg.box(left, 30, 320, 150, fill=fill, dashed=not side.quorate)
        state = "quorate" if side.quorate else "no quorum"
        svg.text(left + 160, 50, f"Side {side.name}: {side.votes} vote(s), {state}", size=13, weight="bold")
        for slot, node in enumerate(side.members):
            cx = left + 40 + (slot % 4) * 80
            cy = 95 + (slot // 4) * 55
            svg.circle(cx, cy, 22, fill="danger" if side.fenced else "white", label=f"node{node + 1}", size=10)
            if side.fenced:
                svg.cross(cx, cy, 16)
        if side.runs_resource:
            svg.text(left + 160, 172, "runs the resource", size=12, weight="bold", color="#1b7f3b")
    svg.lightning(360, 35, 175)
    if qdevice:
        svg.text(360, 200, "qnetd votes for one side only", size=11, italic=True)
    return svg


def split_brain_simulator(nodes: int = 3, sides: str = "") -> SplitBrainSimulator:
    return SplitBrainSimulator(nodes, sides)
