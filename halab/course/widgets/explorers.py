"""Smaller topic widgets: DRBD protocols, an infrastructure availability chain, live-migration pre-copy."""

from __future__ import annotations

import ipywidgets as w

from halab.course import hamath, replmath
from halab.course.widgets.common import CourseWidget, figure_png, live, message_html, number_text, table_html


class _Form(CourseWidget):
    """Inputs on top, an HTML result below; every input change recomputes through `compute`."""

    def __init__(self, rows: list[list[w.Widget]], extra: list[w.Widget] | None = None) -> None:
        self.out = w.HTML()
        self.widget = w.VBox([*[w.HBox(row) for row in rows], self.out, *(extra or [])])
        live(self.out, [control for row in rows for control in row], self.compute)

    def compute(self) -> str:
        raise NotImplementedError


class DrbdProtocols(_Form):
    def __init__(self) -> None:
        # Not the numbers of notebook 4's graded question 1: the widget would show its answer.
        self.local = number_text(0.1, "Local disk write (ms)")
        self.rtt = number_text(0.3, "Network round trip (ms)")
        self.remote = number_text(0.1, "Peer disk write (ms)")
        super().__init__([[self.local, self.rtt, self.remote]])

    def compute(self) -> str:
        infos = [
            replmath.drbd_write(p, self.local.value, self.rtt.value, self.remote.value) for p in replmath.PROTOCOLS
        ]
        rows = [(i.protocol, f"{i.latency_ms:.2f} ms", i.acknowledged_when, i.lost_on_primary_crash) for i in infos]
        return table_html(["Protocol", "Write latency", "The write completes when", "A primary crash loses"], rows)


class InfrastructureChain(_Form):
    """Power, network, load balancer, servers, storage: every stage must work, each may be redundant."""

    STAGES = [("Power feed", 99.9, 1), ("Network switch", 99.95, 1), ("Load balancer", 99.9, 1),
              ("Web server", 99.5, 2), ("Storage", 99.9, 1)]  # fmt: skip

    def __init__(self) -> None:
        self.inputs = [
            (number_text(percent, f"{name} (%)", width="230px"), w.IntSlider(count, 1, 4, description="copies"))
            for name, percent, count in self.STAGES
        ]
        self.plot = w.Image(format="png", layout=w.Layout(width="520px"))
        super().__init__([list(pair) for pair in self.inputs], extra=[self.plot])

    def compute(self) -> str:
        stages = [(box.value, slider.value) for box, slider in self.inputs]
        total, per_stage = hamath.chain(stages)
        weakest = min(range(len(per_stage)), key=per_stage.__getitem__)
        self.plot.value = _chain_plot([name for name, _, _ in self.STAGES], per_stage, weakest)
        return message_html(
            f"End to end: {total:.4f} %, about {hamath.format_duration(hamath.downtime_seconds(total))} "
            f"down per year. The weakest link is the {self.STAGES[weakest][0].lower()}: make it redundant "
            "first.",
            "info",
        )


def _chain_plot(names: list[str], per_stage: list[float], weakest: int) -> bytes:
    # matplotlib takes about 0.4 s to import: only when a plot is drawn, not when the widgets load.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.6))
    ax = fig.add_subplot()
    downtime_h = [hamath.downtime_seconds(a) / 3600 for a in per_stage]
    colors = ["#b42318" if i == weakest else "#175cd3" for i in range(len(names))]
    ax.barh(names, downtime_h, color=colors)
    ax.invert_yaxis()
    ax.set_xlabel("expected downtime per year (hours)")
    ax.grid(axis="x", alpha=0.3)
    return figure_png(fig)


class MigrationEstimator(_Form):
    def __init__(self) -> None:
        self.memory = number_text(4096.0, "Guest RAM (MiB)")
        self.dirty = number_text(50.0, "Dirtied (MiB/s)")
        self.bandwidth = number_text(110.0, "Link (MiB/s)")
        self.downtime = number_text(300.0, "Max downtime (ms)")
        super().__init__([[self.memory, self.dirty], [self.bandwidth, self.downtime]])

    def compute(self) -> str:
        plan = replmath.live_migration(self.memory.value, self.dirty.value, self.bandwidth.value, self.downtime.value)
        rows: list[tuple[int | str, str, str]] = [(r.number, f"{r.sent_mib:.0f} MiB", f"{r.seconds:.2f} s")
                                                  for r in plan.rounds[:8]]
        if len(plan.rounds) > 8:
            rows.append(("...", f"{len(plan.rounds) - 8} more rounds", ""))
        if plan.converged:
            verdict = message_html(
                f"Converges after {len(plan.rounds)} round(s): {plan.total_s:.1f} s in total, the guest pauses "
                f"for about {plan.downtime_ms:.0f} ms.",
                "ok",
            )
        else:
            verdict = message_html(
                "Does not converge: the guest dirties memory about as fast as the link copies it. Real "
                "hypervisors then slow the guest down (auto-converge), allow a longer pause, or give up.",
                "bad",
            )
        return table_html(["Round", "Copied", "Time"], rows) + verdict


def drbd_protocols() -> DrbdProtocols:
    return DrbdProtocols()


def infrastructure_chain() -> InfrastructureChain:
    return InfrastructureChain()


def migration_estimator() -> MigrationEstimator:
    return MigrationEstimator()
