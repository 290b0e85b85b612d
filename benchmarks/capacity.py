"""How many users' labs this host holds: K users bring up their own clustering lab at once through the lab
service, each solves it and grades it (fault check included).

    sudo .venv/bin/python benchmarks/capacity.py [--users 1 2 5 10]

Reports for each K: the time until every lab is SSH-ready, the memory per lab (RSS and PSS of its nodes),
the grading time per lab, how many labs were healthy (every check of the solved lab passing) and the host's
peak load and memory; then the largest K with every lab healthy. Run as root with no other lab busy. The
users are made for the run (Unix accounts halab-cap<N>) and removed afterwards, with their labs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.lab_up import memory_mib  # noqa: E402
from halab.runtime.state import lab_states  # noqa: E402
from tests.support.users import User, lab_service, made_users  # noqa: E402


def one_lab(user: User) -> dict[str, float | bool | str]:
    """Up, solve and grade the user's lab; what it took."""
    started = time.monotonic()
    try:  # an `up` may wait its turn in the service's boot queue behind K-1 others
        up = user.halab("up", "clustering", "--json", timeout=2400)
        ready = time.monotonic() - started
        if up.returncode != 0:
            return {"ready": ready, "healthy": False, "problem": up.stderr.strip()[-200:]}
        solved = user.halab("solve", "clustering", timeout=900)
        started = time.monotonic()
        graded = user.halab("check", "clustering", "--json", timeout=1200)
        grading = time.monotonic() - started
    except subprocess.TimeoutExpired as exc:  # one stuck lab is a figure, not the end of the run
        return {"ready": time.monotonic() - started, "healthy": False, "problem": f"timed out: {exc.cmd[-3:]}"}
    report = json.loads(graded.stdout) if graded.stdout.strip().startswith("{") else {}
    failed = [c["id"] for c in report.get("checks", []) if not c["passed"]]
    return {"ready": ready, "grading": grading, "healthy": solved.returncode == 0 and bool(report) and not failed,
            "problem": solved.stderr.strip()[-200:] if solved.returncode else ", ".join(failed)}


def lab_memory(user: User) -> tuple[float, float] | None:
    readable, _ = lab_states()
    state = next((s for s in readable.values() if (s.owner or {}).get("uid") == user.uid), None)
    if state is None:
        return None
    totals = [memory_mib(pid) for pid in state.provider_data.get("pids", {}).values()]
    return sum(r for r, _ in totals), sum(p for _, p in totals)


class HostLoad:
    """The host's 1-minute load average and used memory, sampled every 5 s while the labs run: the peaks."""

    def __init__(self) -> None:
        self.load = 0.0
        self.used_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.load = max(self.load, os.getloadavg()[0])
            info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
            used = int(info["MemTotal"].split()[0]) - int(info["MemAvailable"].split()[0])
            self.used_mib = max(self.used_mib, used / 1024)

    def __enter__(self) -> HostLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run(count: int, socket: Path) -> bool:
    with made_users(count, socket) as users, HostLoad() as host:
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=count) as pool:
                results = list(pool.map(one_lab, users))
            total = time.monotonic() - started
            memory = [m for u, r in zip(users, results, strict=True) if r["healthy"] and (m := lab_memory(u))]
        finally:
            for user in users:  # whatever happened: the users go with made_users, their labs go here
                user.halab("down", "clustering")
    healthy = sum(bool(r["healthy"]) for r in results)
    ready = max(float(r["ready"]) for r in results)
    grading = [float(r["grading"]) for r in results if "grading" in r]
    rss = statistics.mean(m[0] for m in memory) if memory else 0.0
    pss = statistics.mean(m[1] for m in memory) if memory else 0.0
    print(f"K={count:2d}: all SSH-ready after {ready:5.1f} s; memory per solved lab {rss:5.0f} MiB RSS, "
          f"{pss:5.0f} MiB PSS; grading per lab median {statistics.median(grading) if grading else 0:5.1f} s; "
          f"{healthy}/{count} labs healthy; {total:.0f} s in all; host peaks: load {host.load:.1f} "
          f"({os.cpu_count()} cores), {host.used_mib:.0f} MiB used", flush=True)
    for result in results:
        if not result["healthy"]:
            print(f"       unhealthy: {result['problem']}", flush=True)
    return healthy == count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 2, 5, 10])
    counts = parser.parse_args().users
    largest = 0
    with lab_service("[defaults]\nlabs = 1\nnodes = 2\n") as socket:
        for count in counts:
            if run(count, socket):
                largest = max(largest, count)
    print(f"largest K with every lab healthy: {largest} (of {', '.join(map(str, counts))} tried)")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as exc:  # a precondition the test helpers check (users who cannot run this Python)
        sys.exit(f"capacity.py: {exc}")
