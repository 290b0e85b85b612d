"""VM lab figures: time to SSH-ready for the drbd lab's 2 VMs, DRBD's initial sync rate, failover seconds.

Run as root with libvirtd running (halab libvirtd start) and no drbd lab up:
    .venv/bin/python benchmarks/vm_up.py [--provider libvirt|vagrant]
Goal: 2 VMs SSH-ready in <= 60 s under TCG on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time

from graders.live import grade_live
from halab.image.build import build_image
from halab.image.vmdisk import vm_image
from halab.lab import Lab
from solutions import drbd
from solutions.common import wait_until


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", default="libvirt", choices=["libvirt", "vagrant"])
    provider = parser.parse_args().provider
    vm_image(build_image())  # cached before timing, like the nspawn benchmark
    lab = Lab("drbd")
    started = time.monotonic()
    lab.up(provider=provider)
    print(f"drbd lab ({provider}): 2 VMs SSH-ready in {time.monotonic() - started:.1f} s "
          f"(accel: {lab.state().provider_data['accel']})")
    try:
        resource = lab.spec.settings["drbd_resource"]
        drbd.bring_up(lab, lambda _m: None)
        size_mib = lab.spec.nodes[0].disks[0].size_mib
        started = time.monotonic()
        drbd.start_initial_sync(lab)
        wait_until("the initial sync", lambda: drbd.synced(lab, resource), timeout=600, interval=0.5)
        seconds = time.monotonic() - started
        print(f"initial sync of {size_mib} MiB: {seconds:.1f} s ({size_mib / seconds:.1f} MiB/s)")
        lab.run("node1", f"drbdadm secondary {resource}")
        drbd.solve_after_sync(lab, lambda _m: None)
        report, _ = grade_live(lab, faults=True)
        print(f"failover of the DRBD primary: {report.measurements.get('failover_seconds')} s, "
              f"data intact: {report.measurements.get('data_intact')}")
    finally:
        lab.down()


if __name__ == "__main__":
    main()
