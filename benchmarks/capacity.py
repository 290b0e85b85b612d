"""How many users' labs this host holds: K users bring up their own clustering lab at once through the lab
service, each solves it and grades it (fault check included).

    sudo .venv/bin/python benchmarks/capacity.py [--users 1 2 5 10]

Reports for each K: the time until every lab is SSH-ready, the memory per lab (RSS and PSS of its nodes),
the grading time per lab, and how many labs were healthy (every check of the solved lab passing); then the
largest K with every lab healthy. Run as root with no other lab busy. The users are made for the run (Unix
accounts halab-cap<N>) and removed afterwards, with their labs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
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
    up = user.halab("up", "clustering", "--json")
    ready = time.monotonic() - started
    if up.returncode != 0:
        return {"ready": ready, "healthy": False, "problem": up.stderr.strip()[-200:]}
    solved = user.halab("solve", "clustering", timeout=900)
    started = time.monotonic()
    graded = user.halab("check", "clustering", "--json", timeout=1200)
    grading = time.monotonic() - started
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


def run(count: int, socket: Path) -> bool:
    with made_users(count, socket) as users:
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
          f"{healthy}/{count} labs healthy; {total:.0f} s in all", flush=True)
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
