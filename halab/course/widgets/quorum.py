"""Quorum calculator: nodes, votes, two_node and a quorum device -> which failures the cluster survives."""

from __future__ import annotations

import ipywidgets as w

from halab.course.hamath import InputError
from halab.course.quorummath import QuorumConfig, failure_table, failures_survived
from halab.course.widgets.common import CourseWidget, badge, live, message_html, table_html

QDEVICE_OPTIONS = [
    ("no quorum device", ""),
    ("qdevice, algorithm ffsplit", "ffsplit"),
    ("qdevice, algorithm lms", "lms"),
]


def parse_votes(text: str, nodes: int) -> tuple[int, ...]:
    """ "1, 1, 2" -> (1, 1, 2); empty text means one vote per node (corosync's default)."""
    if not isinstance(nodes, int) or nodes < 1:
        raise InputError("A cluster needs at least one node.")
    if not text.strip():
        return tuple([1] * nodes)
    try:
        votes = tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        raise InputError(f"Votes must be whole numbers separated by commas, like 1, 1, 2 - not {text!r}.") from None
    if len(votes) != nodes:
        raise InputError(f"Give one vote count per node: {nodes} node(s), but {len(votes)} vote count(s).")
    return votes


def quorum_options() -> tuple[w.Checkbox, w.Dropdown]:
    """The two quorum switches both the calculator and the split-brain simulator offer."""
    two_node = w.Checkbox(value=False, description="two_node: 1", indent=False)
    qdevice = w.Dropdown(options=QDEVICE_OPTIONS, value="", layout=w.Layout(width="240px"))
    return two_node, qdevice


class QuorumCalculator(CourseWidget):
    def __init__(self, nodes: int = 3) -> None:
        style = {"description_width": "initial"}
        self.nodes = w.IntText(value=nodes, description="Nodes", style=style, layout=w.Layout(width="140px"))
        self.votes = w.Text(
            value="",
            description="Votes per node",
            placeholder="empty: 1 each (e.g. 1, 1, 2)",
            style=style,
            layout=w.Layout(width="330px"),
        )
        self.two_node, self.qdevice = quorum_options()
        self.out = w.HTML()
        self.widget = w.VBox([w.HBox([self.nodes, self.votes]), w.HBox([self.two_node, self.qdevice]), self.out])
        live(self.out, [self.nodes, self.votes, self.two_node, self.qdevice], lambda: render_quorum(self.config()))

    def config(self) -> QuorumConfig:
        votes = parse_votes(self.votes.value, self.nodes.value)
        return QuorumConfig(votes, two_node=self.two_node.value, qdevice=self.qdevice.value or None)


def render_quorum(cfg: QuorumConfig) -> str:
    up, down = failure_table(cfg, qnetd_up=True), failure_table(cfg, qnetd_up=False)
    rows = []
    for with_q, without_q in zip(up, down, strict=True):
        row = [str(with_q.failed), f"{with_q.votes}", _state(with_q.quorate)]
        if cfg.qdevice:
            row += [f"{without_q.votes}", _state(without_q.quorate)]
        rows.append(row)
    headers = ["Nodes failed", "Votes left", "Quorate?"]
    if cfg.qdevice:
        headers = ["Nodes failed", "Votes (qnetd up)", "Quorate?", "Votes (qnetd down)", "Quorate?"]
    summary = (
        f"Expected votes: {cfg.expected_votes} ({sum(cfg.votes)} from nodes"
        f"{f', {cfg.qdevice_votes} from the quorum device' if cfg.qdevice else ''}). "
        f"A partition needs {cfg.threshold} vote(s) to be quorate. "
        f"Worst case, the cluster survives {failures_survived(cfg)} node failure(s)"
    )
    summary += f", or {failures_survived(cfg, qnetd_up=False)} with qnetd down." if cfg.qdevice else "."
    raw = [2, 4] if cfg.qdevice else [2]
    return (
        message_html(summary, "info")
        + table_html(headers, rows, raw_columns=raw)
        + "".join(message_html(note, "warn") for note in _notes(cfg))
    )


def _state(quorate: bool) -> str:
    return badge("quorate", "ok") if quorate else badge("no quorum", "bad")


def _notes(cfg: QuorumConfig) -> list[str]:
    """The lessons a configuration teaches, in the words the notebook uses."""
    notes = []
    count = len(cfg.votes)
    if count == 2 and not cfg.two_node and not cfg.qdevice:
        notes.append(
            "Two nodes without two_node or a quorum device: losing either node loses quorum, so "
            "the cluster has no redundancy at all."
        )
    if cfg.two_node:
        notes.append(
            "two_node: 1 makes one vote enough and turns on wait_for_all: after a cold start the "
            "nodes must see each other once. Both halves of a split are quorate: only fencing "
            "(with a delay on one node) decides who survives."
        )
    if count > 2 and count % 2 == 0 and not cfg.qdevice:
        notes.append(
            f"{count} nodes survive no more failures than {count - 1}: an even node count adds a "
            "vote to the threshold too. A quorum device breaks the tie of an even split."
        )
    if cfg.qdevice == "ffsplit" and count % 2 == 1:
        notes.append("ffsplit is meant for an even number of nodes; with an odd count it rarely helps.")
    if cfg.qdevice == "lms":
        notes.append(
            "lms (last man standing) keeps even a single node quorate as long as it reaches qnetd - "
            "but while qnetd is down, every node is needed for quorum."
        )
    return notes


def quorum_calculator(nodes: int = 3) -> QuorumCalculator:
    return QuorumCalculator(nodes)
