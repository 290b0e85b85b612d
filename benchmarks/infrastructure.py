"""Infrastructure lab figures: failover after a power loss with Corosync's default timeouts vs the tuned ones
(median of 5 each), and how long Corosync takes to notice a cut ring (median of 5).

    sudo .venv/bin/python benchmarks/infrastructure.py [--rounds 5]

Run as root with no other lab busy (the figures are times on this machine). The lab is brought up, solved,
measured and taken down again.
"""

from __future__ import annotations

import argparse
import statistics
import time

from graders.clustering.faults import service_recovery
from graders.infrastructure.faults import _link_down, _link_up, _links
from halab.lab import Lab
from halab.runtime import faults
from solutions import infrastructure
from solutions.clustering import corosync_conf, wait_for_cluster, wait_for_web

DEFAULT_TOTEM = infrastructure.TOTEM.replace("    token: 600\n", "")


def reload_corosync(lab: Lab, totem: str) -> None:
    for node in lab.spec.member_names:
        lab.write_file(node, "/etc/corosync/corosync.conf", corosync_conf(lab.spec, totem))
    for node in lab.spec.member_names:
        lab.run(node, "corosync-cfgtool -R", timeout=30)
    time.sleep(2)
    wait_for_cluster(lab, 2, timeout=120)
    wait_for_web(lab)


def failovers(lab: Lab, rounds: int) -> list[float]:
    figures = []
    for _ in range(rounds):
        recovery = service_recovery(lab, lambda _m: None, lambda node: faults.power_off(lab, node), "powering off",
                                    120)
        assert recovery is not None and recovery.seconds is not None, recovery
        figures.append(recovery.seconds)
        wait_for_cluster(lab, 2, timeout=180)
        wait_for_web(lab)
    return figures


def link_notice(lab: Lab, rounds: int) -> list[float]:
    figures = []
    for _ in range(rounds):
        started = time.monotonic()
        faults.cut_link(lab, "node1", "ring0")
        while not _link_down(_links(lab, "node2"), 0):
            time.sleep(0.05)
        figures.append(round(time.monotonic() - started, 2))
        faults.restore(lab, "node1")
        while not _link_up(_links(lab, "node2"), 0):
            time.sleep(0.2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    lab = Lab("infrastructure")
    lab.up()
    try:
        infrastructure.solve(lab, lambda _m: None)
        tuned = failovers(lab, rounds)
        print(f"tuned failovers: {tuned}", flush=True)
        notice = link_notice(lab, rounds)
        print(f"ring0 cut noticed: {notice}", flush=True)
        reload_corosync(lab, DEFAULT_TOTEM)
        default = failovers(lab, rounds)
    finally:
        lab.down()
    for name, figures in (("failover, tuned (token 600 ms)", tuned), ("failover, defaults (token 3000 ms)", default),
                          ("ring0 cut noticed by corosync-cfgtool", notice)):
        print(f"{name}: median {statistics.median(figures):.1f} s  (all: {', '.join(f'{f:g}' for f in figures)})")


if __name__ == "__main__":
    main()
