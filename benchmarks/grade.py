"""Grading speed on the solved clustering lab: a full check without faults, `halab check --no-faults` as a
command, grading an evidence file, and the failover time.

Run as root with no lab up:  .venv/bin/python benchmarks/grade.py [--failovers N]
Goal: a full check without faults in <= 1 s. Also printed: how many times one `halab check` reads a spec's
TOML, parses a spec and builds the facts (once each at most), and how long grading an evidence file takes,
in a warm process (each lab cell of an autograded notebook after the first) and in a fresh one (the first
cell: imports included).
The failover is measured by the fault check (power off the node holding the floating IP until the page
answers from the other node); --failovers 0 skips it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graders.evidence import grade_evidence, save_evidence
from graders.facts import LabFacts
from graders.live import grade_live
from halab.command.cli import main as halab_main
from halab.lab import Lab
from halab.spec import LabSpec, load_spec
from solutions import solve

LAB = "clustering"


def _figures(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, {len(times)} runs)"


def _timed(action: Callable[[], Any], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
    return times


def _reads_of_one_check() -> dict[str, int]:
    """What one `halab check LAB --no-faults --json`, run in this process, does more than once or not: spec
    TOML files read, specs parsed (LabSpec made), lab facts built from the raw output."""
    counts = {"spec TOML reads": 0, "spec parses": 0, "facts built": 0}
    real_loads, real_init, real_from_raw = tomllib.loads, LabSpec.__init__, LabFacts.from_raw.__func__

    def loads(text: str, **kwargs: Any) -> dict[str, Any]:
        if "[[nodes]]" in text:  # a lab spec, not another TOML file (layers, quotas)
            counts["spec TOML reads"] += 1
        return real_loads(text, **kwargs)

    def init(self: LabSpec, *args: Any, **kwargs: Any) -> None:
        counts["spec parses"] += 1
        real_init(self, *args, **kwargs)

    def from_raw(cls: type[LabFacts], *args: Any, **kwargs: Any) -> LabFacts:
        counts["facts built"] += 1
        return real_from_raw(cls, *args, **kwargs)

    tomllib.loads = loads  # type: ignore[assignment]
    LabSpec.__init__ = init  # type: ignore[method-assign]
    LabFacts.from_raw = classmethod(from_raw)  # type: ignore[method-assign, assignment]
    argv = sys.argv
    sys.argv = ["halab", "check", LAB, "--no-faults", "--json"]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
            halab_main()
    finally:
        sys.argv = argv
        tomllib.loads = real_loads  # type: ignore[assignment]
        LabSpec.__init__ = real_init  # type: ignore[method-assign]
        LabFacts.from_raw = classmethod(real_from_raw)  # type: ignore[method-assign, assignment]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failovers", type=int, default=3, help="fault checks to time (0: none)")
    args = parser.parse_args()
    lab = Lab(LAB)
    lab.up()
    try:
        solve(lab)
        report = None

        def check_in_process() -> None:
            nonlocal report
            fresh = Lab(LAB)  # new SSH connections each time, as `halab check` has
            report, _ = grade_live(fresh, faults=False)
            fresh.close()
            assert report.score == report.max_score, report.failed

        times = _timed(check_in_process, 5)
        assert report is not None
        print(f"full check without faults, in process: {_figures(times)}, {len(report.checks)} checks")
        command = [sys.executable, "-m", "halab", "check", LAB, "--no-faults", "--json"]
        times = _timed(lambda: subprocess.run(command, check=True, capture_output=True), 5)
        print(f"`halab check {LAB} --no-faults --json` as a command: {_figures(times)}")
        counts = ", ".join(f"{what} {number}" for what, number in _reads_of_one_check().items())
        print(f"one `halab check {LAB} --no-faults`: {counts}")

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"evidence-{LAB}.json"
            report, raw = grade_live(lab, faults=False)
            save_evidence(path, lab, raw, report)
            spec = load_spec(LAB)
            times = _timed(lambda: grade_evidence(path, spec), 20)
            print(f"grading an evidence file, warm process: {_figures(times)}")
            cold = [sys.executable, "-c", "import sys; from graders.evidence import grade_evidence; "
                    "from halab.spec import load_spec; grade_evidence(sys.argv[1], load_spec(sys.argv[2]))",
                    str(path), LAB]
            times = _timed(lambda: subprocess.run(cold, check=True), 5)
            print(f"grading an evidence file, fresh process (imports included): {_figures(times)}")

        failovers = []
        for _ in range(args.failovers):
            report, _ = grade_live(lab, faults=True)
            failovers.append(report.measurements.get("failover_seconds"))
        if failovers:
            print(f"failover after power loss of the active node: {failovers} s ({len(failovers)} runs)")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
