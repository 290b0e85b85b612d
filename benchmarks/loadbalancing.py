"""The load-balancing lab: time to SSH-ready and memory per idle node (fresh, and solved with HAProxy and
keepalived running), then the virtual IP's takeover after the master's HAProxy dies and after the master loses
power (median of 5 each, measured by the lab's own fault checks from the client), with the requests that failed
meanwhile (one request every 0.2 s, each given 1.5 s at most).

Run as root with no loadbalancing lab up, under the global lock so that no other lab competes for the CPU:

    flock /tmp/halab-labs.lock .venv/bin/python -m benchmarks.loadbalancing [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.lab_up import memory_mib
from graders.collect import collect_raw
from graders.facts import LabFacts
from graders.loadbalancing import faults, live
from halab.image.build import build_image
from halab.lab import Lab
from halab.runtime.state import load_state
from solutions import solve

LAB = "loadbalancing"


def idle_memory(lab: Lab, label: str) -> None:
    for node in lab.nodes:
        lab.run(node.name, "systemctl is-system-running --wait", timeout=120)
    time.sleep(5)  # let boot-time jobs settle: "idle" means idle
    pids = load_state(LAB).provider_data["pids"]
    for node, pid in pids.items():
        rss, pss = memory_mib(pid)
        print(f"  {label} {node}: RSS {rss:.0f} MiB, PSS {pss:.0f} MiB")


def summary(name: str, values: list[float | None], failed: list[int], sent: list[int]) -> None:
    measured = [v for v in values if v is not None]
    median = f"{statistics.median(measured):.1f} s" if measured else "none"
    print(f"{name}: median {median} (runs: {values}); failed requests: {failed} of {sent}")


def repeat(runs: int, measure: Callable[[], tuple[float | None, int, int]]) -> tuple[list, list, list]:
    seconds, failed, sent = [], [], []
    for _ in range(runs):
        value, lost, total = measure()
        seconds.append(value)
        failed.append(lost)
        sent.append(total)
    return seconds, failed, sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build_image()  # the figures are for a cached image
    lab = Lab(LAB)
    started = time.monotonic()
    lab.up()
    print(f"{LAB}: {len(lab.spec.nodes)} nodes up to SSH-ready in {time.monotonic() - started:.1f} s")
    try:
        idle_memory(lab, "fresh")
        solve(lab)
        idle_memory(lab, "solved")
        facts = LabFacts.from_raw(lab.spec, collect_raw(lab))

        def haproxy_dies() -> tuple[float | None, int, int]:
            measured = faults.haproxy_failure(lab, facts, lambda _m: None).measurements
            return (measured["haproxy_kill_takeover_seconds"], measured["haproxy_kill_failed_requests"],
                    measured["haproxy_kill_requests"])

        def power_off() -> tuple[float | None, int, int]:
            cycle = faults.power_cycle(lab, lambda _m: None)
            assert cycle is not None, f"not exactly one holder of the virtual IP: {live.holders(lab)}"
            return cycle.takeover_seconds, cycle.failed, cycle.sent

        summary("takeover after HAProxy dies on the master", *repeat(args.runs, haproxy_dies))
        summary("takeover after the master loses power", *repeat(args.runs, power_off))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
