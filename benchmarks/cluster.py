"""K users' clustering labs on a three-member Incus cluster on this host (provider incus): where the engine
placed them, time until every node is SSH-ready, time until every lab is solved and healthy, memory per lab,
and the largest K for which every lab was healthy.

    export HALAB_STATE_DIR=...
    /work/bin/labslot --all -- .venv/bin/python benchmarks/cluster.py --labs 2 4 6 [--faults] [--keep-failed]

Each K runs on a fresh cluster (halab/providers/incus/localcluster.py), the K labs are brought up at once, each
as a user of its own (slot k), solved at once and graded (`halab check --json`; with --faults the failover
check too). Healthy: every check passed (a timed fault check that only missed its objective counts as
healthy and is reported). Memory per lab: the engine's figure (the containers' cgroup memory usage, page cache
included) and the PSS of the lab's processes, both summed over its nodes. The lab image import is timed apart
(once per cluster). The run stops at the first K that is not all healthy. With --keep-failed a lab that does
not come up is kept as it failed (`up` would remove it) and examined layer by layer (benchmarks/incus_diagnose.py)
before everything is taken down.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.incus_diagnose import diagnose  # noqa: E402
from halab import paths  # noqa: E402
from halab.errors import HalabError  # noqa: E402
from halab.image.build import build_image  # noqa: E402
from halab.lab import Lab  # noqa: E402
from halab.providers.incus.image import ensure_image  # noqa: E402
from halab.providers.incus.localcluster import LocalCluster  # noqa: E402
from halab.providers.incus.provider import IncusProvider, instance_name  # noqa: E402
from halab.spec.instances import Owner  # noqa: E402
from solutions import solve  # noqa: E402


def pss_mib(project: str, instance: str) -> float:
    """PSS of every process in the container's cgroup (LXC names it lxc.payload.<project>_<instance>)."""
    total = 0
    group = Path(f"/sys/fs/cgroup/memory/lxc.payload.{project}_{instance}")
    pids = set()
    for procs_file in group.rglob("cgroup.procs"):
        pids |= {int(p) for p in procs_file.read_text().split()}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def lab_memory(lab: Lab) -> tuple[float, float]:
    """(engine's memory usage, PSS) of the lab's nodes, MiB."""
    provider, state = IncusProvider(), lab.state()
    project = state.provider_data["project"]
    usage = pss = 0.0
    for node in state.nodes:
        name = instance_name(lab.name, node.name)
        usage += provider.client.get(f"/1.0/instances/{name}/state", project=project)["memory"]["usage"] / 2**20
        pss += pss_mib(project, name)
    return usage, pss


def grade(lab: Lab, faults: bool) -> tuple[bool, str]:
    """(healthy, what was wrong) from `halab check --json`."""
    result = subprocess.run([sys.executable, "-m", "halab", "check", lab.name, "--json",
                             *([] if faults else ["--no-faults"])], capture_output=True, text=True, timeout=900)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        return False, (result.stderr.strip() or "no report")[-200:]
    failed = [c for c in report["checks"] if not c["passed"]]
    slow = [c for c in failed if c["id"] == "failover" and report["measurements"].get("failover_seconds")]
    wrong = [c["id"] for c in failed if c not in slow]
    return not wrong, ", ".join(wrong) + ("; slow failover" if slow else "")


def run(k: int, faults: bool, keep_failed: bool = False) -> bool:
    cluster = LocalCluster(paths.state_dir() / ".incus-bench", size=3)
    labs = [Lab("clustering", Owner(61000 + i, f"bench{i}", i)) for i in range(1, k + 1)]
    print(f"\n== K = {k} labs ({2 * k} nodes) on 3 members")
    try:
        started = time.monotonic()
        cluster.start()
        os.environ["HALAB_INCUS_CONFIG"] = str(cluster.config_file)
        print(f"  cluster of 3 members made: {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        ensure_image(IncusProvider().client, build_image(lambda _m: None), lambda _m: None)
        print(f"  node image imported: {time.monotonic() - started:.1f} s")

        def bring_up(lab: Lab) -> float | str:
            began = time.monotonic()
            try:
                lab.up(provider="incus", keep_failed=keep_failed)
            except HalabError as exc:
                return str(exc)[:200]
            return time.monotonic() - began

        started = time.monotonic()
        with ThreadPoolExecutor(k) as pool:
            ups = list(pool.map(bring_up, labs))
        all_up = time.monotonic() - started
        ok = [lab for lab, took in zip(labs, ups, strict=True) if isinstance(took, float)]
        placed: dict[str, int] = {}
        for lab in ok:
            member = str(lab.state().provider_data["member"])
            placed[member] = placed.get(member, 0) + 1
        print(f"  all SSH-ready: {all_up:.1f} s ({len(ok)}/{k} up); placement: {dict(sorted(placed.items()))}")
        for lab, took in zip(labs, ups, strict=True):
            if not isinstance(took, float):
                print(f"    {lab.name} did not come up: {took}")
                if keep_failed:
                    diagnose(cluster, lab)
        started = time.monotonic()
        with ThreadPoolExecutor(k) as pool:
            list(pool.map(lambda lab: solve(lab), ok))
            grades = list(pool.map(lambda lab: grade(lab, faults), ok))
        print(f"  solved and graded{' (fault checks too)' if faults else ''}: {time.monotonic() - started:.1f} s")
        healthy = sum(1 for good, _ in grades if good)
        for lab, (good, wrong) in zip(ok, grades, strict=True):
            if not good or wrong:
                print(f"    {lab.name}: {'healthy' if good else 'NOT healthy'} {wrong}")
        memory = [lab_memory(lab) for lab in ok]
        if memory:
            print(f"  memory per solved lab (2 nodes), median: engine {statistics.median(m[0] for m in memory):.0f} "
                  f"MiB, PSS {statistics.median(m[1] for m in memory):.0f} MiB")
        print(f"  healthy: {healthy}/{k}")
        return healthy == k
    finally:
        for lab in labs:
            try:
                lab.down()
            except HalabError as exc:
                print(f"    {lab.name}: down failed: {exc}")
        cluster.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", type=int, nargs="+", default=[2, 4], help="values of K, in order")
    parser.add_argument("--faults", action="store_true", help="grade with the failover fault check too")
    parser.add_argument("--keep-failed", action="store_true",
                        help="examine a lab that did not come up before removing it (benchmarks/incus_diagnose.py)")
    args = parser.parse_args()
    largest = 0
    for k in args.labs:
        if not run(k, args.faults, args.keep_failed):
            break
        largest = k
    print(f"\nlargest K with every lab healthy: {largest} (of {args.labs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
