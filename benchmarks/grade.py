"""Full check of the solved clustering lab without faults (median of 5), and the failover time.

Run as root with no lab up:  .venv/bin/python benchmarks/grade.py
Goal: a full check without faults in <= 1 s. The failover is measured by the fault check (power off the node
holding the floating IP until the page answers from the other node).
"""

from __future__ import annotations

import statistics
import time

from graders.live import grade_live
from halab.lab import Lab
from solutions import solve


def main() -> None:
    lab = Lab("clustering")
    lab.up()
    try:
        solve(lab)
        times = []
        for _ in range(5):
            fresh = Lab("clustering")  # new SSH connections each time, as `halab check` has
            started = time.monotonic()
            report, _ = grade_live(fresh, faults=False)
            times.append(time.monotonic() - started)
            fresh.close()
            assert report.score == report.max_score, report.failed
        print(f"full check without faults: median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, 5 runs, {len(report.checks)} checks)")
        failovers = []
        for _ in range(3):
            report, _ = grade_live(lab, faults=True)
            failovers.append(report.measurements.get("failover_seconds"))
        print(f"failover after power loss of the active node: {failovers} s (3 runs)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
