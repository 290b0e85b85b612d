"""Time from `up` to every node SSH-ready (image cached), and memory per idle node.

Run as root with no lab up:  .venv/bin/python benchmarks/lab_up.py [--runs 5] [--labs clustering,clustering3]
Goals on a 2-core machine: <= 15 s for 2 nodes; <= 150 MB per idle node.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from halab.image.build import build_image
from halab.lab import Lab
from halab.providers.nspawn.provider import _children
from halab.runtime.state import load_state


def descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(_children(current))
    return found


def memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, PSS) in MiB of every process in the node: RSS counts shared pages once per process,
    PSS shares them out fairly; the truth for "what does one more node cost" lies in between."""
    rss = pss = 0
    for proc in descendants(pid):
        try:
            for line in Path(f"/proc/{proc}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024


def measure(lab_name: str, runs: int) -> None:
    times = []
    lab = Lab(lab_name)
    for _ in range(runs):
        started = time.monotonic()
        lab.up()
        times.append(time.monotonic() - started)
        for node in lab.nodes:
            lab.run(node.name, "systemctl is-system-running --wait", timeout=120)
        time.sleep(5)  # let boot-time jobs settle: "idle" means idle
        state = load_state(lab_name)
        memory = [memory_mib(pid) for pid in state.provider_data["pids"].values()]
        lab.down()
    print(f"{lab_name}: {len(lab.spec.nodes)} nodes, up to SSH-ready: median {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}, runs {runs})")
    for rss, pss in memory:
        print(f"  idle node memory: RSS {rss:.0f} MiB, PSS {pss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--labs", default="clustering,clustering3", help="comma-separated labs to measure")
    args = parser.parse_args()
    build_image()  # the goal is for a cached image; make sure it is cached before timing
    for lab_name in args.labs.split(","):
        measure(lab_name, args.runs)


if __name__ == "__main__":
    main()
