"""The failover timeline in the notebook's lab panel (issue 24): each fault check's events (graders/timeline.py)
drawn on one time axis, one lane per node and one for the grader's client, so a student sees the sequence
behind "failover 9.2 s": token lost, node fenced, resources started, the client answered again."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

from graders.timeline import GRADER, recorded
from halab.course.widgets.common import figure_png

COLOURS = {"fail": "#cf222e", "lost": "#cf222e", "down": "#cf222e", "not answer": "#cf222e", "fenc": "#9a6700",
           "start": "#1a7f37", "answered": "#1a7f37", "answers": "#1a7f37", "migrat": "#8250df", "joined": "#0969da",
           "up": "#0969da"}


def _colour(event: str) -> str:
    return next((colour for word, colour in COLOURS.items() if word in event), "#57606a")


def timeline_png(timeline: Sequence[Mapping[str, Any]], title: str) -> bytes:
    """A PNG of one fault check's timeline: time from the fault on x, one row per event (in time order, labelled
    with its node), so that events a few tenths of a second apart stay readable."""
    from matplotlib.figure import Figure  # about 0.4 s to import: only when there is a timeline to draw

    events = recorded(list(timeline))
    fig = Figure(figsize=(9, 1.0 + 0.28 * max(len(events), 1)))
    axes = fig.add_subplot()
    for row, event in enumerate(events):
        axes.plot([event["t"]], [row], "o", color=_colour(event["event"]))
        axes.plot([0, event["t"]], [row, row], color="#d0d7de", linewidth=0.8, zorder=0)
    axes.axvline(0, color="#cf222e", linewidth=1, linestyle="--")
    labels = [f"{e['node']}: {e['event']}" if e["node"] != GRADER else f"(grader) {e['event']}" for e in events]
    axes.set_yticks(range(len(events)), labels, fontsize=7)
    axes.set_ylim(len(events) - 0.5, -0.5)
    axes.set_xlabel("seconds from the fault (dashed line)")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    return figure_png(fig)


def timelines_html(report: Mapping[str, Any]) -> str:
    """An image per fault check of the report that has a timeline ("" when none has)."""
    parts = []
    for check in report.get("checks", []) if isinstance(report.get("checks"), list) else []:
        if isinstance(check, Mapping) and check.get("fault") and recorded(check.get("timeline")):
            title = f"What happened during: {check.get('title', check.get('id', ''))}"
            png = base64.b64encode(timeline_png(check["timeline"], str(title))).decode()
            parts.append(f"<div class='halab-timeline'><img alt='{html.escape(str(title), quote=True)}' "
                         f"src='data:image/png;base64,{png}' style='max-width:100%'></div>")
    return "".join(parts)
