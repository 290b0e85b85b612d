"""Availability calculator: nines <-> downtime, MTBF/MTTR -> availability, series vs parallel with a plot."""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as w

from halab.course import hamath
from halab.course.widgets.common import (
    CourseWidget,
    figure_png,
    live,
    message_html,
    number_text,
    table_html,
)

PERIOD_LABELS = {"year": "per year", "month": "per month", "week": "per week", "day": "per day"}
UNITS_IN_SECONDS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0}


def _nines_text(percent: float) -> str:
    count = hamath.nines(percent)
    return "infinitely many nines (no downtime at all)" if math.isinf(count) else f"{count:.2f} nines"


class AvailabilityCalculator(CourseWidget):
    """Three tabs. Each input change recomputes its tab; bad values show a message in the tab."""

    def __init__(self, percent: float = 99.9) -> None:
        self._syncing = False  # set while one input updates its twin, so the twin's callback stays quiet
        self.widget = w.Tab(children=[self._nines_tab(percent), self._mtbf_tab(), self._redundancy_tab()])
        for index, title in enumerate(["Nines ↔ downtime", "MTBF & MTTR", "Series vs parallel"]):
            self.widget.set_title(index, title)

    # --- nines <-> downtime -------------------------------------------------------------------------
    def _nines_tab(self, percent: float) -> w.Widget:
        self.percent = number_text(percent, "Availability (%)")
        self.nines_slider = w.FloatSlider(
            value=hamath.nines(percent),
            min=1.0,
            max=6.0,
            step=0.1,
            description="Nines",
            readout_format=".1f",
            continuous_update=True,
            layout=w.Layout(width="420px"),
        )
        self.downtime_out = w.HTML()
        self.allowed = number_text(60.0, "Allowed downtime")
        self.allowed_unit = w.Dropdown(options=list(UNITS_IN_SECONDS), value="minutes", layout=w.Layout(width="110px"))
        self.allowed_period = w.Dropdown(options=list(PERIOD_LABELS), value="year", layout=w.Layout(width="110px"))
        self.reverse_out = w.HTML()
        live(self.downtime_out, [self.percent], self._downtime_html)
        self.nines_slider.observe(self._on_nines, names="value")
        live(self.reverse_out, [self.allowed, self.allowed_unit, self.allowed_period], self._allowed_html)
        return w.VBox(
            [
                w.HBox([self.percent, self.nines_slider]),
                self.downtime_out,
                w.HTML("<b>The other way round:</b> how available must a service be to stay within a budget?"),
                w.HBox([self.allowed, self.allowed_unit, w.Label("per"), self.allowed_period]),
                self.reverse_out,
            ]
        )

    def _downtime_html(self) -> str:
        percent = self.percent.value
        rows = [(PERIOD_LABELS[p], hamath.format_duration(s)) for p, s in hamath.downtime_table(percent).items()]
        if not self._syncing and 1.0 <= hamath.nines(percent) <= 6.0:
            self._syncing = True
            self.nines_slider.value = round(hamath.nines(percent), 1)
            self._syncing = False
        return message_html(f"{percent:g} % is {_nines_text(percent)}.", "info") + table_html(
            ["Allowed downtime", ""], rows
        )

    def _on_nines(self, change: Any = None) -> None:
        if self._syncing:
            return
        self._syncing = True
        # Rounded so that 3 nines shows as 99.9, not 99.90000000000001.
        self.percent.value = round(hamath.availability_from_nines(self.nines_slider.value), 6)
        self._syncing = False

    def _allowed_html(self) -> str:
        amount = hamath.check_positive(self.allowed.value, "allowed downtime", allow_zero=True)
        seconds = amount * UNITS_IN_SECONDS[self.allowed_unit.value]
        percent = hamath.availability_from_downtime(seconds, self.allowed_period.value)
        return message_html(
            f"At most {hamath.format_duration(seconds)} down {PERIOD_LABELS[self.allowed_period.value]} "
            f"needs an availability of {percent:.5f} % ({_nines_text(percent)}).",
            "info",
        )

    # --- MTBF & MTTR ----------------------------------------------------------------------------------
    def _mtbf_tab(self) -> w.Widget:
        self.mtbf = number_text(2000.0, "MTBF (hours)")
        self.mttr = number_text(4.0, "MTTR (hours)")
        self.mtbf_out = w.HTML()
        live(self.mtbf_out, [self.mtbf, self.mttr], self._mtbf_html)
        return w.VBox([w.HBox([self.mtbf, self.mttr]), self.mtbf_out])

    def _mtbf_html(self) -> str:
        percent = hamath.availability_from_mtbf(self.mtbf.value, self.mttr.value)
        faster = hamath.availability_from_mtbf(self.mtbf.value, self.mttr.value / 2)
        return message_html(
            f"Availability = MTBF / (MTBF + MTTR) = {percent:.4f} % ({_nines_text(percent)}), "
            f"about {hamath.format_duration(hamath.downtime_seconds(percent))} down per year. "
            f"Halving the repair time would give {faster:.4f} %.",
            "info",
        )

    # --- series vs parallel ---------------------------------------------------------------------------
    def _redundancy_tab(self) -> w.Widget:
        self.component = number_text(99.0, "Each component (%)")
        self.count = w.IntSlider(value=2, min=1, max=6, description="Components")
        self.redundancy_out = w.HTML()
        self.plot = w.Image(format="png", layout=w.Layout(width="560px"))
        live(self.redundancy_out, [self.component, self.count], self._redundancy_html)
        return w.VBox([w.HBox([self.component, self.count]), self.redundancy_out, self.plot])

    def _redundancy_html(self) -> str:
        each, count = self.component.value, self.count.value
        hamath.check_availability(each, "component availability")
        if each in (0.0, 100.0):
            raise hamath.InputError("Pick a component availability strictly between 0 % and 100 %.")
        in_series = hamath.series([each] * count)
        in_parallel = hamath.parallel([each] * count)
        self.plot.value = _redundancy_plot(each, count)
        rows = [
            (f"{count} in series (all needed)", f"{in_series:.6f} %",
             hamath.format_duration(hamath.downtime_seconds(in_series))),
            (f"{count} in parallel (any one is enough)", f"{in_parallel:.6f} %",
             hamath.format_duration(hamath.downtime_seconds(in_parallel))),
        ]  # fmt: skip
        return table_html(["Layout", "Availability", "Downtime per year"], rows) + message_html(
            "Parallel assumes independent failures and instant, perfect failover: "
            "an upper bound a real cluster does not reach.",
            "warn",
        )


