"""Infrastructure lab: what a fence delay costs and what it buys (the trade-off notebook 5 teaches).

For each priority-fencing-delay (the node running the service wins a fence race; every failover of that node
waits the delay too), with the token the lab is solved with (600 ms):

- the failover after a power loss of the node running the service (median of the rounds), and
- the fence race when both rings of the other node are cut, in its hard case: the node that must lose is the
  DC (it decides at once), the winner first has to elect itself. The margin is how long before the loser's
  delayed shot would have fired the winner's shot had landed (from the two nodes' pacemaker.log: the loser's
  "Delaying 'reboot' ... for Ns" plus N, minus the winner's "Operation 'reboot' ... returned 0").

    sudo .venv/bin/python benchmarks/fence_delay.py [--rounds 3] [--delays 1,2]

Run as root under the lab lock, no other lab busy (the figures are times on this machine). The lab is brought
up, solved with the reference solution, measured and taken down again.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import datetime

from benchmarks.infrastructure import failovers
from graders.clustering.faults import ip_holder
from graders.faults import cluster_status
from graders.infrastructure.faults import _boot_mark
from halab import faults
from halab.lab import Lab
from solutions import infrastructure
from solutions.clustering import wait_for_cluster, wait_for_web
from solutions.common import must, wait_until

LOG = "/var/log/pacemaker/pacemaker.log"
STAMP = re.compile(r"^(\w{3} \d\d \d\d:\d\d:\d\d\.\d{3}) ")


def _time(line: str) -> float:
    """A pacemaker.log time stamp ("Dec 06 09:29:53.642"), as seconds of the day (the lab spans no midnight)."""
    match = STAMP.match(line)
    if not match:
        raise ValueError(f"no time stamp in: {line[:80]}")
    stamp = datetime.strptime(match[1], "%b %d %H:%M:%S.%f")
    return stamp.hour * 3600 + stamp.minute * 60 + stamp.second + stamp.microsecond / 1e6


def _last(lab: Lab, node: str, pattern: str, since: float) -> float | None:
    """The time of the last line matching ``pattern`` logged after ``since`` (seconds of the day)."""
    lines = lab.run(node, f"grep -E {pattern!r} {LOG}", timeout=30).stdout.splitlines()
    times = [t for t in (_time(line) for line in lines if STAMP.match(line)) if t >= since]
    return times[-1] if times else None


def _now(lab: Lab, node: str) -> float:
    hours, minutes, seconds = lab.run(node, "date +%H:%M:%S.%N").stdout.strip().split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def set_delay(lab: Lab, seconds: float) -> None:
    must(lab, lab.spec.member_names[0], f"crm configure property priority-fencing-delay={seconds:g}s")


def dc(lab: Lab) -> str | None:
    status = cluster_status(lab, lab.spec.member_names[0])
    return status.dc if status else None


def race(lab: Lab, delay: float) -> dict[str, object]:
    """One fence race in its hard case; the margin by which the service's node won, or who was fenced."""
    members = lab.spec.member_names
    holder = ip_holder(lab)
    leader = dc(lab)
    if holder is None or leader is None:
        raise RuntimeError(f"no service holder ({holder}) or DC ({leader})")
    if holder == leader:  # the hard case: the loser is the DC; move the service to the other node
        other = next(n for n in members if n != leader)
        must(lab, members[0], f"crm resource move web {other} && sleep 8 && crm resource clear web")
        wait_until("the service to move", lambda: ip_holder(lab) == other, timeout=60)
        holder = other
    loser = next(n for n in members if n != holder)
    marks = {n: _boot_mark(lab, n) for n in members}
    started = _now(lab, holder)
    faults.drop_traffic(lab, loser, [str(lab.spec.node(holder).addresses[net]) for net in ("ring0", "ring1")])
    try:
        wait_until("a node to be fenced", lambda: any(_boot_mark(lab, n) != m for n, m in marks.items()),
                   timeout=60, interval=0.5)
        time.sleep(4)
        fenced = [n for n, m in marks.items() if _boot_mark(lab, n) != m]
    finally:
        for node in members:
            faults.restore(lab, node)
    wait_for_cluster(lab, 2, timeout=240)
    wait_for_web(lab)
    landed = _last(lab, holder, f"Operation 'reboot' \\[[0-9]+\\] targeting {loser} using .* returned 0", started)
    delayed = _last(lab, loser, f"Delaying 'reboot' action targeting {holder}", started)
    # No "Delaying" line: the loser was powered off before it even scheduled its shot.
    margin = round(delayed + delay - landed, 2) if landed is not None and delayed is not None else None
    return {"winner": holder, "loser_was_dc": loser == leader, "fenced": fenced, "margin_s": margin,
            "loser_scheduled_its_shot": delayed is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delays", default="1,2")
    args = parser.parse_args()
    delays = [float(d) for d in args.delays.split(",")]
    lab = Lab("infrastructure")
    lab.up()
    results = {}
    try:
        infrastructure.solve(lab, lambda _m: None)
        for delay in delays:
            set_delay(lab, delay)
            times = failovers(lab, args.rounds)
            races = [race(lab, delay) for _ in range(args.rounds)]
            results[delay] = (times, races)
            print(f"priority-fencing-delay {delay:g}s: failovers {times}; races {races}", flush=True)
    finally:
        lab.down()
    for delay, (times, races) in results.items():
        margins = [r["margin_s"] for r in races if r["margin_s"] is not None]
        both = sum(1 for r in races if len(r["fenced"]) > 1)  # type: ignore[arg-type]
        print(f"priority-fencing-delay {delay:g}s (token 600 ms): failover median {statistics.median(times):.1f} s "
              f"(all: {', '.join(f'{t:g}' for t in times)}); fence race won by "
              f"{', '.join(f'{m:g}' for m in margins) or '?'} s; both nodes fenced in {both} of {len(races)}")


if __name__ == "__main__":
    main()
