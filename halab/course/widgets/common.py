"""Pieces every course widget shares: message boxes, HTML tables, and the guard that keeps tracebacks out.

Widgets run callbacks on every slider move; an exception there would print a traceback into the notebook
(or vanish into the browser console). `guarded` turns InputError into the widget's own message and any other
error into a one-line report, so a student always sees a sentence, never a stack.
"""

from __future__ import annotations

import functools
import html
import io
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ipywidgets as w

from halab.course.hamath import InputError

F = TypeVar("F", bound=Callable[..., Any])

COLORS = {"ok": "#1b7f3b", "bad": "#b42318", "warn": "#a15c00", "info": "#175cd3"}
BACKGROUNDS = {"ok": "#ecfdf3", "bad": "#fef3f2", "warn": "#fffaeb", "info": "#eff8ff"}


def message_html(text: str, kind: str = "info", title: str = "") -> str:
    """A coloured box; text is escaped, so student input shown in it cannot inject markup."""
    heading = f"<b>{html.escape(title)}</b> " if title else ""
    return (
        f'<div class="halab-msg halab-{kind}" style="border-left:4px solid {COLORS[kind]};'
        f'background:{BACKGROUNDS[kind]};padding:6px 10px;margin:4px 0;color:#1d2939">'
        f"{heading}{html.escape(text)}</div>"
    )


def feedback_html(correct: bool, message: str, well_formed: bool = True) -> str:
    kind = "ok" if correct else ("bad" if well_formed else "warn")
    title = "✔" if correct else ("✘" if well_formed else "?")
    return message_html(message, kind, title)


def table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw_columns: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped except in raw_columns (which callers fill with markup they built)."""
    head = "".join(f'<th style="text-align:left;padding:3px 8px">{html.escape(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td style="padding:3px 8px;vertical-align:top">'
            f"{cell if i in raw_columns else html.escape(str(cell))}</td>"
            for i, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="halab-table" style="border-collapse:collapse;margin:4px 0">'
        f'<thead><tr style="border-bottom:1px solid #98a2b3">{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def badge(text: str, kind: str) -> str:
    return (
        f'<span style="background:{BACKGROUNDS[kind]};color:{COLORS[kind]};border-radius:3px;'
        f'padding:0 5px;font-weight:bold">{html.escape(text)}</span>'
    )


def guarded(output: w.HTML) -> Callable[[F], F]:
    """Decorate a widget callback so errors land in `output` as a message instead of a traceback."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except InputError as exc:
                output.value = message_html(str(exc), "bad", "Check the input:")
            except Exception as exc:  # noqa: BLE001 - a widget must never show a traceback
                output.value = message_html(f"{type(exc).__name__}: {exc}", "bad", "Something went wrong:")
            return None

        return wrapper  # type: ignore[return-value]

    return decorate


def number_text(value: float, description: str, width: str = "260px") -> w.FloatText:
    """A number box; FloatText lets students type anything, and the callbacks validate it."""
    return w.FloatText(
        value=value,
        description=description,
        style={"description_width": "initial"},
        layout=w.Layout(width=width),
    )


def title_html(text: str) -> w.HTML:
    return w.HTML(f"<h4 style='margin:4px 0'>{html.escape(text)}</h4>")


class CourseWidget:
    """Base for the course widgets: holds the root ipywidget and displays as it in a notebook."""

    widget: w.Widget

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def figure_png(fig: Any) -> bytes:
    """Render a matplotlib Figure to PNG bytes for a w.Image; no pyplot, so no global figure state."""
    # matplotlib takes about 0.4 s to import: only when a plot is drawn, not when the widgets load.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    return buffer.getvalue()


def live(out: w.HTML, controls: Sequence[w.Widget], render: Callable[[], str]) -> Callable[..., None]:
    """Fill `out` with render()'s HTML now and whenever one of the controls changes.

    render raises InputError for impossible input; `guarded` turns that into the message shown instead.
    Returns the update function, for callers that must trigger it themselves.
    """

    @guarded(out)
    def update(change: Any = None) -> None:
        out.value = render()

    for control in controls:
        control.observe(update, names="value")
    update()
    return update
