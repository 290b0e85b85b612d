"""The virtualization lab: time to ready, guest boot, live-migration downtime and failover after the loss of a
hypervisor (medians), plus the sizes and memory that come with container hypervisors.

Run as root from the repository, with no virtualization lab up, under the global lock so nothing else runs
meanwhile (about 6 minutes):
    PYTHONPATH=$PWD flock /tmp/halab-labs.lock .venv/bin/python benchmarks/virtualization.py [--runs 5]
Goals (issue 12): `halab up virtualization` ready (SSH to both hypervisors, libvirtd answering) <= 15 s with
images cached; the guest boots to a network in <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from benchmarks.lab_up import memory_mib
from graders.facts import LabFacts
from graders.virtualization import faults
from halab.image.build import build_image
from halab.image.guest import guest_disk
from halab.image.layer import build_layer
from halab.lab import Lab
from halab.runtime.state import load_state
from solutions import virtualization as solution
from solutions.clustering import configure, form_cluster
from solutions.common import must, wait_until

LAB = "virtualization"


def median(values: list[float]) -> str:
    return (f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, "
            f"runs {len(values)})")


def lab_up(runs: int) -> Lab:
    """Up and down ``runs`` times; returns the lab up once more."""
    times = []
    lab = Lab(LAB)
    for run in range(runs + 1):
        started = time.monotonic()
        lab.up()
        if run == runs:
            break
        times.append(time.monotonic() - started)
        lab.down()
    print(f"halab up {LAB} (SSH on both hypervisors, libvirtd answering), images cached: {median(times)}")
    return lab


def guest_boot(lab: Lab, runs: int) -> None:
    guest = lab.spec.settings["guest_name"]
    solution.define_network(lab, lambda _m: None)
    must(lab, "hv1", solution.virt_install(lab.spec), timeout=120)
    wait_until("the guest", lambda: solution.guest_answers(lab, "hv1"), timeout=60)
    walls, kernels = [], []
    for _ in range(runs):
        must(lab, "hv1", f"virsh destroy {guest}")
        started = time.monotonic()
        must(lab, "hv1", f"virsh start {guest}")
        wait_until("the guest", lambda: solution.guest_answers(lab, "hv1"), timeout=60, interval=0.1)
        walls.append(time.monotonic() - started)
        status = lab.run("hv1", f"curl -s http://{lab.spec.settings['guest_address']}/cgi-bin/status").stdout
        kernels.append(float(dict(line.split("=", 1) for line in status.splitlines() if "=" in line)["uptime"]))
    print(f"guest boot, virsh start -> status page answers (polled every 0.1 s): {median(walls)}")
    print(f"  the guest's own uptime (kernel start -> answering) at that moment: {median(kernels)}")


def cluster(lab: Lab) -> None:
    s = lab.spec.settings
    must(lab, "hv1", f"virsh dumpxml --inactive {s['guest_name']} > {s['guest_config']}")
    must(lab, "hv2", f"virsh define {s['guest_config']}")
    solution.migration_keys(lab, lambda _m: None)
    form_cluster(lab, lambda _m: None)
    configure(lab, solution.crm_config(lab.spec), lambda _m: None)
    wait_until("the resource", lambda: faults._resource(faults.cluster_status(lab, "hv1")) is not None, timeout=120)


def fault_runs(lab: Lab, runs: int) -> None:
    facts = LabFacts.from_raw(lab.spec, {})
    downtimes, moves, failovers = [], [], []
    for _ in range(runs):
        outcome = faults.live_migration(lab, facts, lambda _m: None)
        assert outcome.verdict.passed, outcome.verdict.feedback
        downtimes.append(outcome.measurements["migration_downtime_seconds"])
        moves.append(outcome.measurements["migration_seconds"])
    print(f"live migration, guest unreachable (ping every 50 ms from the target): {median(downtimes)}")
    print(f"  crm_resource --move -> Started on the target: {median(moves)}")
    for _ in range(runs):
        outcome = faults.hypervisor_loss(lab, facts, lambda _m: None)
        assert outcome.verdict.passed, outcome.verdict.feedback
        failovers.append(outcome.measurements["failover_seconds"])
    print(f"failover, hypervisor powered off -> guest answers from the other: {median(failovers)}")


def sizes_and_memory(lab: Lab) -> None:
    image = build_image()
    layer = build_layer(image, "hypervisor")
    meta = json.loads((layer.path.parent / "layer.json").read_text())
    disk = guest_disk(image)
    print(f"node image {image.size_mib} MiB; hypervisor layer {layer.size_mib} MiB (built in "
          f"{meta['build_seconds']} s); guest disk {disk.stat().st_size // 2**20} MiB")
    state = load_state(LAB)
    for node, pid in state.provider_data["pids"].items():
        rss, pss = memory_mib(pid)
        print(f"  {node} with everything running: RSS {rss:.0f} MiB, PSS {pss:.0f} MiB")
    qemu = lab.run("hv1", "ps -C qemu-system-x86_64 -o rss= | head -1").stdout.strip() or \
        lab.run("hv2", "ps -C qemu-system-x86_64 -o rss= | head -1").stdout.strip()
    if qemu:
        print(f"  the guest's QEMU: RSS {int(qemu) / 1024:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    image = build_image()  # the goals are for cached images: build (or find) them before timing
    build_layer(image, "hypervisor")
    guest_disk(image)
    lab = lab_up(args.runs)
    try:
        guest_boot(lab, args.runs)
        cluster(lab)
        sizes_and_memory(lab)
        fault_runs(lab, args.runs)
    finally:
        lab.down()


if __name__ == "__main__":
    main()
