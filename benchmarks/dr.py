"""dr lab figures: the lab up to SSH-ready, memory per node idle and solved, the reference solution's time, and
the graders' own fault checks run as they grade: the planned switch's outage, and the site loss's RTO (the
client's outage) and RPO (acknowledged commits lost, and the seconds of writes they span).

    sudo HALAB_STATE_DIR=... .venv/bin/python -m benchmarks.dr [--rounds 1]

Run as root with no other lab busy (the figures are times on this machine). The lab is brought up, solved,
measured and taken down again.
"""

from __future__ import annotations

import argparse
import statistics
import time

from benchmarks.lab_up import memory_mib
from graders.collect import collect_raw
from graders.dr import faults
from graders.facts import LabFacts
from halab.lab import Lab
from halab.runtime.state import load_state
from solutions import dr


def memory(lab: Lab) -> dict[str, tuple[float, float]]:
    state = load_state(lab.name)
    return {node: memory_mib(pid) for node, pid in state.provider_data["pids"].items()}


def show_memory(title: str, figures: dict[str, tuple[float, float]]) -> None:
    total = sum(pss for _, pss in figures.values())
    print(f"{title}: PSS {total:.0f} MiB in all; " + ", ".join(f"{n} {pss:.0f}" for n, (_, pss) in figures.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="site losses to measure (each about 3 minutes)")
    args = parser.parse_args()
    lab = Lab("dr")
    started = time.monotonic()
    lab.up()
    print(f"dr: {len(lab.spec.nodes)} nodes up to SSH-ready in {time.monotonic() - started:.1f} s")
    try:
        for node in lab.nodes:
            lab.run(node.name, "systemctl is-system-running --wait", timeout=120)
        time.sleep(5)
        show_memory("idle", memory(lab))
        started = time.monotonic()
        dr.solve(lab, lambda _m: None)
        print(f"reference solution: {time.monotonic() - started:.0f} s")
        time.sleep(10)
        show_memory("solved", memory(lab))
        facts = LabFacts.from_raw(lab.spec, collect_raw(lab))
        switch = faults.planned_switch(lab, facts, lambda _m: None)
        print(f"planned switch: {switch.measurements.get('planned_switch_seconds')} s, "
              f"{switch.measurements.get('planned_switch_lost')} commits lost ({switch.verdict.feedback[:90]})")
        rto, rpo, lost = [], [], []
        for _ in range(args.rounds):
            outcome = faults.site_loss(lab, facts, lambda _m: None)
            measured = outcome.measurements
            print(f"site loss: RTO {measured.get('rto_seconds')} s, RPO {measured.get('rpo_seconds')} s "
                  f"({measured.get('rpo_commits')} of {measured.get('commits_before_loss')} commits)")
            if measured.get("rto_seconds") is not None:
                rto.append(measured["rto_seconds"])
                rpo.append(measured["rpo_seconds"])
                lost.append(measured["rpo_commits"])
        if rto:
            print(f"site loss, median of {len(rto)}: RTO {statistics.median(rto)} s, RPO {statistics.median(rpo)} s, "
                  f"{statistics.median(lost)} commits lost")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
