"""A tiny SVG builder for the course diagrams.

Diagrams are generated as SVG text rather than drawn with matplotlib: they stay sharp at any zoom, need no
plotting backend, render in a few milliseconds, and survive nbgrader's output handling as plain text.
An Svg object displays itself in a notebook through `_repr_svg_`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

PALETTE = {
    "node": "#dbeafe",
    "service": "#dcfce7",
    "storage": "#fef3c7",
    "network": "#ede9fe",
    "danger": "#fee2e2",
    "muted": "#f2f4f7",
    "white": "#ffffff",
}
STROKE = "#344054"


class Svg:
    def __init__(self, width: int, height: int, title: str = "") -> None:
        self.width, self.height = width, height
        self.parts: list[str] = []
        if title:
            self.text(width / 2, 20, title, size=15, weight="bold")

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        label: str = "",
        fill: str = "node",
        sub: str = "",
        dashed: bool = False,
        size: int = 13,
    ) -> Svg:
        """A rounded box with a centred label and an optional smaller second line."""
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.parts.append(
            f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" '
            f'fill="{PALETTE.get(fill, fill)}" stroke="{STROKE}" stroke-width="1.3"{dash}/>'
        )
        if label:
            centre = y + h / 2 + (-4 if sub else 4)
            self.text(x + w / 2, centre, label, size=size, weight="bold")
        if sub:
            self.text(x + w / 2, y + h / 2 + 12, sub, size=size - 2)
        return self

    def circle(self, cx: float, cy: float, r: float, fill: str = "node", label: str = "", size: int = 12) -> Svg:
        self.parts.append(
            f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{PALETTE.get(fill, fill)}" '
            f'stroke="{STROKE}" stroke-width="1.3"/>'
        )
        if label:
            self.text(cx, cy + 4, label, size=size, weight="bold")
        return self

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        color: str = STROKE,
        dashed: bool = False,
        arrow: str = "",
        width: float = 1.5,
    ) -> Svg:
        """arrow: "" (plain), "end", "start" or "both"."""
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        marks = ""
        if arrow in ("end", "both"):
            marks += ' marker-end="url(#arrow)"'
        if arrow in ("start", "both"):
            marks += ' marker-start="url(#arrow-start)"'
        self.parts.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="{width}"{dash}{marks}/>'
        )
        return self

    def text(
        self,
        x: float,
        y: float,
        content: str,
        size: int = 12,
        anchor: str = "middle",
        weight: str = "normal",
        color: str = "#101828",
        italic: bool = False,
    ) -> Svg:
        style = ' font-style="italic"' if italic else ""
        self.parts.append(
            f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}"{style}>{html.escape(content)}</text>'
        )
        return self

    def cross(self, cx: float, cy: float, r: float, color: str = "#b42318") -> Svg:
        """A big X over something that is down or fenced."""
        for dx in (-r, r):
            self.line(cx - dx, cy - r, cx + dx, cy + r, color=color, width=3)
        return self

    def lightning(self, x: float, y1: float, y2: float) -> Svg:
        """A zig-zag through a broken link (a network partition)."""
        step = (y2 - y1) / 6
        points = " ".join(f"{x + (8 if i % 2 else -8)},{y1 + i * step}" for i in range(7))
        self.parts.append(f'<polyline points="{points}" fill="none" stroke="#b42318" stroke-width="3"/>')
        return self

    def render(self) -> str:
        defs = (
            "<defs>"
            '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{STROKE}"/></marker>'
            '<marker id="arrow-start" viewBox="0 0 10 10" refX="1" refY="5" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M10,0 L0,5 L10,10 z" fill="{STROKE}"/></marker>'
            "</defs>"
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" font-family="DejaVu Sans, Arial, sans-serif">'
            f"{defs}{''.join(self.parts)}</svg>"
        )

    def _repr_svg_(self) -> str:
        return self.render()


def row_of_boxes(
    svg: Svg,
    x: float,
    y: float,
    labels: Sequence[str],
    w: float = 110,
    h: float = 44,
    gap: float = 16,
    fill: str = "node",
) -> list[tuple[float, float]]:
    """Boxes side by side; returns the centre-bottom point of each, for drawing links below them."""
    anchors = []
    for i, label in enumerate(labels):
        left = x + i * (w + gap)
        title, _, sub = label.partition("\n")
        svg.box(left, y, w, h, title, fill=fill, sub=sub)
        anchors.append((left + w / 2, y + h))
    return anchors
