"""dr lab figures: the lab up to SSH-ready, memory per node idle and solved, the reference solution's time, and
the graders' own fault checks run as they grade, each timed with its restore: the planned switch's outage, the
WAN cut (when the ticket moved), and the site loss's RTO (the client's outage) and RPO (acknowledged commits
lost, and the seconds of writes they span), with the lost site's return.

    sudo HALAB_STATE_DIR=... .venv/bin/python -m benchmarks.dr [--rounds 1] [--no-faults]

Run as root with no other lab busy (the figures are times on this machine). The lab is brought up, solved,
measured and taken down again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from benchmarks.lab_up import memory_mib
from graders.checks import FaultOutcome
from graders.collect import collect_raw
from graders.dr import faults
from graders.facts import LabFacts
from halab.lab import Lab
from solutions import dr


def memory(lab: Lab) -> dict[str, tuple[float, float]]:
    state = lab.state()
    return {node: memory_mib(pid) for node, pid in state.provider_data["pids"].items()}


def show_memory(title: str, figures: dict[str, tuple[float, float]]) -> None:
    total = sum(pss for _, pss in figures.values())
    print(f"{title}: PSS {total:.0f} MiB in all; " + ", ".join(f"{n} {pss:.0f}" for n, (_, pss) in figures.items()))


def timed(title: str, fault: Callable[[], FaultOutcome]) -> FaultOutcome:
    """Run one fault check and print how long it took with its restore (the lab put back as it was)."""
    started = time.monotonic()
    outcome = fault()
    print(f"{title}: {'passed' if outcome.verdict.passed else 'FAILED'}, {time.monotonic() - started:.0f} s with its "
          f"restore ({outcome.verdict.feedback[:160]})")
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="site losses to measure (each about 2 minutes)")
    parser.add_argument("--no-faults", action="store_true",
                        help="only the lab up, memory idle and solved, and the solution's time (a few minutes)")
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
        if args.no_faults:
            return
        facts = LabFacts.from_raw(lab.spec, collect_raw(lab))
        quiet = lambda _m: None  # noqa: E731
        switch = timed("planned switch", lambda: faults.planned_switch(lab, facts, quiet)).measurements
        print(f"  the client wrote at the other site after {switch.get('planned_switch_seconds')} s, "
              f"{switch.get('planned_switch_lost')} commits lost")
        cut = timed("WAN cut", lambda: faults.wan_cut(lab, facts, quiet)).measurements
        print(f"  the ticket moved after {cut.get('wan_cut_ticket_moved_seconds')} s; both sites at once: "
              f"{cut.get('wan_cut_split')}")
        rto, rpo, lost = [], [], []
        for _ in range(args.rounds):
            measured = timed("site loss", lambda: faults.site_loss(lab, facts, quiet)).measurements
            back = timed("  site return (graded from what site loss saw)",
                         lambda: faults.site_return(lab, facts, quiet)).measurements
            print(f"  RTO {measured.get('rto_seconds')} s, RPO {measured.get('rpo_seconds')} s "
                  f"({measured.get('rpo_commits')} of {measured.get('commits_before_loss')} commits); rebuilt "
                  f"{back.get('return_rebuilt')}")
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