def _redundancy_plot(each: float, count: int) -> bytes:
    """Nines against the number of components: series loses nines, parallel gains them."""
    # matplotlib takes about 0.4 s to import: only when a plot is drawn, not when the widgets load.
    from matplotlib.figure import Figure

    counts = list(range(1, 7))
    # Parallel availability hits 100 % in floating point beyond ~16 nines; cap so the log stays finite.
    series_n = [min(hamath.nines(hamath.series([each] * n)), 15) for n in counts]
    parallel_n = [min(hamath.nines(hamath.parallel([each] * n)), 15) for n in counts]
    fig = Figure(figsize=(6, 3.2))
    ax = fig.add_subplot()
    ax.plot(counts, parallel_n, "o-", color="#1b7f3b", label="parallel (redundant)")
    ax.plot(counts, series_n, "s-", color="#b42318", label="series (chain)")
    ax.axvline(count, color="#98a2b3", linestyle=":")
    ax.set_xlabel("number of components")
    ax.set_ylabel("nines of availability")
    ax.set_title(f"Components of {each:g} % each")
    ax.grid(alpha=0.3)
    ax.legend()
    return figure_png(fig)


def availability_calculator(percent: float = 99.9) -> AvailabilityCalculator:
    return AvailabilityCalculator(percent)
